// kubectl's filters without its holes: no encoding or dot-segment trick reaches exec or attach,
// the Host check accepts [::1]:PORT and ignores case, and rejections are Kubernetes Status 403s.
import t from 'tap';
import { startTestCluster } from '../helpers/cluster.js';
import { rawRequest, type StatusBody } from '../helpers/http.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';

const BYPASS_ATTEMPTS = [
  '/api/v1/namespaces/d/pods/p/exec?command=sh',
  '/api/v1/namespaces/d/pods/p/attach',
  '/%2e/api/v1/namespaces/d/pods/p/exec',
  '/%2E/api/v1/namespaces/d/pods/p/exec',
  '/./api/v1/namespaces/d/pods/p/exec',
  '//api/v1/namespaces/d/pods/p/exec',
  '/api//v1/namespaces/d/pods/p/exec',
  '/api/v1/namespaces/d/pods/p/%65xec',
  '/api/v1/namespaces/d/pods/p%2Fexec',
  '/api/v1/namespaces/d/pods/p%2fattach',
  '/api/v1/namespaces/d/pods/p/exec/',
  '/api/v1/namespaces/d/pods/p/./exec',
  '/api/v1/namespaces/d/pods/p/x/../exec',
  '/api/v1/namespaces/d/pods/p/x/%2e%2e/exec',
  '/api/v1/namespaces/d/pods/p/x%2f..%2fexec',
  '/foo/../api/v1/namespaces/d/pods/p/exec',
  '/foo/%2e%2e/api/v1/namespaces/d/pods/p/exec',
  '/apis/../api/v1/namespaces/d/pods/p/exec',
  '/api/v1/namespaces/d/pods/p/exec%00',
  '/api/v1/namespaces/d/pods/p/exec%',
  'http://localhost/api/v1/namespaces/d/pods/p/exec',
  'http://localhost/%2e/api/v1/namespaces/d/pods/p/exec',
];

/** The proxy's own error code in a Status body (details.causes[0].reason), or undefined for anything else. */
function proxyCode(body: string): string | undefined {
  try {
    const reason = (JSON.parse(body) as { details?: { causes?: { reason?: string }[] } }).details?.causes?.[0]?.reason;
    return reason?.startsWith('KAP_') === true ? reason : undefined;
  } catch {
    return undefined;
  }
}

/** A refusal by the proxy itself: a 403 by the filter, or a 400/404 for a target it will not forward. */
const REFUSALS: Record<number, readonly string[]> = {
  403: ['KAP_FILTER_REJECTED'],
  400: ['KAP_BAD_REQUEST_TARGET'],
  404: ['KAP_OUTSIDE_API_PREFIX'],
};

/** Did the upstream ever receive a request that it would route to exec or attach? */
function reachedExec(urls: readonly string[]): string[] {
  return urls.filter((url) => {
    let path = url.split('?')[0]!;
    try {
      path = decodeURIComponent(path);
    } catch {
      // undecodable: look at it raw
    }
    return /\/(exec|attach)\b/i.test(path);
  });
}

void t.test('no encoding or dot-segment trick reaches exec or attach, plain or upgrade', async (t) => {
  const cluster = await startTestCluster(t);
  for (const prefix of ['/', '/custom/']) {
    const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--api-prefix', prefix], { env: isolatedEnv(cluster.dir) });
    t.teardown(() => proxy.stop());
    for (const attempt of BYPASS_ATTEMPTS) {
      // Absolute-form targets name the proxy's own port: any other is refused before the filter (own-authority.ts).
      const target = attempt.startsWith('http') ? attempt.replace('//localhost/', `//localhost:${proxy.port}/`) : prefix === '/' ? attempt : `/custom${attempt}`;
      for (const upgrade of [false, true]) {
        const extra = upgrade ? ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='] : [];
        const first = await rawRequest({ port: proxy.port }, [`GET ${target} HTTP/1.1`, 'Host: localhost', ...extra]);
        // A redirect to the clean path is fine, if the clean path is then refused.
        const redirected = first.status === 301 ? String(first.headers.location) : undefined;
        const reply = redirected === undefined ? first : await rawRequest({ port: proxy.port }, [`GET ${redirected} HTTP/1.1`, 'Host: localhost', ...extra]);
        const code = proxyCode(reply.body);
        const how = `${prefix} ${target}${upgrade ? ' (upgrade)' : ''}${redirected === undefined ? '' : ` → 301 ${redirected}`} → ${reply.status} ${code ?? 'not from the proxy'}`;
        t.ok(code !== undefined && (REFUSALS[reply.status] ?? []).includes(code), how);
      }
    }
  }
  t.same(reachedExec(cluster.api.requests.map((seen) => seen.url)), [], 'the API server never saw an exec or attach request');
});

void t.test('a rejection is a 403 Status naming the rule', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--reject-methods', 'POST,DELETE'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const exec = await rawRequest({ port: proxy.port }, ['GET /api/v1/namespaces/d/pods/p/exec HTTP/1.1', 'Host: localhost']);
  t.equal(exec.status, 403);
  t.equal(exec.headers['content-type'], 'application/json');
  const status = JSON.parse(exec.body) as StatusBody;
  t.match(status, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 });
  t.equal(status.message, 'forbidden by kube-auth-proxy: path /api/v1/namespaces/d/pods/p/exec matches --reject-paths rule ^/api/.*/pods/.*/exec');
  const post = await rawRequest({ port: proxy.port }, ['DELETE /api/v1/namespaces/default/pods/x HTTP/1.1', 'Host: localhost']);
  t.equal((JSON.parse(post.body) as StatusBody).message, 'forbidden by kube-auth-proxy: method DELETE matches --reject-methods rule DELETE');
});

void t.test('the Host check: loopback names in any case, [::1] with a port; others refused', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const cases: [string | undefined, number][] = [
    ['localhost', 200],
    [`localhost:${proxy.port}`, 200],
    [`LocalHost:${proxy.port}`, 200],
    [`127.0.0.1:${proxy.port}`, 200],
    [`[::1]:${proxy.port}`, 200],
    ['[::1]', 200],
    ['evil.example', 403],
    [`evil.example:${proxy.port}`, 403],
    ['localhost.evil.example', 403],
    ['127.0.0.1.nip.io', 403],
    ['::1', 403],
  ];
  for (const [host, expected] of cases) {
    const reply = await rawRequest({ port: proxy.port }, ['GET /version HTTP/1.1', `Host: ${host}`]);
    t.equal(reply.status, expected, `Host: ${host}`);
  }
  // Upgrades (port-forward passes the path filter) go through the same Host check.
  const seenBefore = cluster.api.requests.length;
  const upgrade = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];
  const foreign = await rawRequest({ port: proxy.port }, ['GET /api/v1/namespaces/d/pods/p/portforward?ports=80 HTTP/1.1', 'Host: evil.example', ...upgrade]);
  t.equal(foreign.status, 403, 'an upgrade with a foreign Host is refused');
  t.equal(proxyCode(foreign.body), 'KAP_HOST_REJECTED');
  t.equal(cluster.api.requests.length, seenBefore, 'and never forwarded');
  const none = await rawRequest({ port: proxy.port }, ['GET /version HTTP/1.0']);
  t.equal(none.status, 403, 'no Host header (HTTP/1.0) is refused');
  t.match(JSON.parse(none.body), { message: 'forbidden by kube-auth-proxy: an empty Host header does not match --accept-hosts' });
});

void t.test('empty filter lists follow kubectl ≥ 1.21: empty accept rejects all, empty reject rejects none', async (t) => {
  const cluster = await startTestCluster(t);
  const open = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--reject-paths='], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => open.stop());
  // With an empty reject list the exec URL reaches the fixture (which has no exec route: 404).
  t.equal((await rawRequest({ port: open.port }, ['GET /api/v1/namespaces/d/pods/p/exec HTTP/1.1', 'Host: localhost'])).status, 404);
  const closed = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--accept-paths='], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => closed.stop());
  t.equal((await rawRequest({ port: closed.port }, ['GET /version HTTP/1.1', 'Host: localhost'])).status, 403);
});

void t.test('--disable-filter lets every host and path through, with kubectl warning', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--disable-filter'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.equal((await rawRequest({ port: proxy.port }, ['GET /version HTTP/1.1', 'Host: evil.example'])).status, 200);
  t.match(proxy.stderr(), /Request filter disabled, your proxy is vulnerable to XSRF attacks, please be cautious/);
});

void t.test('--api-prefix: 301 for the bare prefix, 404 outside, stripped unless it begins with /api', async (t) => {
  const cluster = await startTestCluster(t);
  const custom = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--api-prefix', '/custom'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => custom.stop());
  const bare = await rawRequest({ port: custom.port }, ['GET /custom?x=1 HTTP/1.1', 'Host: localhost']);
  t.equal(bare.status, 301);
  t.equal(bare.headers.location, '/custom/?x=1');
  t.equal((await rawRequest({ port: custom.port }, ['GET /version HTTP/1.1', 'Host: localhost'])).status, 404);
  t.equal((await rawRequest({ port: custom.port }, ['GET /custom/version HTTP/1.1', 'Host: localhost'])).status, 200);
  t.equal(cluster.api.requests.at(-1)!.url, '/version', 'prefix stripped');

  const api = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--api-prefix', '/api/'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => api.stop());
  t.equal((await rawRequest({ port: api.port }, ['GET /api/v1/namespaces HTTP/1.1', 'Host: localhost'])).status, 200);
  t.equal(cluster.api.requests.at(-1)!.url, '/api/v1/namespaces', 'a prefix beginning with /api is not stripped');
  t.equal((await rawRequest({ port: api.port }, ['GET /apis HTTP/1.1', 'Host: localhost'])).status, 404);
});

void t.test('unclean paths redirect to the clean path, query kept (Go ServeMux)', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const reply = await rawRequest({ port: proxy.port }, ['GET /api/v1/../v1/pods?x=1 HTTP/1.1', 'Host: localhost']);
  t.equal(reply.status, 301);
  t.equal(reply.headers.location, '/api/v1/pods?x=1');
});

void t.test('--accept-hosts replaces the loopback list', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--accept-hosts', '^proxy\\.example$'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.equal((await rawRequest({ port: proxy.port }, ['GET /version HTTP/1.1', `Host: proxy.example:${proxy.port}`])).status, 200);
  t.equal((await rawRequest({ port: proxy.port }, ['GET /version HTTP/1.1', 'Host: localhost'])).status, 403);
});
