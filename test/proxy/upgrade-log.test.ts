// The -v=6 line of an upgrade (exec, attach, port-forward) when it is over: the API server's 101
// or refusal, the protocol, the phases up to the response head, the session's duration, bytes
// each way and who closed first; -v=7/8 headers, masked; and the same upgrades in the metrics.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { parseMetrics, sampleValue } from '../helpers/prometheus.js';
import { fetchText } from '../helpers/http.js';
import { withTimeout } from '../helpers/waiting.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { upgradeSetup } from '../helpers/upgrade-upstream.js';

const PORT_FORWARD = '/api/v1/namespaces/default/pods/p/portforward?ports=80';
const SPDY = ['Connection: Upgrade', 'Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: portforward.k8s.io'];
const WEBSOCKET = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol: v4.channel.k8s.io, portforward.k8s.io'];

interface UpgradeLine {
  method: string;
  url: string;
  status?: number;
  protocol: string;
  ms: number;
  auditID?: string;
  connection?: string;
  phases: Record<string, number>;
  sessionMs?: number;
  bytesToUpstream?: number;
  bytesToClient?: number;
  closedBy?: string;
  requestHeaders?: Record<string, string>;
  responseHeaders?: Record<string, string>;
}

/** The client's side of an upgrade: the status of the answer and the bytes read after its head. */
interface Client {
  readonly socket: Socket;
  readonly status: number;
  received(): number;
  /** Resolves once `bytes` have been read after the head (bounded). */
  receivedAtLeast(bytes: number): Promise<void>;
  readonly closed: Promise<void>;
}

function openUpgrade(port: number, path: string, headers: readonly string[]): Promise<Client> {
  const socket = connect({ port, host: '127.0.0.1' });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return withTimeout(
    new Promise<Client>((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      let count = 0;
      let waiter: { bytes: number; done: () => void } | undefined;
      const take = (chunk: Buffer) => {
        count += chunk.length;
        if (waiter !== undefined && count >= waiter.bytes) waiter.done();
      };
      const onHead = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onHead);
        socket.on('data', take);
        socket.on('error', () => undefined);
        take(buffered.subarray(end + 4));
        resolve({
          socket,
          status: Number(buffered.subarray(0, end).toString('latin1').split(' ')[1]),
          received: () => count,
          receivedAtLeast: (bytes) =>
            withTimeout(count >= bytes ? Promise.resolve() : new Promise<void>((done) => (waiter = { bytes, done })), 10_000, `the client reading ${bytes} bytes`),
          closed,
        });
      };
      socket.on('data', onHead);
      socket.once('error', reject);
      socket.write([`GET ${path} HTTP/1.1`, 'Host: localhost', ...headers, '', ''].join('\r\n'));
    }),
    10_000,
    `the answer to the upgrade of ${path}`,
  );
}

/** The `n`th "upgrade completed" line (1-based), waiting for it (bounded). */
async function upgradeLine(proxy: ProxyProcess, n: number): Promise<UpgradeLine> {
  await proxy.waitForStderr(new RegExp(`("msg":"upgrade completed"[\\s\\S]*){${n}}`));
  const lines = proxy.stderr().split('\n').filter((line) => line.includes('"msg":"upgrade completed"'));
  return JSON.parse(lines[n - 1]!) as UpgradeLine;
}




void t.test('-v=6: one line per upgrade when it is over, and the same upgrades in the metrics', async (t) => {
  const { dir, upstream, kubeconfig } = await upgradeSetup(t);
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '-v=6', '--metrics-address', '127.0.0.1:0'], { env: isolatedEnv(dir) });
  t.teardown(() => proxy.stop());
  const toUpstream = 300_000;

  void t.test('a port-forward session closed by the client: 101, protocol, phases, exact bytes each way', async (t) => {
    const client = await openUpgrade(proxy.port, PORT_FORWARD, SPDY);
    t.equal(client.status, 101);
    client.socket.write(randomBytes(toUpstream));
    await client.receivedAtLeast(toUpstream);
    client.socket.end();
    await withTimeout(client.closed, 5_000, 'the client socket closing');
    const line = await upgradeLine(proxy, 1);
    t.match(line, { method: 'GET', url: PORT_FORWARD, status: 101, protocol: 'SPDY/3.1', connection: 'new', closedBy: 'client' });
    t.equal(line.bytesToUpstream, toUpstream, 'every byte the client sent');
    t.equal(line.bytesToClient, toUpstream, 'every byte echoed back');
    t.ok(line.sessionMs! > 0, `sessionMs ${line.sessionMs}`);
    t.ok(line.ms >= line.sessionMs!, 'the whole upgrade lasts at least its session');
    t.equal(line.auditID, upstream.seen[0]!.headers['audit-id'], 'the Audit-ID the API server got');
    t.match(line.auditID, /^[0-9a-f-]{36}$/);
    for (const phase of ['tcp', 'tls', 'server', 'total']) t.ok(line.phases[phase]! > 0, `${phase} ${line.phases[phase]}`);
    t.equal(line.phases.queue, undefined, 'an upgrade has a connection of its own');
    t.equal(line.phases.credentials, undefined, 'a token from the kubeconfig costs nothing');
    t.equal(line.requestHeaders, undefined, 'headers only from -v=7 on');
  });

  void t.test('a WebSocket session closed by the upstream', async (t) => {
    const client = await openUpgrade(proxy.port, PORT_FORWARD, WEBSOCKET);
    t.equal(client.status, 101);
    client.socket.write('ping');
    await client.receivedAtLeast(4);
    upstream.seen[1]!.socket.destroy();
    await withTimeout(client.closed, 5_000, 'the client socket closing');
    const line = await upgradeLine(proxy, 2);
    t.match(line, { status: 101, protocol: 'websocket', closedBy: 'upstream', bytesToUpstream: 4, bytesToClient: 4 });
  });

  void t.test('a refusal: its status, and no session', async (t) => {
    const client = await openUpgrade(proxy.port, '/refuse', SPDY);
    t.equal(client.status, 403);
    await withTimeout(client.closed, 5_000, 'the client socket closing');
    const line = await upgradeLine(proxy, 3);
    t.match(line, { url: '/refuse', status: 403, protocol: 'SPDY/3.1', connection: 'new' });
    t.ok(line.phases.server! > 0 && line.phases.transfer! >= 0);
    for (const field of ['sessionMs', 'bytesToUpstream', 'bytesToClient', 'closedBy'] as const) t.equal(line[field], undefined, `no ${field}`);
  });

  void t.test('a filtered upgrade: the proxy\'s own 403, logged, not forwarded', async (t) => {
    const client = await openUpgrade(proxy.port, '/api/v1/namespaces/default/pods/p/exec?command=sh', SPDY);
    t.equal(client.status, 403);
    const line = await upgradeLine(proxy, 4);
    t.match(line, { url: '/api/v1/namespaces/default/pods/p/exec?command=sh', status: 403, protocol: 'SPDY/3.1', answeredBy: 'proxy', code: 'KAP_FILTER_REJECTED' });
    t.match(line.auditID, /^[0-9a-f-]{36}$/, 'the refusal has its own Audit-ID');
    t.equal(upstream.seen.length, 3);
  });

  void t.test('metrics: upgrades by verb, resource and code; bytes each way', async (t) => {
    await proxy.waitForStderr(/"address":"[^"]+","msg":"serving \/metrics/);
    const address = /"address":"([^"]+)","msg":"serving \/metrics/.exec(proxy.stderr())![1]!;
    const scrape = async () => parseMetrics((await fetchText(`http://${address}/metrics`)).body);
    // The proxy's side of the last (filtered) upgrade closes when the client's FIN arrives.
    const deadline = Date.now() + 5_000;
    let samples = await scrape();
    while (sampleValue(samples, 'kube_auth_proxy_open_upgrades', {}) !== 0 && Date.now() < deadline) samples = await scrape();
    t.equal(sampleValue(samples, 'kube_auth_proxy_requests_total', { verb: 'get', resource: 'pods/portforward', code: '101' }), 2, 'two port-forward sessions');
    t.equal(sampleValue(samples, 'kube_auth_proxy_requests_total', { verb: 'get', resource: '', code: '403' }), 1, 'the refusal; the filtered one is not counted');
    t.equal(sampleValue(samples, 'kube_auth_proxy_upgraded_bytes_total', { direction: 'to_upstream' }), toUpstream + 4);
    t.equal(sampleValue(samples, 'kube_auth_proxy_upgraded_bytes_total', { direction: 'to_client' }), toUpstream + 4);
    t.equal(sampleValue(samples, 'kube_auth_proxy_open_upgrades', {}), 0);

    // A long session shows its bytes while it runs, not only when it ends.
    const running = await openUpgrade(proxy.port, PORT_FORWARD, SPDY);
    t.equal(running.status, 101);
    running.socket.write(randomBytes(1000));
    await running.receivedAtLeast(1000);
    const during = await scrape();
    t.equal(sampleValue(during, 'kube_auth_proxy_upgraded_bytes_total', { direction: 'to_upstream' }), toUpstream + 4 + 1000, 'bytes to the upstream of a running session');
    t.equal(sampleValue(during, 'kube_auth_proxy_open_upgrades', {}), 1, 'while it is still open');
    running.socket.end();
    await withTimeout(running.closed, 5_000, 'the running session closing');
    await upgradeLine(proxy, 5);
    const after = await scrape();
    t.equal(sampleValue(after, 'kube_auth_proxy_upgraded_bytes_total', { direction: 'to_upstream' }), toUpstream + 4 + 1000, 'counted once, not again at its end');
    t.equal(sampleValue(after, 'kube_auth_proxy_upgraded_bytes_total', { direction: 'to_client' }), toUpstream + 4 + 1000);
  });
});

void t.test('-v=7 adds the request headers sent upstream, -v=8 the response head; sorted and masked', async (t) => {
  const { dir, upstream, kubeconfig } = await upgradeSetup(t);
  for (const v of [7, 8]) {
    const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', `-v=${v}`], { env: isolatedEnv(dir) });
    t.teardown(() => proxy.stop());
    const client = await openUpgrade(proxy.port, `${PORT_FORWARD}&access_token=planted-query-token`, SPDY);
    t.equal(client.status, 101);
    client.socket.end();
    await withTimeout(client.closed, 5_000, 'the client socket closing');
    const line = await upgradeLine(proxy, 1);
    t.equal(line.url, `${PORT_FORWARD}&access_token=<masked>`);
    t.same(Object.keys(line.requestHeaders!), Object.keys(line.requestHeaders!).sort(), 'sorted');
    t.match(line.requestHeaders, { authorization: 'Bearer <masked>', upgrade: 'SPDY/3.1', connection: 'Upgrade', 'audit-id': line.auditID });
    if (v === 7) t.equal(line.responseHeaders, undefined);
    else t.match(line.responseHeaders, { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'portforward.k8s.io' }, "the API server's 101 head");
    t.notMatch(proxy.stderr(), /upgrade-token|planted-query-token/, 'no secret anywhere in the log');
  }
  t.equal(upstream.seen.length, 2);
});
