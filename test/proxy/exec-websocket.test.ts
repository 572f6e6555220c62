// kubectl exec through the proxy, end to end: real kubectl 1.32 (WebSocket, v5.channel.k8s.io)
// → the built proxy → the example API server, which runs a few commands over the protocol.
// Exec stays refused by default, as in kubectl proxy; --allow-exec opens it, and no encoding
// of the path opens it without the flag.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { firstStatus, rawRequest, type StatusBody } from '../helpers/http.js';
import { kubectl } from '../helpers/kubectl.js';
import { isolatedEnv, runProxy, startProxyProcess } from '../helpers/proxy-process.js';


/** kubectl against the proxy only: an empty kubeconfig, so nothing of the machine's is read. */
function kubectlEnv(cluster: TestCluster): NodeJS.ProcessEnv {
  const emptyKubeconfig = join(cluster.dir, 'empty-kubeconfig');
  writeFileSync(emptyKubeconfig, '');
  // kubectl 1.32's default, pinned so that a runner's environment cannot switch exec to SPDY.
  return isolatedEnv(cluster.dir, { KUBECONFIG: emptyKubeconfig, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'true' });
}


/** A WebSocket handshake as kubectl sends it, for raw requests. */
const WEBSOCKET_UPGRADE = [
  'Connection: Upgrade',
  'Upgrade: websocket',
  'Sec-WebSocket-Version: 13',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Protocol: v5.channel.k8s.io',
];

/** Sends a WebSocket upgrade for `path` and resolves with the status of the answer, then hangs up. */
const upgradeStatus = (port: number, path: string) => firstStatus(port, [`GET ${path} HTTP/1.1`, 'Host: localhost', ...WEBSOCKET_UPGRADE]);

/** Requests the API server saw for exec (any spelling of it), for "it never got there" checks. */
function execRequests(cluster: TestCluster): string[] {
  return cluster.api.requests.map((seen) => seen.url).filter((url) => /\/exec\b/.test(decodeURIComponent(url.split('?')[0]!)));
}

void t.test('kubectl exec through the proxy with --allow-exec', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--allow-exec'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const env = kubectlEnv(cluster);

  void t.test('echo: output and exit code 0, over WebSocket v5 with the kubeconfig identity', async (t) => {
    const result = await kubectl(proxy, env, ['exec', 'web-0', '--', 'echo', 'hello']);
    t.equal(result.stdout.toString(), 'hello\n');
    t.equal(result.code, 0, result.stderr);
    t.match(cluster.api.execSessions.at(-1), { pod: 'web-0', command: ['echo', 'hello'], protocol: 'v5.channel.k8s.io', exitCode: 0 });
    const seen = cluster.api.requests.find((request) => request.url.includes('/exec?command=echo'));
    t.match(seen, { method: 'GET', user: 'kube-admin', authKind: 'certificate', headers: { upgrade: 'websocket', 'sec-websocket-protocol': 'v5.channel.k8s.io' } });
    t.notOk(cluster.api.requests.some((request) => /spdy/i.test(String(request.headers.upgrade))), 'no SPDY fallback was tried');
  });

  void t.test('cat: stdin echoed byte-exact, and closing stdin ends the command', async (t) => {
    const input = randomBytes(1024 * 1024 + 17);
    const result = await kubectl(proxy, env, ['exec', '-i', 'web-0', '--', 'cat'], input);
    t.equal(result.code, 0, result.stderr);
    t.equal(result.stdout.length, input.length, 'as many bytes out as in');
    t.ok(result.stdout.equals(input), '1 MiB of random bytes echoed byte-exact');
    t.match(cluster.api.execSessions.at(-1), { command: ['cat'], stdinBytes: input.length, stdinClosed: true, exitCode: 0 });
  });

  void t.test('a non-zero exit code reaches kubectl as its own exit code', async (t) => {
    const three = await kubectl(proxy, env, ['exec', 'web-0', '--', 'sh', '-c', 'exit 3']);
    t.equal(three.code, 3);
    t.match(three.stderr, /command terminated with exit code 3/);
    const one = await kubectl(proxy, env, ['exec', 'web-0', '--', 'false']);
    t.equal(one.code, 1);
    t.match(one.stderr, /command terminated with exit code 1/);
  });

  void t.test('an unknown pod is a 404 from the API server, not an upgrade', async (t) => {
    const sessions = cluster.api.execSessions.length;
    const result = await kubectl(proxy, env, ['exec', 'nope', '--', 'echo']);
    t.equal(result.code, 1);
    t.match(result.stderr, /pods "nope" not found/);
    const raw = await rawRequest({ port: proxy.port }, ['GET /api/v1/namespaces/default/pods/nope/exec?command=echo&stdout=true HTTP/1.1', 'Host: localhost', ...WEBSOCKET_UPGRADE]);
    t.equal(raw.status, 404);
    t.match(JSON.parse(raw.body), { kind: 'Status', reason: 'NotFound', code: 404 });
    t.equal(cluster.api.execSessions.length, sessions, 'no session started');
  });

  void t.test('--allow-exec opens attach too; an encoded path is forwarded as its canonical form', async (t) => {
    const attach = await rawRequest({ port: proxy.port }, ['GET /api/v1/namespaces/default/pods/web-0/attach HTTP/1.1', 'Host: localhost']);
    t.equal(attach.status, 404, 'attach reaches the API server (which has no attach endpoint)');
    t.equal(await upgradeStatus(proxy.port, '/api/v1/namespaces/default/pods/web-0/%65xec?command=true&stdout=true'), 101);
    t.ok(cluster.api.requests.some((seen) => seen.url === '/api/v1/namespaces/default/pods/web-0/exec?command=true&stdout=true'), 'the API server saw /exec');
  });
});

void t.test('without --allow-exec exec is refused, however the path is spelled', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());

  const result = await kubectl(proxy, kubectlEnv(cluster), ['exec', 'web-0', '--', 'echo', 'hello']);
  t.equal(result.code, 1);
  t.equal(result.stdout.length, 0);
  t.match(result.stderr, /forbidden by kube-auth-proxy: path \/api\/v1\/namespaces\/default\/pods\/web-0\/exec matches --reject-paths rule/);

  const spellings = [
    '/api/v1/namespaces/default/pods/web-0/exec',
    '/api/v1/namespaces/default/pods/web-0/%65xec',
    '/api/v1/namespaces/default/pods/web-0%2Fexec',
    '/api/v1/namespaces/default/pods/web-0/EXEC/../exec',
    '/%2e/api/v1/namespaces/default/pods/web-0/exec',
  ];
  for (const path of spellings) {
    let reply = await rawRequest({ port: proxy.port }, [`GET ${path}?command=echo&stdout=true HTTP/1.1`, 'Host: localhost', ...WEBSOCKET_UPGRADE]);
    // Unclean paths get kubectl's 301 to the clean one, which is then filtered like any other.
    if (reply.status === 301) reply = await rawRequest({ port: proxy.port }, [`GET ${String(reply.headers.location)} HTTP/1.1`, 'Host: localhost', ...WEBSOCKET_UPGRADE]);
    t.equal(reply.status, 403, path);
    t.match(JSON.parse(reply.body) as StatusBody, { kind: 'Status', reason: 'Forbidden', code: 403 }, `${path}: a Status body`);
  }
  t.same(execRequests(cluster), [], 'the API server never saw an exec request');
  t.same(cluster.api.execSessions, [], 'and ran nothing');

  const portForward = await rawRequest({ port: proxy.port }, ['GET /api/v1/namespaces/default/pods/web-0/portforward HTTP/1.1', 'Host: localhost']);
  t.equal(portForward.status, 404, 'port-forward is allowed by default, as in kubectl (the API server has no such endpoint)');
});

void t.test('--allow-exec with --reject-paths is an error naming both', async (t) => {
  const cluster = await startTestCluster(t);
  const result = await runProxy(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--allow-exec', '--reject-paths', '^/api/.*/secrets'], { env: isolatedEnv(cluster.dir) });
  t.equal(result.code, 1);
  t.match(result.stderr, /^error: --allow-exec and --reject-paths cannot be used together/);
  t.equal(result.stdout, '');
});
