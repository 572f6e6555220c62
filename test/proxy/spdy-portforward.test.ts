// kubectl's SPDY/3.1 paths through the proxy, end to end: real kubectl 1.32 with its WebSocket
// defaults turned off → the built proxy (which pipes the upgraded bytes) → the example API
// server, which speaks SPDY: exec with the v4.channel.k8s.io streams, and port-forward to a pod
// whose every port echoes.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { kubectl } from '../helpers/kubectl.js';
import { echoThrough, startPortForward } from '../helpers/port-forward.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';


/** kubectl against the proxy only (an empty kubeconfig); on SPDY for exec and port-forward unless `websockets`. */
function kubectlEnv(cluster: TestCluster, websockets = false): NodeJS.ProcessEnv {
  const emptyKubeconfig = join(cluster.dir, 'empty-kubeconfig');
  writeFileSync(emptyKubeconfig, '');
  return isolatedEnv(cluster.dir, { KUBECONFIG: emptyKubeconfig, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: String(websockets), KUBECTL_PORT_FORWARD_WEBSOCKETS: String(websockets) });
}


const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

void t.test('kubectl exec over SPDY/3.1 through the proxy with --allow-exec', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--allow-exec'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const env = kubectlEnv(cluster);

  void t.test('echo: output and exit code 0, negotiated as SPDY/3.1 with v4.channel.k8s.io', async (t) => {
    const result = await kubectl(proxy, env, ['exec', 'web-0', '--', 'echo', 'hi']);
    t.equal(result.stdout.toString(), 'hi\n');
    t.equal(result.code, 0, result.stderr);
    t.match(cluster.api.execSessions.at(-1), { pod: 'web-0', command: ['echo', 'hi'], protocol: 'v4.channel.k8s.io', exitCode: 0 });
    const seen = cluster.api.requests.find((request) => request.url.includes('/exec?command=echo'));
    t.match(seen, { user: 'kube-admin', authKind: 'certificate', headers: { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': /v4\.channel\.k8s\.io/ } });
  });

  void t.test('cat: 2 MiB of stdin echoed byte-exact, and closing stdin ends the command', async (t) => {
    const input = randomBytes(2 * 1024 * 1024 + 13);
    const result = await kubectl(proxy, env, ['exec', '-i', 'web-0', '--', 'cat'], input);
    t.equal(result.code, 0, result.stderr);
    t.equal(result.stdout.length, input.length, 'as many bytes out as in');
    t.equal(sha256(result.stdout), sha256(input), 'byte-exact');
    t.match(cluster.api.execSessions.at(-1), { command: ['cat'], stdinBytes: input.length, stdinClosed: true, exitCode: 0 });
  });

  void t.test('a non-zero exit code and stderr reach kubectl', async (t) => {
    const three = await kubectl(proxy, env, ['exec', 'web-0', '--', 'sh', '-c', 'exit 3']);
    t.equal(three.code, 3);
    t.match(three.stderr, /command terminated with exit code 3/);
    const missing = await kubectl(proxy, env, ['exec', 'web-0', '--', 'cat', '/nope']);
    t.equal(missing.code, 1);
    t.match(missing.stderr, /cat: \/nope: No such file or directory/);
  });
});

void t.test('kubectl port-forward over SPDY/3.1 through the proxy (allowed by default)', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const forward = await startPortForward(['--server', proxy.url, 'port-forward', 'pod/web-0', ':80'], kubectlEnv(cluster));
  t.teardown(() => forward.stop());

  const payload = randomBytes(4 * 1024 * 1024 + 7);
  const echoed = await echoThrough(forward.localPort, payload, 30_000);
  t.equal(echoed.length, payload.length, 'as many bytes back as sent');
  t.equal(sha256(echoed), sha256(payload), '4 MiB echoed byte-exact both ways');

  // A second connection over the same SPDY session gets its own pair of streams.
  const small = Buffer.from('second connection\n');
  t.same(await echoThrough(forward.localPort, small, 30_000), small);
  t.match(cluster.api.portForwards, [
    { namespace: 'default', pod: 'web-0', port: 80, bytes: payload.length, done: true },
    { pod: 'web-0', port: 80, bytes: small.length, done: true },
  ]);
  t.equal(cluster.api.portForwards[0]?.requestId === cluster.api.portForwards[1]?.requestId, false, 'distinct request ids');
  const seen = cluster.api.requests.find((request) => request.url.endsWith('/pods/web-0/portforward'));
  t.match(seen, { method: 'POST', user: 'kube-admin', headers: { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'portforward.k8s.io' } });

  await forward.stop();
  t.notMatch(forward.stderr(), /error|Unhandled/i, 'kubectl reported no error');
});

void t.test("kubectl port-forward tunnelled in WebSocket (kubectl 1.32's default) through the proxy", async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const forward = await startPortForward(['--server', proxy.url, 'port-forward', 'pod/web-0', ':8080'], kubectlEnv(cluster, true));
  t.teardown(() => forward.stop());

  const payload = randomBytes(4 * 1024 * 1024 + 3);
  const echoed = await echoThrough(forward.localPort, payload, 30_000);
  t.equal(echoed.length, payload.length, 'as many bytes back as sent');
  t.equal(sha256(echoed), sha256(payload), '4 MiB echoed byte-exact both ways');
  t.match(cluster.api.portForwards, [{ pod: 'web-0', port: 8080, bytes: payload.length, done: true }]);
  const seen = cluster.api.requests.filter((request) => request.url.includes('/pods/web-0/portforward'));
  t.equal(seen.length, 1, 'one upgrade, no SPDY fallback');
  t.match(seen[0], { method: 'GET', user: 'kube-admin', headers: { upgrade: 'websocket', 'sec-websocket-protocol': /SPDY\/3\.1\+portforward\.k8s\.io/ } });

  await forward.stop();
  t.notMatch(forward.stderr(), /error|Unhandled/i, 'kubectl reported no error');
});
