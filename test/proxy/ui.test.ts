// --ui without a browser: the view's listener has the proxy's guards (Host check, Origin guard,
// caller token), serves one self-contained page, keeps --ui-history requests, shows an upgraded
// session among the open streams while it runs, and is absent without --ui. Its flags fail with
// one line naming the flag. Browser checks are in test/browser/ui.test.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { fetchText } from '../helpers/http.js';
import { plant } from '../helpers/planted-secrets.js';
import { echoThrough, startPortForward } from '../helpers/port-forward.js';
import { metricsUrl } from '../helpers/prometheus.js';
import { isolatedEnv, runProxy, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import type { Snapshot } from '../../src/ui/wire-types.js';

async function proxyWithUi(t: Test, cluster: TestCluster, ...flags: string[]): Promise<{ proxy: ProxyProcess; ui: string }> {
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--metrics-address', '127.0.0.1:0', ...flags], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  return { proxy, ui: `${await metricsUrl(proxy)}/ui/` };
}

async function snapshot(ui: string, headers: Record<string, string> = {}): Promise<Snapshot> {
  const reply = await fetchText(`${ui}snapshot`, { headers });
  if (reply.status !== 200) throw new Error(`snapshot: ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as Snapshot;
}

void t.test('the view\'s listener has the proxy\'s Host check and Origin guard; /metrics is unchanged', async (t) => {
  const cluster = await startTestCluster(t);
  const { ui } = await proxyWithUi(t, cluster, '--ui');
  const page = await fetchText(ui);
  t.equal(page.status, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/, 'only its own inline script and style, connections to itself');
  t.notMatch(page.body, /(src|href)="(https?:)?\/\//, 'nothing loaded from elsewhere: one request');
  t.equal((await fetchText(ui.slice(0, -1))).headers.location, '/ui/', '/ui redirects to /ui/');
  t.equal((await fetchText(`${ui}nope`)).status, 404);
  t.equal((await fetchText(ui, { method: 'POST', body: '' })).status, 405);

  const refused = [
    ['a Host that --accept-hosts does not match (DNS rebinding)', { host: 'attacker.example' }, 'KAP_HOST_REJECTED'],
    ['a foreign Origin', { origin: 'http://attacker.example' }, 'KAP_ORIGIN_REJECTED'],
    ['a cross-site fetch without Origin', { 'sec-fetch-site': 'cross-site' }, 'KAP_ORIGIN_REJECTED'],
  ] as const;
  for (const [what, headers, code] of refused) {
    for (const path of ['', 'events', 'snapshot']) {
      const reply = await fetchText(`${ui}${path}`, { headers });
      t.equal(reply.status, 403, `${what}: /ui/${path} refused`);
      t.match(reply.body, code);
    }
  }
  const own = await fetchText(`${ui}snapshot`, { headers: { origin: new URL(ui).origin, 'sec-fetch-site': 'same-origin' } });
  t.equal(own.status, 200, 'its own origin passes');
  t.equal((await fetchText(ui.replace('/ui/', '/metrics'), { headers: { host: 'scraper.example' } })).status, 200, '/metrics keeps answering any Host (Prometheus)');
});

void t.test('with --caller-token-file the view needs the token', async (t) => {
  const cluster = await startTestCluster(t);
  const token = `ui-caller-${randomBytes(12).toString('hex')}`;
  plant(token);
  const tokenFile = join(cluster.dir, 'caller-token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const { ui } = await proxyWithUi(t, cluster, '--ui', '--caller-token-file', tokenFile);
  for (const path of ['', 'events', 'snapshot']) {
    const reply = await fetchText(`${ui}${path}`);
    t.equal(reply.status, 401, `/ui/${path} without the token`);
    t.match(reply.body, 'KAP_CALLER_UNAUTHORIZED');
    t.equal((await fetchText(`${ui}${path}`, { headers: { authorization: 'Bearer wrong-token-value' } })).status, 401, `/ui/${path} with a wrong token`);
  }
  t.equal((await fetchText(ui, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'the page with the token');
  const events = await request(`${ui}events`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  t.equal(events.statusCode, 200);
  t.match(events.headers['content-type'], /^text\/event-stream/);
  events.body.destroy();
});

void t.test('a login link opened on the view\'s listener logs the browser in there', async (t) => {
  const cluster = await startTestCluster(t);
  const tokenFile = join(cluster.dir, 'caller-token');
  writeFileSync(tokenFile, `ui-login-${randomBytes(12).toString('hex')}`, { mode: 0o600 });
  plant(readFileSync(tokenFile, 'utf8'));
  // No --www: the link printed is the view's own, on its listener.
  const { proxy, ui } = await proxyWithUi(t, cluster, '--ui', '--caller-token-file', tokenFile);
  t.match(proxy.stdout(), new RegExp(`^Live view of the traffic: ${ui.replace(/[.?]/g, '\\$&')}$`, 'm'), 'where the view is, on stdout');
  const link = /^Log in to the live view from a browser \(this link works once, within 300 s\): (\S+)$/m.exec(proxy.stdout())?.[1];
  t.equal(link !== undefined && new URL(link).origin, new URL(ui).origin, 'a login link for the view\'s listener was printed');
  const code = new URL(link ?? 'http://x/').searchParams.get('kap-login');
  const landing = await fetchText(link ?? 'http://invalid/');
  t.equal(landing.status, 303);
  t.equal(landing.headers.location, '/ui/', 'it lands on the view');
  const cookie = String(landing.headers['set-cookie']).split(';')[0]!;
  t.match(cookie, new RegExp(`^kube-auth-proxy-${new URL(ui).port}=`), 'a cookie for this listener\'s port only');
  t.equal((await fetchText(ui, { headers: { cookie } })).status, 200, 'the view with the cookie');
  t.equal((await fetchText(`${new URL(ui).origin}/?kap-login=${code}`)).status, 401, 'the link works once');
});

void t.test('--ui-history bounds the requests kept; the newest stay', async (t) => {
  const cluster = await startTestCluster(t);
  const { proxy, ui } = await proxyWithUi(t, cluster, '--ui', '--ui-history', '3');
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const auditId = randomUUID();
    ids.push(auditId);
    await fetchText(`${proxy.url}/api/v1/namespaces/default/pods?i=${i}`, { headers: { 'audit-id': auditId } });
  }
  // A row is recorded when its response closes, just after the client has it: polled, bounded.
  let kept: Snapshot | undefined;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && kept?.rows.at(-1)?.auditId !== ids[4]) kept = await snapshot(ui);
  t.equal(kept!.history, 3);
  t.same(kept!.rows.map((row) => row.auditId), ids.slice(2), 'the last three, oldest first');
  t.match(kept!.rows[2], { method: 'GET', verb: 'list', resource: 'pods', namespace: 'default', status: 200, completed: true, answeredBy: 'upstream', url: '/api/v1/namespaces/default/pods?i=4' });
});

void t.test('a port-forward session is an open stream while it runs, then a 101 row with its bytes', async (t) => {
  const cluster = await startTestCluster(t);
  const { proxy, ui } = await proxyWithUi(t, cluster, '--ui');
  const emptyKubeconfig = join(cluster.dir, 'empty-kubeconfig');
  writeFileSync(emptyKubeconfig, '');
  const env = isolatedEnv(cluster.dir, { KUBECONFIG: emptyKubeconfig, KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' });
  const forward = await startPortForward(['--server', proxy.url, 'port-forward', 'pod/web-0', ':80'], env);
  t.teardown(() => forward.stop());
  const payload = randomBytes(100_000);
  t.equal((await echoThrough(forward.localPort, payload, 30_000)).length, payload.length);

  let open: Snapshot['streams'][number] | undefined;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (open === undefined || open.bytesToClient < payload.length)) open = (await snapshot(ui)).streams.find((s) => s.resource === 'pods/portforward');
  t.match(open, { kind: 'upgrade', protocol: 'SPDY/3.1', verb: 'create', resource: 'pods/portforward', namespace: 'default', name: 'web-0' }, 'open, as the API server names it');
  t.ok(open!.bytesToUpstream >= payload.length && open!.bytesToClient >= payload.length, 'with the bytes relayed so far, each way');

  await forward.stop();
  let row: Snapshot['rows'][number] | undefined;
  const ended = Date.now() + 10_000;
  while (Date.now() < ended && row === undefined) row = (await snapshot(ui)).rows.find((r) => r.resource === 'pods/portforward');
  t.match(row, { kind: 'upgrade', status: 101, protocol: 'SPDY/3.1', session: { closedBy: 'client' } }, 'a finished upgrade, answered 101');
  t.ok(row!.responseBytes >= payload.length, 'its bytes to the client');
  t.same((await snapshot(ui)).streams.filter((s) => s.resource === 'pods/portforward'), [], 'no longer open');
});

void t.test('without --ui nothing is served at /ui/', async (t) => {
  const cluster = await startTestCluster(t);
  const { ui } = await proxyWithUi(t, cluster);
  t.equal((await fetchText(ui)).status, 404);
  t.equal((await fetchText(`${ui}events`)).status, 404);
});

void t.test('the flags: one line naming the flag', async (t) => {
  const cluster = await startTestCluster(t);
  const cases = [
    [['--ui-history', '5'], /^error: --ui-history: only used with --ui$/m],
    [['--ui', '--ui-history', '0'], /^error: --ui-history: must be between 1 and 10000 requests$/m],
    [['--ui', '--ui-history', 'many'], /^error: --ui-history: "many" is not a whole number/m],
  ] as const;
  for (const [flags, message] of cases) {
    const result = await runProxy(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', ...flags], { env: isolatedEnv(cluster.dir) });
    t.equal(result.code, 1, flags.join(' '));
    t.match(result.stderr, message);
  }
});
