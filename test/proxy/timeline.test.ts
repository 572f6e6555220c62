// Where a request's time went: the -v=6 line's phases and connection, and the Server-Timing
// header, measured from undici's events and the connection's socket events.
import t from 'tap';
import { startTestCluster } from '../helpers/cluster.js';
import { EXEC_V1, execCredential, writePlugin } from '../helpers/exec-plugin.js';
import { fetchText } from '../helpers/http.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';

interface Line {
  url: string;
  status: number;
  connection?: string;
  responseBytes?: number;
  phases?: Record<string, number>;
}

/** The -v=6 line of the `n`th request to `url` (1-based), waiting for it (bounded). */
async function logLine(proxy: ProxyProcess, url: string, n: number): Promise<Line> {
  const pattern = new RegExp(`"url":"${url.replace(/[?]/g, '\\?')}"`, 'g');
  await proxy.waitForStderr(new RegExp(`(${pattern.source}[\\s\\S]*){${n}}`));
  const lines = proxy.stderr().split('\n').filter((line) => line.includes(`"url":"${url}"`));
  return JSON.parse(lines[n - 1]!) as Line;
}

void t.test('a new connection is charged tcp and tls; the next request reuses it; Server-Timing carries the phases', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '-v=6'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());

  const first = await fetchText(`${proxy.url}/test/bytes?size=300000`);
  t.equal(first.body.length, 300000);
  t.match(first.headers['server-timing'], /^queue;dur=[\d.]+, tcp;dur=[\d.]+, tls;dur=[\d.]+, server;dur=[\d.]+$/, 'phases known at the first byte');
  const line = await logLine(proxy, '/test/bytes?size=300000', 1);
  t.equal(line.connection, 'new');
  t.equal(line.responseBytes, 300000, 'bytes counted');
  const phases = line.phases!;
  for (const phase of ['queue', 'tcp', 'tls', 'server', 'transfer', 'total']) t.type(phases[phase], 'number', `${phase} measured`);
  t.ok(phases.tls! > 0, 'a TLS handshake takes time');
  const sum = phases.queue! + phases.tcp! + phases.tls! + phases.server! + phases.transfer!;
  t.ok(sum <= phases.total! + 1, `the phases (${sum} ms) fit in the total (${phases.total} ms)`);

  const second = await fetchText(`${proxy.url}/version`, { headers: { 'user-agent': 'timeline-test/1.0' } });
  t.match(second.headers['server-timing'], /^queue;dur=[\d.]+, server;dur=[\d.]+$/, 'a reused connection has no tcp or tls');
  const reused = await logLine(proxy, '/version', 1);
  t.equal(reused.connection, 'reused');
  t.equal(reused.phases?.tls, undefined);
  t.match(reused, { verb: 'get', client: '127.0.0.1', userAgent: 'timeline-test/1.0' }, 'who asked, and the API server\'s verb');

  await fetchText(`${proxy.url}/api/v1/namespaces/default/pods/web-0/log`);
  t.match(await logLine(proxy, '/api/v1/namespaces/default/pods/web-0/log', 1), { verb: 'get', resource: 'pods/log', namespace: 'default', name: 'web-0' });
});

void t.test('a request body: its bytes and its upload phase', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '-v=6'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const body = Buffer.alloc(3 * 1024 * 1024, 'u');
  const reply = await fetchText(`${proxy.url}/test/upload`, { method: 'POST', body });
  t.equal(reply.status, 200);
  t.match(reply.headers['server-timing'], /, upload;dur=[\d.]+, server;dur=[\d.]+$/);
  const line = (await logLine(proxy, '/test/upload', 1)) as Line & { requestBytes?: number };
  t.equal(line.requestBytes, body.length, 'request bytes counted from what undici wrote');
  t.ok(line.phases!.upload! > 0);
  const get = await fetchText(`${proxy.url}/version`);
  t.notMatch(get.headers['server-timing'], /upload/, 'no body, no upload phase');
});

void t.test('--server-timing=false sends no header; a plugin\'s time is the credentials phase', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'exec-token-1': 'exec-user' } });
  const plugin = writePlugin(cluster.dir);
  plugin.answer(execCredential({ token: 'exec-token-1' }));
  const kubeconfig = cluster.kubeconfig({ exec: { apiVersion: EXEC_V1, command: plugin.command, interactiveMode: 'Never' } });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '-v=6'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const first = await fetchText(`${proxy.url}/version`);
  t.match(first.headers['server-timing'], /^credentials;dur=[\d.]+, queue;dur=/, 'the plugin run is its own phase');
  t.ok((await logLine(proxy, '/version', 1)).phases!.credentials! > 0);
  const cached = await fetchText(`${proxy.url}/version`);
  t.notMatch(cached.headers['server-timing'], /credentials/, 'a cached credential costs nothing to report');

  const off = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--server-timing=false'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => off.stop());
  t.equal((await fetchText(`${off.url}/version`)).headers['server-timing'], undefined);
});

void t.test('-v=7 adds request headers, -v=8 response headers, -v=9 a curl command; all sorted and masked', async (t) => {
  const cluster = await startTestCluster(t);
  const kubeconfig = cluster.kubeconfig({ token: 'planted-kubeconfig-token', 'client-certificate': cluster.files.clientCert, 'client-key': cluster.files.clientKey });
  const lineAt = async (v: number) => {
    const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', `-v=${v}`], { env: isolatedEnv(cluster.dir) });
    t.teardown(() => proxy.stop());
    await fetchText(`${proxy.url}/version?access_token=planted-query-token`, { headers: { cookie: 'session=planted-cookie', 'x-z': 'last', 'x-a': 'first' } });
    return logLine(proxy, '/version?access_token=<masked>', 1) as Promise<Line & { requestHeaders?: Record<string, string>; responseHeaders?: Record<string, string>; curl?: string }>;
  };
  const six = await lineAt(6);
  t.equal(six.url, '/version?access_token=<masked>', 'a token in the query is masked at every level');
  t.equal(six.requestHeaders, undefined);

  const seven = await lineAt(7);
  t.same(Object.keys(seven.requestHeaders!), Object.keys(seven.requestHeaders!).sort(), 'sorted');
  t.match(seven.requestHeaders, { authorization: 'Bearer <masked>', cookie: '<masked>', 'x-a': 'first', 'x-z': 'last', 'audit-id': /^[0-9a-f-]{36}$/ });
  t.equal(seven.responseHeaders, undefined);

  const eight = await lineAt(8);
  t.match(eight.responseHeaders, { 'content-type': 'application/json', 'audit-id': /^[0-9a-f-]{36}$/ }, "the API server's headers");
  t.equal(eight.curl, undefined);

  const nine = await lineAt(9);
  t.match(nine.curl, new RegExp(`^curl -v -XGET -H "audit-id: [0-9a-f-]{36}" -H "authorization: Bearer <masked>" .* '${cluster.api.url.replace(/\./g, '\\.')}/version\\?access_token=<masked>'$`));
  t.notMatch(JSON.stringify([six, seven, eight, nine]), /planted/, 'no planted secret in any of those lines');
});
