// Browser tools, safely, at the HTTP level (what a browser sends, sent by hand): the Origin guard
// refuses requests, form posts and upgrades from pages of other origins before the API server
// sees them, and lets the proxy's own pages and allowed origins through; CORS for the origins of
// --cors-allowed-origins, with preflights answered here and upstream CORS headers replaced.
import t, { type Test } from 'tap';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { fetchText, rawRequest, type Reply } from '../helpers/http.js';
import { isolatedEnv, runProxy, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';

const UPGRADE = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];
const ALLOWED = 'http://localhost:3000';

function causeOf(reply: Reply): string | undefined {
  try {
    return (JSON.parse(reply.body) as { details?: { causes?: { reason: string }[] } }).details?.causes?.[0]?.reason;
  } catch {
    return undefined;
  }
}

async function start(t: Test, ...flags: string[]): Promise<{ cluster: TestCluster; proxy: ProxyProcess }> {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', ...flags], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  return { cluster, proxy };
}

/** A request as the raw socket sends it, with these extra header lines. */
const send = (proxy: ProxyProcess, line: string, ...headers: string[]) => rawRequest({ port: proxy.port }, [line, `Host: localhost:${proxy.port}`, ...headers]);

void t.test('the Origin guard refuses pages of other origins, before the API server sees anything', async (t) => {
  const { cluster, proxy } = await start(t);
  const seen = () => cluster.api.requests.length;
  const before = seen();
  const refused: [string, Promise<Reply>][] = [
    ['a fetch from another site', send(proxy, 'GET /api/v1/namespaces/default/secrets HTTP/1.1', 'Origin: http://evil.example')],
    ['a form post from another site', send(proxy, 'POST /api/v1/namespaces/default/pods HTTP/1.1', 'Origin: http://evil.example', 'Content-Type: application/x-www-form-urlencoded', 'Content-Length: 0')],
    ['a WebSocket port-forward from another site', send(proxy, 'GET /api/v1/namespaces/default/pods/p/portforward?ports=5432 HTTP/1.1', 'Origin: http://evil.example', ...UPGRADE)],
    ['a dev server on another local port', send(proxy, 'GET /version HTTP/1.1', 'Origin: http://localhost:3000')],
    ['an opaque origin', send(proxy, 'GET /version HTTP/1.1', 'Origin: null')],
    ['an <img> from another site (no Origin)', send(proxy, 'GET /api/v1/namespaces/default/pods HTTP/1.1', 'Sec-Fetch-Site: cross-site')],
    ['a navigation from a sibling site', send(proxy, 'GET /version HTTP/1.1', 'Sec-Fetch-Site: same-site')],
  ];
  for (const [what, reply] of refused) {
    const answer = await reply;
    t.equal(answer.status, 403, what);
    t.equal(causeOf(answer), 'KAP_ORIGIN_REJECTED', `${what}: the code`);
  }
  const refusal = await send(proxy, 'GET /version HTTP/1.1', 'Origin: http://evil.example');
  t.match(JSON.parse(refusal.body), { kind: 'Status', reason: 'Forbidden', message: /Origin "http:\/\/evil\.example" is not this proxy's origin.*--cors-allowed-origins.*--origin-guard=false/ }, 'the message says why and which flag');
  t.equal(seen(), before, 'none of them reached the API server');

  const passed: [string, Promise<Reply>][] = [
    ["the proxy's own origin (a --www page)", send(proxy, 'GET /version HTTP/1.1', `Origin: http://localhost:${proxy.port}`)],
    ['a typed URL (Sec-Fetch-Site: none)', send(proxy, 'GET /version HTTP/1.1', 'Sec-Fetch-Site: none')],
    ['same-origin', send(proxy, 'GET /version HTTP/1.1', 'Sec-Fetch-Site: same-origin')],
    ['curl, kubectl, client libraries: neither header', send(proxy, 'GET /version HTTP/1.1')],
  ];
  for (const [what, reply] of passed) t.equal((await reply).status, 200, what);
});

void t.test('--origin-guard=false lets any origin through, with a warning at start', async (t) => {
  const { proxy } = await start(t, '--origin-guard=false');
  t.equal((await send(proxy, 'GET /version HTTP/1.1', 'Origin: http://evil.example')).status, 200);
  await proxy.waitForStderr(/Origin guard disabled/);
  t.pass('warned');
});

void t.test('CORS for an allowed origin: echoed origin, credentials, Vary, exposed headers; upstream CORS headers replaced', async (t) => {
  const { cluster, proxy } = await start(t, '--cors-allowed-origins', `^${ALLOWED.replaceAll('.', '\\.')}$`);
  const list = await fetchText(`${proxy.url}/api/v1/namespaces/default/pods`, { headers: { origin: ALLOWED } });
  t.equal(list.status, 200);
  t.equal(list.headers['access-control-allow-origin'], ALLOWED);
  t.equal(list.headers['access-control-allow-credentials'], 'true');
  t.match(list.headers.vary, /Origin/);
  t.match(list.headers['access-control-expose-headers'], /Audit-Id.*Retry-After.*Server-Timing.*Warning/);
  t.equal(list.headers['timing-allow-origin'], ALLOWED, 'Server-Timing readable by the Resource Timing API');

  const pod = await fetchText(`${proxy.url}/test/headers?set=Access-Control-Allow-Origin:*&set=Vary:Accept-Encoding`, { headers: { origin: ALLOWED } });
  t.equal(pod.headers['access-control-allow-origin'], ALLOWED, "the pod's wildcard is replaced by ours, not added to it");
  t.equal(pod.headers.vary, 'Accept-Encoding, Origin', 'our Vary joins the server\'s');
  const plain = await fetchText(`${proxy.url}/test/headers?set=Access-Control-Allow-Origin:*`);
  t.equal(plain.headers['access-control-allow-origin'], undefined, 'without an allowed origin, no CORS header passes at all');

  const refused = await fetchText(`${proxy.url}/api/v1/namespaces/d/pods/p/exec`, { method: 'POST', headers: { origin: ALLOWED } });
  t.equal(refused.status, 403);
  t.equal(refused.headers['access-control-allow-origin'], ALLOWED, 'a refusal is readable by the page too');
  t.notOk(cluster.api.requests.some((seen) => seen.method === 'OPTIONS'), 'no preflight was ever forwarded');
});

void t.test('preflights are answered by the proxy after checking the method and headers asked for', async (t) => {
  const { cluster, proxy } = await start(t, '--cors-allowed-origins', '^http://localhost:3000$,//tools\\.example\\.com(:|$)');
  const preflight = (origin: string, method: string, headers?: string, ...extra: [string, string][]) =>
    fetchText(`${proxy.url}/api/v1/namespaces/default/pods/p`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, ...(headers === undefined ? {} : { 'access-control-request-headers': headers }), ...Object.fromEntries(extra) },
    });
  const patch = await preflight(ALLOWED, 'PATCH', 'content-type, impersonate-user, impersonate-extra-scopes, audit-id');
  t.equal(patch.status, 204);
  t.equal(patch.headers['access-control-allow-origin'], ALLOWED);
  t.equal(patch.headers['access-control-allow-credentials'], 'true');
  t.match(patch.headers['access-control-allow-methods'], /PATCH/);
  t.equal(patch.headers['access-control-allow-headers'], 'content-type, impersonate-user, impersonate-extra-scopes, audit-id');
  t.equal(patch.headers['access-control-max-age'], '7200');
  t.match(patch.headers.vary, /Origin/);
  t.equal(patch.headers['access-control-allow-private-network'], undefined);

  const local = await preflight('https://tools.example.com', 'GET', undefined, ['access-control-request-private-network', 'true']);
  t.equal(local.status, 204, 'a second allowed origin, pinned with // and :');
  t.equal(local.headers['access-control-allow-private-network'], 'true', 'the Private Network Access preflight is answered');

  const custom = await preflight(ALLOWED, 'GET', 'x-custom-header');
  t.equal(custom.status, 403);
  t.equal(causeOf(custom), 'KAP_CORS_PREFLIGHT_REJECTED');
  t.match(JSON.parse(custom.body), { message: /x-custom-header/ });
  const trace = await preflight(ALLOWED, 'TRACE');
  t.equal(trace.status, 403, 'a method no Kubernetes verb uses');
  const foreign = await preflight('https://tools.example.com.evil.org', 'GET');
  t.equal(foreign.status, 403, 'the pinned expression does not match a longer host');
  t.equal(causeOf(foreign), 'KAP_ORIGIN_REJECTED');
  t.notOk(cluster.api.requests.some((seen) => seen.method === 'OPTIONS'), 'no preflight reached the API server');
});

void t.test('--cors-allowed-origins: unpinned expressions and the wildcard are start-up errors that say how to pin', async (t) => {
  const cluster = await startTestCluster(t);
  const unpinned = await runProxy(['--kubeconfig', cluster.certKubeconfig(), '--cors-allowed-origins', 'example\\.com'], { env: isolatedEnv(cluster.dir) });
  t.equal(unpinned.code, 1);
  t.match(unpinned.stderr, /^error: --cors-allowed-origins: "example\\\\\.com" is not pinned: begin it with \^ or \/\/ and end it with \$ or :/m);
  t.notMatch(unpinned.stderr, /\n\s+at /, 'no stack trace');
  const wildcard = await runProxy(['--kubeconfig', cluster.certKubeconfig(), '--cors-allowed-origins', '*'], { env: isolatedEnv(cluster.dir) });
  t.equal(wildcard.code, 1);
  t.match(wildcard.stderr, /--cors-allowed-origins: "\*" is not pinned/);
});
