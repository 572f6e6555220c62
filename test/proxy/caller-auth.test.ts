// --caller-token-file and --write-kubeconfig, end to end: a caller proves itself with the token
// (Authorization: Bearer, Proxy-Authorization Bearer or Basic, a CONNECT tunnel, or the cookie
// of a one-time login link) or gets a 401 while the API server sees nothing; the token never
// reaches the API server, which sees the kubeconfig's credential instead; real kubectl and
// @kubernetes/client-node work unchanged with the written kubeconfig, over plain HTTP (proxy-url)
// and over --local-tls (token and local CA).
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { ADMIN_TOKEN, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { fetchText, firstStatus, rawRequest, type Reply } from '../helpers/http.js';
import { plant } from '../helpers/planted-secrets.js';
import { echoThrough, startPortForward } from '../helpers/port-forward.js';
import { isolatedEnv, runProxy, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { waitFor } from '../helpers/waiting.js';

const run = promisify(execFile);
const PODS = '/api/v1/namespaces/default/pods';

interface Started {
  cluster: TestCluster;
  proxy: ProxyProcess;
  token: string;
  tokenFile: string;
  kubeconfig: string;
}

/** The API server demands the admin token; the proxy's kubeconfig carries it, callers must show theirs. */
async function start(t: Test, ...flags: string[]): Promise<Started> {
  const cluster = await startTestCluster(t);
  mkdirSync(join(cluster.dir, 'www'));
  writeFileSync(join(cluster.dir, 'www', 'index.html'), '<h1>tool</h1>');
  const tokenFile = join(cluster.dir, 'secrets', 'caller-token');
  const kubeconfig = join(cluster.dir, 'out', 'proxy.kubeconfig');
  const proxy = await startProxyProcess(
    ['--kubeconfig', cluster.kubeconfig({ token: ADMIN_TOKEN }), '-p', '0', '--caller-token-file', tokenFile, '--write-kubeconfig', kubeconfig, '--www', join(cluster.dir, 'www'), ...flags.map((flag) => flag.replace('$DIR', cluster.dir))],
    { env: isolatedEnv(cluster.dir) },
  );
  t.teardown(() => proxy.stop());
  const token = readFileSync(tokenFile, 'utf8').trim();
  plant(token);
  return { cluster, proxy, token, tokenFile, kubeconfig };
}

/** The login links printed on stdout so far, newest last. */
function loginLinks(proxy: ProxyProcess): string[] {
  return [...proxy.stdout().matchAll(/^Log in to the --www pages from a browser \(.*\): (\S+)$/gm)].map((match) => match[1]!);
}

function reasonOf(reply: Reply): string | undefined {
  return (JSON.parse(reply.body) as { details?: { causes?: { reason: string }[] } }).details?.causes?.[0]?.reason;
}

/** What the API server saw of requests whose target contains `marker`. */
function seenWith(cluster: TestCluster, marker: string) {
  return cluster.api.requests.filter((request) => request.url.includes(marker));
}

void t.test('callers prove themselves with the token; the API server never sees it', async (t) => {
  const { cluster, proxy, token, tokenFile, kubeconfig } = await start(t, '-v', '9', '--cors-allowed-origins', '^http://localhost:3000$');

  void t.test('the token file is made, random and owner-only, in a directory made owner-only', async (t) => {
    t.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
    t.equal(statSync(tokenFile).mode & 0o777, 0o600);
    t.equal(statSync(join(cluster.dir, 'secrets')).mode & 0o777, 0o700);
    t.equal(statSync(kubeconfig).mode & 0o777, 0o600, 'the written kubeconfig is 0600');
    t.match(proxy.stderr(), /made --caller-token-file with a new random token/);
  });

  void t.test('without the right token: 401, WWW-Authenticate, and nothing upstream', async (t) => {
    const cases: [string, Record<string, string>][] = [
      ['no credentials', {}],
      ['a wrong token of the same length', { authorization: `Bearer ${'x'.repeat(token.length)}` }],
      ['a token of another length', { authorization: `Bearer ${token}x` }],
      ['a prefix of the token', { authorization: `Bearer ${token.slice(0, 20)}` }],
      ['the token as Basic in Authorization (only Bearer counts there)', { authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}` }],
      ['a wrong Proxy-Authorization password', { 'proxy-authorization': `Basic ${Buffer.from('u:nope-nope-nope-nope').toString('base64')}` }],
      ['the token as a Basic user name, not its password', { 'proxy-authorization': `Basic ${Buffer.from(`${token}:`).toString('base64')}` }],
      ['a forged login cookie', { cookie: `kube-auth-proxy-${proxy.port}=${token}` }],
    ];
    for (const [name, headers] of cases) {
      const marker = `refused-${cases.findIndex(([n]) => n === name)}`;
      const reply = await fetchText(`${proxy.url}${PODS}?m=${marker}`, { headers });
      t.equal(reply.status, 401, name);
      t.equal(reply.headers['www-authenticate'], 'Bearer realm="kube-auth-proxy"', `${name}: WWW-Authenticate`);
      t.equal(reasonOf(reply), 'KAP_CALLER_UNAUTHORIZED', `${name}: the code`);
      t.equal(seenWith(cluster, marker).length, 0, `${name}: the API server saw nothing`);
    }
    const none = await fetchText(`${proxy.url}${PODS}`);
    t.match(JSON.parse(none.body), { kind: 'Status', code: 401, reason: 'Unauthorized', message: /needs the caller token of --caller-token-file/ });
    const wrong = await fetchText(`${proxy.url}${PODS}`, { headers: { authorization: 'Bearer wrong' } });
    t.match(JSON.parse(wrong.body), { message: /do not match the token of --caller-token-file/ });
    t.equal((await fetchText(`${proxy.url}/static/index.html`)).status, 401, 'static files are behind the check too');
  });

  void t.test('accepted as Bearer, Proxy-Authorization Bearer and Basic; the kubeconfig credential goes upstream', async (t) => {
    const basic = `Basic ${Buffer.from(`anyone:${token}`).toString('base64')}`;
    const cases: [string, Record<string, string>][] = [
      ['Authorization: Bearer', { authorization: `Bearer ${token}` }],
      ['Proxy-Authorization: Bearer', { 'proxy-authorization': `Bearer ${token}` }],
      ['Proxy-Authorization: Basic anything:token', { 'proxy-authorization': basic }],
    ];
    for (const [name, headers] of cases) {
      const marker = `accepted-${cases.findIndex(([n]) => n === name)}`;
      const reply = await fetchText(`${proxy.url}${PODS}?m=${marker}`, { headers });
      t.equal(reply.status, 200, name);
      const [seen] = seenWith(cluster, marker);
      t.equal(seen?.headers.authorization, `Bearer ${ADMIN_TOKEN}`, `${name}: the API server sees the kubeconfig's token`);
      t.equal(seen?.user, 'token-admin', `${name}: and acts as its user`);
      t.equal(seen?.headers['proxy-authorization'], undefined, `${name}: no Proxy-Authorization upstream`);
      t.notOk(JSON.stringify(seen?.rawHeaders).includes(token), `${name}: the caller token is in no header upstream`);
    }
    const absolute = await rawRequest({ port: proxy.port }, [`GET http://127.0.0.1:${proxy.port}${PODS}?m=absolute HTTP/1.1`, `Host: 127.0.0.1:${proxy.port}`, `Proxy-Authorization: ${basic}`]);
    t.equal(absolute.status, 200, 'an absolute-form request to the proxy itself, as Go sends through a proxy-url');
    t.equal(seenWith(cluster, 'm=absolute')[0]?.headers.authorization, `Bearer ${ADMIN_TOKEN}`);
    const elsewhere = await rawRequest({ port: proxy.port }, [`GET http://127.0.0.1:${cluster.api.port}${PODS}?m=elsewhere HTTP/1.1`, `Host: 127.0.0.1:${cluster.api.port}`, `Proxy-Authorization: ${basic}`]);
    t.equal(elsewhere.status, 403, 'an absolute-form request for another port is not ours to answer');
    t.equal(reasonOf(elsewhere), 'KAP_HOST_REJECTED');
    t.equal(seenWith(cluster, 'm=elsewhere').length, 0);
  });

  void t.test("a client's own Authorization beside the token in Proxy-Authorization is forwarded as its own (kubectl proxy's rule)", async (t) => {
    const reply = await fetchText(`${proxy.url}${PODS}?m=own-auth`, { headers: { 'proxy-authorization': `Bearer ${token}`, authorization: 'Bearer someone-elses-token' } });
    t.equal(reply.status, 401, "the API server's own 401 for a token it does not know");
    t.equal(seenWith(cluster, 'm=own-auth')[0]?.headers.authorization, 'Bearer someone-elses-token');
  });

  void t.test('CORS preflights of an allowed origin pass without a token and are answered by the proxy', async (t) => {
    const preflight = { origin: 'http://localhost:3000', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' };
    const allowed = await fetchText(`${proxy.url}${PODS}?m=preflight`, { method: 'OPTIONS', headers: preflight });
    t.equal(allowed.status, 204);
    t.equal(allowed.headers['access-control-allow-origin'], 'http://localhost:3000');
    const foreign = await fetchText(`${proxy.url}${PODS}?m=preflight`, { method: 'OPTIONS', headers: { ...preflight, origin: 'http://evil.example' } });
    t.equal(foreign.status, 401, "another origin's preflight needs the token");
    t.equal(seenWith(cluster, 'm=preflight').length, 0, 'no preflight reached the API server');
    const fromPage = await fetchText(`${proxy.url}${PODS}?m=cors`, { headers: { origin: 'http://localhost:3000', authorization: `Bearer ${token}` } });
    t.equal(fromPage.status, 200, 'the allowed page then calls with the token');
    t.equal(fromPage.headers['access-control-allow-origin'], 'http://localhost:3000');
  });

  void t.test('the one-time login link sets a session cookie for --www pages, once', async (t) => {
    const [link] = loginLinks(proxy);
    t.ok(link, 'a login link is printed on stdout');
    t.match(link, new RegExp(`^http://127\\.0\\.0\\.1:${proxy.port}/\\?kap-login=[A-Za-z0-9_-]{22}$`));
    const login = await fetchText(link!);
    t.equal(login.status, 303);
    t.equal(login.headers.location, '/static/');
    const setCookie = String(login.headers['set-cookie']);
    t.match(setCookie, new RegExp(`^kube-auth-proxy-${proxy.port}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$`), 'HttpOnly, SameSite=Strict, Path=/, not Secure over HTTP');
    const cookie = setCookie.split(';')[0]!;
    const session = cookie.split('=')[1]!;
    plant(session);
    t.not(session, token, 'the cookie is not the token');

    const page = await fetchText(`${proxy.url}/static/`, { headers: { cookie } });
    t.equal(page.status, 200, 'the pages open with the cookie');
    t.equal(page.body, '<h1>tool</h1>');
    const api = await fetchText(`${proxy.url}${PODS}?m=cookie`, { headers: { cookie: `theme=dark; ${cookie}` } });
    t.equal(api.status, 200, "the pages' API calls pass with it");
    const [seen] = seenWith(cluster, 'm=cookie');
    t.equal(seen?.headers.cookie, 'theme=dark', 'our cookie is taken off, the rest forwarded');
    t.equal(seen?.headers.authorization, `Bearer ${ADMIN_TOKEN}`);
    const asBearer = await fetchText(`${proxy.url}${PODS}`, { headers: { authorization: `Bearer ${session}` } });
    t.equal(asBearer.status, 401, 'the cookie value is not accepted as the token');

    const again = await fetchText(link!);
    t.equal(again.status, 401, 'a used link is refused');
    t.equal(again.headers['set-cookie'], undefined);
    t.match(JSON.parse(again.body), { message: /unknown or was already used .*a new one has just been printed/ });
    await waitFor(() => loginLinks(proxy).length === 2, 10_000, 'a new login link on stdout');
    const renewed = await fetchText(loginLinks(proxy)[1]!);
    t.equal(renewed.status, 303, 'the new link works');
    await proxy.waitForStderr(/"url":"\/\?kap-login=<masked>"/);
    for (const used of loginLinks(proxy)) t.notOk(proxy.stderr().includes(new URL(used).searchParams.get('kap-login')!), 'no login code in the log');
  });

  void t.test('upgrades need the token too', async (t) => {
    const upgrade = ['Host: localhost', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io'];
    const refused = await rawRequest({ port: proxy.port }, [`GET ${PODS}/web-0/portforward?ports=80&m=upgrade-refused HTTP/1.1`, ...upgrade]);
    t.equal(refused.status, 401);
    t.equal(refused.headers['www-authenticate'], 'Bearer realm="kube-auth-proxy"');
    t.equal(seenWith(cluster, 'm=upgrade-refused').length, 0, 'the API server saw nothing');
    const accepted = await firstStatus(proxy.port, [`GET ${PODS}/web-0/portforward?ports=80&m=upgrade-accepted HTTP/1.1`, ...upgrade, `Authorization: Bearer ${token}`]);
    t.equal(accepted, 101, 'with the token the API server answers the upgrade');
    t.equal(seenWith(cluster, 'm=upgrade-accepted')[0]?.headers.authorization, `Bearer ${ADMIN_TOKEN}`);
  });

  void t.test('CONNECT: only to the proxy itself, only with the token', async (t) => {
    const basic = `Basic ${Buffer.from(`caller:${token}`).toString('base64')}`;
    const noToken = await rawRequest({ port: proxy.port }, [`CONNECT 127.0.0.1:${proxy.port} HTTP/1.1`, `Host: 127.0.0.1:${proxy.port}`]);
    t.equal(noToken.status, 407);
    t.equal(noToken.headers['proxy-authenticate'], 'Basic realm="kube-auth-proxy"');
    const elsewhere = await rawRequest({ port: proxy.port }, [`CONNECT 127.0.0.1:${cluster.api.port} HTTP/1.1`, `Host: 127.0.0.1:${cluster.api.port}`, `Proxy-Authorization: ${basic}`]);
    t.equal(elsewhere.status, 403, 'the proxy is no open forward proxy, even with the token');
    t.equal(reasonOf(elsewhere), 'KAP_HOST_REJECTED');
  });

  void t.test('kubectl with the written kubeconfig over plain HTTP: proxy-url carries the token', async (t) => {
    const written = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
    t.match(readFileSync(kubeconfig, 'utf8'), /^# Written by kube-auth-proxy/);
    t.same(written.clusters[0]?.cluster, { server: `http://127.0.0.1:${proxy.port}`, 'proxy-url': `http://caller:${token}@127.0.0.1:${proxy.port}` });
    t.same(written.users[0]?.user, {}, 'no token: kubectl sends none to an http:// server');
    const env = isolatedEnv(cluster.dir);
    const before = cluster.api.requests.length;
    const pods = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'pods', '-n', 'default', '-o', 'name'], { env, timeout: 20_000 });
    t.match(pods.stdout, /^pod\/web-0$/m);
    const fromKubectl = cluster.api.requests.slice(before);
    t.ok(fromKubectl.length > 0);
    t.ok(fromKubectl.every((request) => request.headers.authorization === `Bearer ${ADMIN_TOKEN}` && !JSON.stringify(request.rawHeaders).includes(token)), "every request upstream carries the kubeconfig's token, none the caller's");

    // exec, attach and port-forward: Go tunnels them with CONNECT to the proxy-url.
    const forward = await startPortForward(['--kubeconfig', kubeconfig, 'port-forward', '-n', 'default', 'pod/web-0', ':8080'], env);
    t.teardown(() => forward.stop());
    const echoed = await echoThrough(forward.localPort, Buffer.from('through a CONNECT tunnel'));
    t.equal(echoed.toString(), 'through a CONNECT tunnel', 'kubectl port-forward works through the tunnel');
    t.equal(cluster.api.portForwards.at(-1)?.port, 8080);
    const spdy = await startPortForward(['--kubeconfig', kubeconfig, 'port-forward', '-n', 'default', 'pod/web-0', ':8082'], { ...env, KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' });
    t.teardown(() => spdy.stop());
    t.equal((await echoThrough(spdy.localPort, Buffer.from('SPDY through CONNECT'))).toString(), 'SPDY through CONNECT', 'and over SPDY/3.1 (its own dialer CONNECTs too)');
    t.equal(cluster.api.portForwards.at(-1)?.port, 8082);
    t.equal(cluster.api.requests.filter((request) => request.url.includes('/portforward')).at(-1)?.headers.upgrade, 'SPDY/3.1');

    const noProxyUrl = join(cluster.dir, 'no-proxy-url.kubeconfig');
    writeFileSync(noProxyUrl, readFileSync(kubeconfig, 'utf8').replace(/^\s*proxy-url:.*$/m, ''));
    const refused = await run('kubectl', ['--kubeconfig', noProxyUrl, 'get', 'pods', '-n', 'default'], { env, timeout: 20_000 }).then(
      ({ stderr }) => ({ code: 0, stderr }),
      (err: { code: number; stderr: string }) => err,
    );
    t.not(refused.code, 0, 'without the token kubectl is refused');
    t.match(refused.stderr, /Unauthorized|must be logged in/);
  });

  void t.test('@kubernetes/client-node with the written kubeconfig (hpagent CONNECTs for everything)', async (t) => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const pods = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' });
    t.ok(pods.items.some((pod) => pod.metadata?.name === 'web-0'));
  });
});

void t.test('--local-tls: the written kubeconfig carries the token and the local CA', async (t) => {
  const { cluster, proxy, token, kubeconfig } = await start(t, '--local-tls', '--certs-dir', '$DIR/certs');
  const written = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
  t.same(written.clusters[0]?.cluster, { server: `https://localhost:${proxy.port}`, 'certificate-authority': join(cluster.dir, 'certs', 'ca.crt') });
  t.same(written.users[0]?.user, { token });
  const env = isolatedEnv(cluster.dir);
  const before = cluster.api.requests.length;
  const pods = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'pods', '-n', 'default', '-o', 'name'], { env, timeout: 20_000 });
  t.match(pods.stdout, /^pod\/web-0$/m, 'kubectl over HTTPS (HTTP/2) with the bearer token');
  const fromKubectl = cluster.api.requests.slice(before);
  t.ok(fromKubectl.length > 0 && fromKubectl.every((request) => request.headers.authorization === `Bearer ${ADMIN_TOKEN}`), "the API server sees the kubeconfig's token");

  const forward = await startPortForward(['--kubeconfig', kubeconfig, 'port-forward', '-n', 'default', 'pod/web-0', ':8081'], env);
  t.teardown(() => forward.stop());
  t.equal((await echoThrough(forward.localPort, Buffer.from('over TLS'))).toString(), 'over TLS', 'kubectl port-forward upgrades with the bearer token');

  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const list = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' });
  t.ok(list.items.length > 0, '@kubernetes/client-node over HTTPS');

  const [link] = loginLinks(proxy);
  t.match(link, new RegExp(`^https://localhost:${proxy.port}/\\?kap-login=`), 'the login link is https');
  const ca = readFileSync(join(cluster.dir, 'certs', 'ca.crt'), 'utf8');
  const { stdout } = await run('curl', ['-sS', '--max-time', '10', '--cacert', join(cluster.dir, 'certs', 'ca.crt'), '-o', '/dev/null', '-D', '-', link!], { env });
  t.match(stdout, new RegExp(`set-cookie: __Host-kube-auth-proxy-${proxy.port}=[A-Za-z0-9_-]+; Path=/; HttpOnly; SameSite=Strict; Secure`, 'i'), 'Secure and __Host- over HTTPS');
  t.ok(ca.includes('BEGIN CERTIFICATE'));
});

void t.test('a login link expires', async (t) => {
  const { proxy } = await start(t, '--login-link-ttl', '1ms');
  const [link] = loginLinks(proxy);
  const expired = await fetchText(link!);
  t.equal(expired.status, 401);
  t.match(JSON.parse(expired.body), { message: /this login link has expired/ });
});

void t.test('an existing token file: used as is, and refused when others may read it', async (t) => {
  const cluster = await startTestCluster(t);
  const tokenFile = join(cluster.dir, 'token');
  const token = 'a-caller-token-of-my-own-1234';
  plant(token);
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const args = ['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--caller-token-file', tokenFile];
  const proxy = await startProxyProcess(args, { env: isolatedEnv(cluster.dir) });
  const reply = await fetchText(`${proxy.url}/version`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(reply.status, 200, 'the token of the file');
  t.equal(readFileSync(tokenFile, 'utf8'), `${token}\n`, 'the file is left as it was');
  await proxy.stop();

  chmodSync(tokenFile, 0o644);
  const open = await runProxy(args, { env: isolatedEnv(cluster.dir) });
  t.equal(open.code, 1);
  t.match(open.stderr, /^error: --caller-token-file: .*token is open to other users \(mode 0644\); make it yours only: chmod 600 .*token\n$/);
  t.equal(open.stderr.split('\n').length, 2, 'one line');

  chmodSync(tokenFile, 0o600);
  writeFileSync(tokenFile, 'short\n');
  const short = await runProxy(args, { env: isolatedEnv(cluster.dir) });
  t.match(short.stderr, /--caller-token-file: .* must hold one token of at least 16/);

  const notOurs = join(cluster.dir, 'real-kubeconfig');
  writeFileSync(notOurs, 'apiVersion: v1\nkind: Config\n');
  writeFileSync(tokenFile, `${token}\n`);
  const overwrite = await runProxy([...args, '--write-kubeconfig', notOurs], { env: isolatedEnv(cluster.dir) });
  t.equal(overwrite.code, 1);
  t.match(overwrite.stderr, /--write-kubeconfig: .*real-kubeconfig exists and was not written by kube-auth-proxy; refusing to overwrite it/);
  t.equal(readFileSync(notOurs, 'utf8'), 'apiVersion: v1\nkind: Config\n', 'left alone');
});
