// Upgrade requests get their own connection: 101 pipes both ways (any protocol, SPDY too),
// a refusal ≥ 400 is passed through with its body, and anything else is a clear error.
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { stringify } from 'yaml';
import { writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EXEC_V1, execCredential, writePlugin } from '../helpers/exec-plugin.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';
import { upgradeSetup } from '../helpers/upgrade-upstream.js';

const run = promisify(execFile);

/** Sends raw bytes and resolves with everything the proxy answered until it closed (bounded). */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within 10 s; got ${text}`));
    }, 10_000);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.write(bytes);
  });
}

/** Sends an upgrade request and resolves with the socket and everything read until `until` matched. */
function upgrade(port: number, path: string, until: RegExp): Promise<{ socket: Socket; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no ${until} within 10 s; got ${text}`)), 10_000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (until.test(text)) {
        clearTimeout(timer);
        socket.removeAllListeners('data');
        resolve({ socket, text });
      }
    });
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, X-Hop\r\nUpgrade: SPDY/3.1\r\nX-Hop: secret\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n`);
  });
}

void t.test('upgrades: SPDY piped byte-exact both ways, refusals and other answers passed through', async (t) => {
  const { dir, upstream, kubeconfig } = await upgradeSetup(t);
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--keepalive', '7s'], { env: isolatedEnv(dir) });
  t.teardown(() => proxy.stop());

  const { socket, text } = await upgrade(proxy.port, '/echo', /early-bytes\|/);
  // --keepalive: the proxy's upstream socket of the session carries a TCP keep-alive timer.
  const { stdout: sockets } = await run('ss', ['-tnoH', 'state', 'established', 'dst', `127.0.0.1:${upstream.port}`]);
  t.match(sockets, /timer:\(keepalive,/, '--keepalive applies TCP keep-alive to the upgraded connection');
  t.match(text, /^HTTP\/1\.1 101 /, '101 relayed');
  const seen = upstream.seen.at(-1)!;
  t.equal(seen.headers.authorization, 'Bearer upgrade-token', 'credentials injected on upgrades');
  t.equal(seen.headers.upgrade, 'SPDY/3.1', 'a non-WebSocket protocol is forwarded');
  t.equal(seen.headers['x-hop'], undefined, 'Connection-listed headers dropped on upgrades too');
  t.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);

  const payload = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const echoed = new Promise<string>((resolve) => {
    const hash = createHash('sha256');
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      if (received >= payload.length) resolve(hash.digest('hex'));
    });
  });
  socket.write(payload);
  t.equal(await echoed, createHash('sha256').update(payload).digest('hex'), '8 MiB echoed byte-exact');
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.end();
  await closed;

  const refused = await upgrade(proxy.port, '/refuse', /"code":403\}/);
  t.match(refused.text, /^HTTP\/1\.1 403 Forbidden/, 'status passed through');
  t.match(refused.text, /\r\nConnection: close\r\n/i, 'the client is told the connection closes after the refusal');
  t.match(refused.text, /pods \\"p\\" is forbidden/, 'with its body');
  refused.socket.destroy();

  // An answer other than 101 is relayed as it came, as Go's ReverseProxy relays it (kubectl: a 500).
  const odd = await upgrade(proxy.port, '/ok', /\r\n\r\nok$/);
  t.match(odd.text, /^HTTP\/1\.1 200 OK\r\n/, 'a 200 passed through');
  t.match(odd.text, /\r\nConnection: close\r\n/i, 'and the connection closes after it');
  odd.socket.destroy();
});

void t.test('upgrades cannot smuggle requests, crash the proxy or hang it', async (t) => {
  const { startTestCluster } = await import('../helpers/cluster.js');
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--request-timeout', '1s'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const upgradeHead = (path: string, extra = '') =>
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${extra}\r\n`;

  // An allowed upgrade with a second, filtered request right behind it in the same packet.
  const smuggled = 'GET /api/v1/namespaces/default/pods/web-0/exec?command=id HTTP/1.1\r\nHost: localhost\r\n\r\n';
  const answer = await exchange(proxy.port, upgradeHead('/version') + smuggled);
  t.match(answer, /^HTTP\/1\.1 200 [\s\S]*"gitVersion"/, 'the API server answered 200, not 101: relayed to the client');
  t.same(cluster.api.requests.filter((seen) => seen.url.includes('/exec')).map((seen) => seen.url), [], 'the bytes after the upgrade request never reached the API server');

  const withBody = await exchange(proxy.port, upgradeHead('/version', 'Content-Length: 5\r\n') + 'hello');
  t.match(withBody, /^HTTP\/1\.1 400 [\s\S]*an upgrade request cannot carry a body/);
  const chunked = await exchange(proxy.port, upgradeHead('/version', 'Transfer-Encoding: chunked\r\n') + '0\r\n\r\n');
  t.match(chunked, /^HTTP\/1\.1 400 /);

  const badUrl = await exchange(proxy.port, 'GET http://a:99999/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  t.match(badUrl, /^HTTP\/1\.1 400 /, 'an unparsable absolute-form target is a 400');
  t.equal((await exchange(proxy.port, 'GET /version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')).split(' ')[1], '200', 'the proxy is still serving');
});

void t.test('a pending upgrade times out, a reset refusal does not crash, SIGTERM ends pending upgrades', async (t) => {
  const { dir, upstream, kubeconfig } = await upgradeSetup(t);
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--request-timeout', '500ms'], { env: isolatedEnv(dir) });
  const head = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n`;

  const timedOut = await exchange(proxy.port, head('/hang'));
  t.match(timedOut, /^HTTP\/1\.1 504 [\s\S]*did not answer the upgrade within 500 ms/);
  const reset = await exchange(proxy.port, head('/reset'));
  t.match(reset, /^HTTP\/1\.1 403 /, 'the refusal head reached the client before the reset');
  t.equal((await exchange(proxy.port, 'GET /x HTTP/1.1\r\nHost: evil\r\nConnection: close\r\n\r\n')).split(' ')[1], '403', 'the proxy survived the reset');

  const slow = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(dir) });
  const pending = exchange(slow.port, head('/hang'));
  await new Promise<void>((resolve) => {
    const check = () => (upstream.seen.some((seen) => seen.url === '/hang') ? resolve() : setImmediate(check));
    check();
  });
  t.equal(await slow.stop('SIGTERM'), 0, 'SIGTERM with an upgrade waiting for its 101 still exits 0');
  await pending;
  t.equal(await proxy.stop(), 0);
});

void t.test('upgrades carry exec-plugin credentials, fetched when the first upgrade needs them', async (t) => {
  const { dir, upstream } = await upgradeSetup(t);
  const plugin = writePlugin(dir);
  plugin.answer(execCredential({ token: 'exec-upgrade-token' }));
  const kubeconfig = `${dir}/exec-kubeconfig`;
  writeFileSync(kubeconfig, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'k', cluster: { server: `https://127.0.0.1:${upstream.port}`, 'certificate-authority': `${dir}/pki/ca.crt` } }],
    users: [{ name: 'u', user: { exec: { apiVersion: EXEC_V1, command: plugin.command, interactiveMode: 'Never' } } }],
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  }));
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(dir) });
  t.teardown(() => proxy.stop());
  const { socket, text } = await upgrade(proxy.port, '/echo', /early-bytes\|/);
  socket.destroy();
  t.match(text, /^HTTP\/1\.1 101 /);
  t.equal(upstream.seen.at(-1)?.headers.authorization, 'Bearer exec-upgrade-token');
  t.equal(plugin.runs(), 1);
});
