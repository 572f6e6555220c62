// The real proxy binary reaching the API server through a forward proxy: the cluster's proxy-url
// (http, http with credentials, https, socks5 with and without credentials), HTTPS_PROXY and
// NO_PROXY, upgrades (which kubectl sends direct), and the errors when the proxy fails.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { startApiServer } from '../../examples/api-server/index.js';
import { createPki, issueCertificate, writePki } from '../../examples/pki.js';
import { ADMIN_TOKEN, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { closedPort, startHttpProxy, startSocksProxy } from '../helpers/forward-proxies.js';
import { fetchText, type StatusBody } from '../helpers/http.js';
import { isolatedEnv, runProxy, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];

/** The test environment without the machine's proxy variables, plus `extra`. */
function proxyEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = isolatedEnv(home);
  for (const name of PROXY_VARIABLES) delete env[name];
  return { ...env, ...extra };
}

/** Runs the proxy for `cluster` with a token user and the given proxy-url. */
async function runWithProxyUrl(t: Test, cluster: TestCluster, proxyUrl: string, name: string): Promise<ProxyProcess> {
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN }, { 'proxy-url': proxyUrl }, name);
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: proxyEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  return proxy;
}

/** Lists pods through `proxy` and checks that the API server answered with our credentials. */
async function listPods(t: Test, proxy: ProxyProcess, cluster: TestCluster, label: string): Promise<void> {
  const before = cluster.api.requests.length;
  const reply = await fetchText(`${proxy.url}/api/v1/namespaces/default/pods`);
  t.equal(reply.status, 200, `${label}: 200`);
  t.equal((JSON.parse(reply.body) as { kind: string }).kind, 'PodList', `${label}: the API server's answer`);
  t.equal(cluster.api.requests.length, before + 1, `${label}: the API server saw the request`);
  t.equal(cluster.api.requests.at(-1)?.user, 'token-admin', `${label}: with the kubeconfig token`);
}

async function statusOf(reply: Promise<{ status: number; body: string }>): Promise<{ status: number; body: StatusBody }> {
  const { status, body } = await reply;
  return { status, body: JSON.parse(body) as StatusBody };
}

void t.test('proxy-url http: every connection tunnels through the proxy', async (t) => {
  const cluster = await startTestCluster(t);
  const forward = await startHttpProxy(t);
  const proxy = await runWithProxyUrl(t, cluster, forward.url, 'http-proxy');
  await listPods(t, proxy, cluster, 'through an http proxy');
  t.same(forward.tunnels, [`127.0.0.1:${cluster.api.port}`], 'one CONNECT, to the API server, even though it is loopback');
  await t.resolves(
    proxy.waitForStderr(new RegExp(`"identity":"static token against https://127\\.0\\.0\\.1:${cluster.api.port} through proxy http://127\\.0\\.0\\.1:${forward.port}"`)),
    'the start-up log names the proxy',
  );
});

void t.test('proxy-url http with credentials; a wrong password is a 502 that never shows it', async (t) => {
  const cluster = await startTestCluster(t);
  const credentials = { username: 'kap', password: 'pr0xy p@ss' };
  const forward = await startHttpProxy(t, { credentials });
  const good = await runWithProxyUrl(t, cluster, forward.withCredentials(credentials.username, credentials.password), 'good-credentials');
  await listPods(t, good, cluster, 'with the right proxy password');
  t.same(forward.tunnels, [`127.0.0.1:${cluster.api.port}`]);

  const bad = await runWithProxyUrl(t, cluster, forward.withCredentials(credentials.username, 'wr0ng-s3cret'), 'bad-credentials');
  const before = cluster.api.requests.length;
  const { status, body } = await statusOf(fetchText(`${bad.url}/api/v1/namespaces/default/pods`));
  t.equal(status, 502);
  t.match(body, { kind: 'Status', status: 'Failure', reason: 'BadGateway', code: 502 });
  t.equal(
    body.message,
    `proxy http://127.0.0.1:${forward.port}: CONNECT 127.0.0.1:${cluster.api.port}: 407 Proxy Authentication Required (server https://127.0.0.1:${cluster.api.port})`,
  );
  t.equal(cluster.api.requests.length, before, 'nothing reached the API server');
  await bad.waitForStderr(/Error while proxying request/);
  for (const output of [bad.stderr(), bad.stdout(), good.stderr(), good.stdout(), JSON.stringify(body)]) {
    t.notMatch(output, /wr0ng-s3cret|pr0xy|p%40ss/, 'no proxy password in a log line or an answer');
  }
});

void t.test('proxy-url socks5, without and with username/password', async (t) => {
  const cluster = await startTestCluster(t);
  const open = await startSocksProxy(t);
  await listPods(t, await runWithProxyUrl(t, cluster, open.url, 'socks'), cluster, 'through SOCKS5');
  t.same(open.tunnels, [`127.0.0.1:${cluster.api.port}`]);

  const credentials = { username: 'kap', password: 'socks-s3cret' };
  const guarded = await startSocksProxy(t, { credentials });
  await listPods(t, await runWithProxyUrl(t, cluster, guarded.withCredentials(credentials.username, credentials.password), 'socks-auth'), cluster, 'through SOCKS5 with credentials');
  t.same(guarded.tunnels, [`127.0.0.1:${cluster.api.port}`]);

  const refused = await runWithProxyUrl(t, cluster, guarded.withCredentials(credentials.username, 'nope-s3cret'), 'socks-bad');
  const { status, body } = await statusOf(fetchText(`${refused.url}/api/v1/namespaces/default/pods`));
  t.equal(status, 502);
  t.equal(body.message, `proxy socks5://127.0.0.1:${guarded.port}: SOCKS5 username/password authentication failed (server https://127.0.0.1:${cluster.api.port})`);
  t.same(guarded.tunnels, [`127.0.0.1:${cluster.api.port}`], 'no tunnel for the wrong password');
});

void t.test('proxy-url https: the proxy certificate is verified with the cluster CA', async (t) => {
  const cluster = await startTestCluster(t);
  const forward = await startHttpProxy(t, { tls: issueCertificate(cluster.pki, { commonName: 'forward-proxy', usage: 'server', names: ['127.0.0.1'] }) });
  await listPods(t, await runWithProxyUrl(t, cluster, forward.url, 'https-proxy'), cluster, 'through a TLS proxy');
  t.same(forward.tunnels, [`127.0.0.1:${cluster.api.port}`]);

  const stranger = await startHttpProxy(t, { tls: issueCertificate(createPki(), { commonName: 'stranger', usage: 'server', names: ['127.0.0.1'] }) });
  const untrusted = await runWithProxyUrl(t, cluster, stranger.url, 'untrusted-proxy');
  const { status, body } = await statusOf(fetchText(`${untrusted.url}/api/v1/namespaces/default/pods`));
  t.equal(status, 503);
  t.match(body.message, new RegExp(`^proxy https://127\\.0\\.0\\.1:${stranger.port}: tls: `), 'a proxy certificate from another CA is refused');
  t.same(stranger.tunnels, [], 'nothing was asked of the untrusted proxy');
});

void t.test('HTTPS_PROXY: used for a server that is not loopback, unless NO_PROXY names it', async (t) => {
  // 0.0.0.0 reaches the loopback listener on Linux, yet is not loopback to Go's rule.
  const dir = t.testdir({});
  const pki = createPki({ serverNames: ['0.0.0.0'] });
  const files = writePki(`${dir}/pki`, pki);
  const api = await startApiServer({ pki, tokens: { [ADMIN_TOKEN]: 'token-admin' } });
  t.teardown(() => api.close());
  const kubeconfig = `${dir}/kubeconfig`;
  writeFileSync(kubeconfig, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'k', cluster: { server: `https://0.0.0.0:${api.port}`, 'certificate-authority': files.caCert } }],
    users: [{ name: 'u', user: { token: ADMIN_TOKEN } }],
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  }));
  const forward = await startHttpProxy(t);
  const run = async (env: NodeJS.ProcessEnv) => {
    const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: proxyEnv(dir, env) });
    t.teardown(() => proxy.stop());
    const reply = await fetchText(`${proxy.url}/api/v1/namespaces/default/pods`);
    t.equal(reply.status, 200);
    t.equal(api.requests.at(-1)?.user, 'token-admin');
    return proxy;
  };

  const viaEnv = await run({ HTTPS_PROXY: `127.0.0.1:${forward.port}`, HTTP_PROXY: `127.0.0.1:${await closedPort()}` });
  t.same(forward.tunnels, [`0.0.0.0:${api.port}`], 'HTTPS_PROXY (without a scheme: http) carried the https server; HTTP_PROXY was not used');
  await t.resolves(viaEnv.waitForStderr(new RegExp(`through proxy http://127\\.0\\.0\\.1:${forward.port}"`)));

  await run({ https_proxy: forward.url });
  t.equal(forward.tunnels.length, 2, 'lower-case https_proxy is read too');

  const excluded = await run({ HTTPS_PROXY: forward.url, NO_PROXY: `example.com, 0.0.0.0:${api.port}` });
  t.equal(forward.tunnels.length, 2, 'NO_PROXY naming host and port: direct');
  await excluded.waitForStderr(/"msg":"acting as"/);
  t.notMatch(excluded.stderr(), /through proxy/);

  await run({ HTTPS_PROXY: forward.url, no_proxy: '0.0.0.0/8' });
  t.equal(forward.tunnels.length, 2, 'a NO_PROXY CIDR: direct');
});

void t.test('HTTPS_PROXY never applies to a loopback server, as in Go', async (t) => {
  const cluster = await startTestCluster(t);
  const forward = await startHttpProxy(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.kubeconfig({ token: ADMIN_TOKEN }), '-p', '0'], {
    env: proxyEnv(cluster.dir, { HTTPS_PROXY: forward.url }),
  });
  t.teardown(() => proxy.stop());
  await listPods(t, proxy, cluster, 'loopback server with HTTPS_PROXY set');
  t.same(forward.tunnels, [], 'the proxy was not used');
  await proxy.waitForStderr(/"msg":"acting as"/);
  t.notMatch(proxy.stderr(), /through proxy/);
});

void t.test('an unsupported scheme in HTTPS_PROXY stops start-up, without the value', async (t) => {
  const cluster = await startTestCluster(t);
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN }, { server: 'https://api.example.invalid:6443' });
  const result = await runProxy(['--kubeconfig', kubeconfig, '-p', '0'], { env: proxyEnv(cluster.dir, { HTTPS_PROXY: 'ftp://kap:ftp-s3cret@proxy.example:21' }) });
  t.equal(result.code, 1);
  t.match(result.stderr, 'unsupported proxy scheme "ftp" in HTTPS_PROXY, must be http, https, or socks5');
  t.notMatch(result.stderr + result.stdout, /ftp-s3cret/);
});

/** An HTTPS server that answers upgrades with 101 and then echoes, recording the headers it saw. */
async function startUpgradeUpstream(t: Test, pki: ReturnType<typeof createPki>): Promise<{ port: number; seen: Record<string, string | string[] | undefined>[] }> {
  const seen: Record<string, string | string[] | undefined>[] = [];
  const server: Server = createServer({ cert: pki.serverCert, key: pki.serverKey });
  server.on('upgrade', (req, socket: Socket) => {
    seen.push(req.headers);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, seen };
}

/** Writes `request` and resolves with what came back once it matches `until` (bounded). */
function exchange(port: number, request: string, until: RegExp): Promise<{ socket: Socket; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${until} within 10 s; got ${text}`));
    }, 10_000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!until.test(text)) return;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve({ socket, text });
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

const UPGRADE = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n`;

void t.test('upgrades go through the proxy too (kubectl sends them direct, kubernetes/kubernetes#120318)', async (t) => {
  const dir = t.testdir({});
  const pki = createPki();
  const files = writePki(`${dir}/pki`, pki);
  const upstream = await startUpgradeUpstream(t, pki);
  const credentials = { username: 'kap', password: 'upgr4de-s3cret' };
  for (const forward of [await startHttpProxy(t, { credentials }), await startSocksProxy(t, { credentials })]) {
    const kubeconfig = `${dir}/kubeconfig-${forward.port}`;
    writeFileSync(kubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'k', cluster: { server: `https://127.0.0.1:${upstream.port}`, 'certificate-authority': files.caCert, 'proxy-url': forward.withCredentials(credentials.username, credentials.password) } }],
      users: [{ name: 'u', user: { token: 'upgrade-token' } }],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
    }));
    const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: proxyEnv(dir) });
    t.teardown(() => proxy.stop());
    const { socket, text } = await exchange(proxy.port, UPGRADE('/echo'), /\r\n\r\n/);
    t.teardown(() => socket.destroy());
    t.match(text, /^HTTP\/1\.1 101 /, `${forward.url}: 101 relayed`);
    t.same(forward.tunnels, [`127.0.0.1:${upstream.port}`], `${forward.url}: the upgrade connection tunnelled through the proxy`);
    t.equal(upstream.seen.at(-1)?.authorization, 'Bearer upgrade-token', `${forward.url}: credentials injected`);
    const echoed = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    socket.write('stream bytes');
    t.equal(await echoed, 'stream bytes', `${forward.url}: bytes piped both ways after the 101`);
  }
});

void t.test('a proxy that is down: 503 naming the proxy without its password, for requests and upgrades', async (t) => {
  const cluster = await startTestCluster(t);
  const port = await closedPort();
  const proxy = await runWithProxyUrl(t, cluster, `http://kap:d0wn-s3cret@127.0.0.1:${port}`, 'down');
  const expected = `proxy http://127.0.0.1:${port}: connect: connection refused (server https://127.0.0.1:${cluster.api.port})`;

  const { status, body } = await statusOf(fetchText(`${proxy.url}/api/v1/namespaces/default/pods`));
  t.equal(status, 503);
  t.match(body, { kind: 'Status', reason: 'ServiceUnavailable', code: 503, message: expected });

  const { socket, text } = await exchange(proxy.port, UPGRADE('/version'), /\}$/);
  socket.destroy();
  t.match(text, /^HTTP\/1\.1 503 /, 'an upgrade gets the same answer');
  t.match(text, expected);
  t.equal(cluster.api.requests.length, 0, 'nothing reached the API server');
  await proxy.waitForStderr(/Error while proxying upgrade/);
  t.notMatch(proxy.stderr(), /d0wn-s3cret/, 'the password is in no log line');
  t.notMatch(text + JSON.stringify(body), /d0wn-s3cret|kap:/, 'nor in an answer');
});
