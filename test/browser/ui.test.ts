// --ui, the live traffic view, in a real browser: Debian's Chromium, headless, driven by
// playwright-core, launched as browser.test.ts launches it. The page is opened before the traffic;
// curl then makes requests through the built proxy to the example API server, and the test checks
// that each row is in the page's DOM within 1 s of curl's response, that its waterfall shows the
// phases the proxy logged for it (the same figures, drawn to one scale), that the filters and
// pause work, that a watch shows among the open streams and leaves them when it ends, and that no
// planted secret (in a query string, in headers) reaches the page's DOM or its event stream.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { leakedSecrets, plant } from '../helpers/planted-secrets.js';
import { metricsUrl } from '../helpers/prometheus.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { waitFor } from '../helpers/waiting.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTEFACTS = fileURLToPath(new URL('../../.cache/browser/', import.meta.url));
/** As the machine notes say: no sandbox as root, and nothing that reaches for the internet. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** The promise: a request shows within 1 s of its response. */
const SHOWN_WITHIN_MS = 1_000;

const QUERY_SECRET = 'query-secret-7f3a9c1e5b';
const HEADER_SECRET = 'header-secret-2d8e4f6a0c';
const COOKIE_SECRET = 'cookie-secret-9b1d3f5e7a';
plant(QUERY_SECRET, HEADER_SECRET, COOKIE_SECRET);

const run = promisify(execFile);

async function launch(t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash test/browser/setup.sh (or set CHROMIUM_PATH)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  t.teardown(() => browser.close());
  return browser;
}

async function proxyWithUi(t: Test, cluster: TestCluster): Promise<{ proxy: ProxyProcess; ui: string }> {
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--ui', '--metrics-address', '127.0.0.1:0', '-v=6', '--log-format', 'json'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  return { proxy, ui: `${await metricsUrl(proxy)}/ui/` };
}

/**
 * curl through the proxy with our own Audit-ID (the proxy adopts it). `doneAt` is when curl had
 * the whole response by its own clock (`time_total`) counted from before it was spawned: if
 * anything, later than the truth, so a delay measured from it is never too short.
 */
async function curl(proxy: ProxyProcess, path: string, ...args: string[]): Promise<{ auditId: string; doneAt: number }> {
  const auditId = randomUUID();
  const spawnedAt = Date.now();
  const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{time_total}', '-H', `Audit-ID: ${auditId}`, ...args, `${proxy.url}${path}`], { timeout: 10_000 });
  return { auditId, doneAt: spawnedAt + Number(stdout) * 1000 };
}

/** Records, in the page, when each request row enters the DOM (by the page's clock, which is this machine's). */
function watchRows(): void {
  const seenAt: Record<string, number> = {};
  (window as unknown as { rowSeenAt: Record<string, number> }).rowSeenAt = seenAt;
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        const id = (node as HTMLElement).dataset?.auditId;
        if (id !== undefined && !(id in seenAt)) seenAt[id] = Date.now();
      }
    }
  }).observe(document.getElementById('requests-body')!, { childList: true });
}

const rowSelector = (auditId: string) => `#requests-body tr[data-audit-id="${auditId}"]`;

/** When the page saw the row of `auditId` enter its DOM. (Predicates are functions: the page's CSP allows no eval.) */
async function rowShown(page: Page, auditId: string): Promise<number> {
  const seen = (id: string) => (window as unknown as { rowSeenAt: Record<string, number> }).rowSeenAt[id];
  await page.waitForFunction(seen, auditId, { timeout: 10_000 });
  return page.evaluate(seen, auditId) as Promise<number>;
}

/** The `request completed` line the proxy logged for `auditId`. */
async function loggedLine(proxy: ProxyProcess, auditId: string): Promise<{ phases: Record<string, number> }> {
  await proxy.waitForStderr(new RegExp(`"auditID":"${auditId}".*"msg":"request completed"`));
  const line = proxy.stderr().split('\n').find((l) => l.includes(`"auditID":"${auditId}"`) && l.includes('request completed'))!;
  return JSON.parse(line) as { phases: Record<string, number> };
}

interface DrawnPhase {
  readonly phase: string;
  readonly ms: number;
  readonly x: number;
  readonly width: number;
}

async function drawnPhases(page: Page, auditId: string): Promise<{ phases: DrawnPhase[]; track: { x: number; width: number } }> {
  return page.$eval(rowSelector(auditId), (tr) => {
    const number = (el: Element, name: string) => Number(el.getAttribute(name));
    const track = tr.querySelector('rect.track')!;
    return {
      phases: [...tr.querySelectorAll('rect[data-phase]')].map((rect) => ({ phase: rect.getAttribute('data-phase')!, ms: number(rect, 'data-ms'), x: number(rect, 'x'), width: number(rect, 'width') })),
      track: { x: number(track, 'x'), width: number(track, 'width') },
    };
  });
}

async function visibleAuditIds(page: Page): Promise<string[]> {
  return page.$$eval('#requests-body tr', (rows) => rows.map((tr) => (tr as HTMLElement).dataset.auditId ?? ''));
}

void t.test('the live view shows requests within 1 s with their logged phases, filters, pauses, and follows a watch', async (t) => {
  const cluster = await startTestCluster(t);
  const { proxy, ui } = await proxyWithUi(t, cluster);
  const browser = await launch(t);
  mkdirSync(ARTEFACTS, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(ui, { timeout: 15_000 });
  await page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 });
  await page.evaluate(watchRows);

  await t.test('a request made with curl is in the table within 1 s, its waterfall as logged', async (t) => {
    const list = await curl(proxy, '/api/v1/namespaces/default/pods', '-A', 'curl-list/1.0');
    const shownAfter = (await rowShown(page, list.auditId)) - list.doneAt;
    t.comment(`row in the DOM ${shownAfter} ms after curl had the response`);
    t.ok(shownAfter < SHOWN_WITHIN_MS, `shown within ${SHOWN_WITHIN_MS} ms (took ${shownAfter} ms)`);
    const logged = await loggedLine(proxy, list.auditId);
    const drawn = await drawnPhases(page, list.auditId);
    const loggedPhases = Object.entries(logged.phases).filter(([name]) => name !== 'total');
    t.same(Object.fromEntries(drawn.phases.map((p) => [p.phase, p.ms])), Object.fromEntries(loggedPhases), 'the bar has exactly the logged phases, with the logged figures');
    t.ok(drawn.phases.some((p) => p.phase === 'server') && drawn.phases.some((p) => p.phase === 'tls'), 'a first request has a handshake and a server phase');
    // One scale for every part of the bar: width / ms is the same for each phase and for the whole.
    const scale = drawn.track.width / logged.phases.total!;
    for (const p of drawn.phases) t.ok(Math.abs(p.width - p.ms * scale) < 1e-6 * Math.max(1, p.width), `${p.phase}: drawn ${p.width.toFixed(3)} units for ${p.ms} ms at the bar's scale`);
    for (let i = 1; i < drawn.phases.length; i++) {
      const [before, after] = [drawn.phases[i - 1]!, drawn.phases[i]!];
      t.ok(Math.abs(before.x + before.width - after.x) < 1e-6 * Math.max(1, after.x), `${after.phase} starts where ${before.phase} ends`);
    }
    await page.click(rowSelector(list.auditId));
    const details = await page.$$eval('#details-body tr[data-phase]', (rows) => rows.map((row) => (row as HTMLElement).dataset.phase));
    t.same(details, [...drawn.phases.map((p) => p.phase), 'total'], 'selecting the row shows its phases, in the order they happened');
  });

  await t.test('filters by verb, resource, namespace, status class, client and text', async (t) => {
    const notFound = await curl(proxy, '/api/v1/namespaces/default/pods/nope', '-A', 'curl-get/1.0');
    const version = await curl(proxy, '/version', '-A', 'other-tool/2.0');
    const namespaces = await curl(proxy, '/api/v1/namespaces', '-A', 'curl-list/1.0');
    for (const made of [notFound, version, namespaces]) await rowShown(page, made.auditId);
    const all = await visibleAuditIds(page);
    const choose = async (filter: string, value: string) => {
      await page.selectOption(`#filter-${filter}`, value);
      const shown = await visibleAuditIds(page);
      await page.selectOption(`#filter-${filter}`, '');
      return shown;
    };
    t.same(await choose('status', '4xx'), [notFound.auditId], 'status 4xx: only the 404');
    t.same(await choose('resource', 'namespaces'), [namespaces.auditId], 'resource: namespaces');
    const lists = await choose('verb', 'list');
    t.ok(lists.includes(namespaces.auditId) && !lists.includes(notFound.auditId) && !lists.includes(version.auditId), 'verb list: the lists, not the get nor /version');
    t.notOk((await choose('namespace', 'default')).includes(namespaces.auditId), 'namespace default: not the cluster-wide namespace list');
    t.same(await choose('client', 'other-tool/2.0 127.0.0.1'), [version.auditId], 'client: by user agent and address');
    await page.fill('#filter-text', notFound.auditId.slice(0, 13));
    t.same(await visibleAuditIds(page), [notFound.auditId], 'free text: an Audit-ID prefix');
    await page.fill('#filter-text', '');
    t.same(await visibleAuditIds(page), all, 'every filter cleared: all rows again');

    const tracks = () => page.$$eval('#requests-body rect.track', (rects) => rects.map((rect) => ({ x: Number(rect.getAttribute('x')), end: Number(rect.getAttribute('x')) + Number(rect.getAttribute('width')) })));
    t.ok((await tracks()).every((track) => track.x === 0), 'by default every bar starts at its request\'s start');
    await page.selectOption('#axis-mode', 'clock');
    const clock = await tracks();
    t.equal(clock.at(-1)?.x, 0, 'on the wall clock the oldest request starts at the left edge');
    t.ok(clock.every((track, i) => i === 0 || track.x <= clock[i - 1]!.x), 'and each newer one further right');
    // Epoch milliseconds with fractions keep about 0.2 µs: a thousandth of a unit is well above that.
    t.ok(Math.abs(Math.max(...clock.map((track) => track.end)) - 1000) < 1e-3, 'the last to end ends at the right edge');
    await page.selectOption('#axis-mode', 'start');
  });

  await t.test('pause holds new rows back; resume shows them', async (t) => {
    await page.click('#pause');
    const held = await curl(proxy, '/api/v1/namespaces/default/pods', '-A', 'curl-paused/1.0');
    await page.waitForFunction(() => document.getElementById('held')!.textContent === 'paused: 1 new', undefined, { timeout: 10_000 });
    t.notOk((await visibleAuditIds(page)).includes(held.auditId), 'paused: the page has the row but does not show it');
    await page.click('#pause');
    await rowShown(page, held.auditId);
    t.pass('resumed: the row is shown');
  });

  await t.test('a watch is among the open streams while it runs, and leaves them when it ends', async (t) => {
    const auditId = randomUUID();
    const watch = spawn('curl', ['-sS', '-N', '-H', `Audit-ID: ${auditId}`, `${proxy.url}/api/v1/namespaces/default/pods?watch=1`], { stdio: 'ignore' });
    t.teardown(() => watch.kill());
    const streamRow = `#streams-body tr[data-audit-id="${auditId}"]`;
    await page.waitForSelector(streamRow, { timeout: 10_000 });
    t.equal(await page.textContent(`${streamRow} .col-kind`), 'watch', 'shown as a watch');
    cluster.api.createPod('default', 'seen-by-the-ui-watch');
    await page.waitForFunction((selector) => (document.querySelector(`${selector} .col-down`)?.textContent ?? '0 B') !== '0 B', streamRow, { timeout: 10_000 });
    t.pass('its bytes to the client grow as events arrive');
    await page.screenshot({ path: `${ARTEFACTS}ui-watch.png`, fullPage: false });
    watch.kill('SIGTERM');
    await page.waitForSelector(streamRow, { state: 'detached', timeout: 10_000 });
    await rowShown(page, auditId);
    t.pass('when curl leaves, the watch leaves the open streams and joins the finished requests');
  });

  await t.test('the charts draw the traffic', async (t) => {
    await page.waitForFunction(() => document.querySelectorAll('#chart-rate rect').length > 0 && document.querySelector('#latency-body tr[data-resource="pods"]') !== null, undefined, { timeout: 10_000 });
    t.pass('requests per second and the latency of pods');
    // Open now or not (an idle connection may have timed out), the requests pool had one this minute.
    t.match(await page.textContent('#connections-caption'), /requests \d+.*; peak [1-9]/, 'upstream connections of the requests pool');
    t.ok(await page.$('#chart-connections polyline[data-pool="requests"]'), 'drawn as a line');
  });

  await page.screenshot({ path: `${ARTEFACTS}ui.png`, fullPage: false });
  t.same(pageErrors, [], 'no script error in the page');
});

void t.test('no planted secret reaches the page or its event stream', async (t) => {
  const cluster = await startTestCluster(t);
  const { proxy, ui } = await proxyWithUi(t, cluster);
  const browser = await launch(t);
  const page = await browser.newPage();
  await page.goto(ui, { timeout: 15_000 });
  await page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 });
  await page.evaluate(watchRows);
  // The event stream as another page would read it, from before the request to after its row.
  const events = await request(`${ui}events`, { signal: AbortSignal.timeout(30_000) });
  let stream = '';
  events.body.setEncoding('utf8').on('data', (chunk: string) => (stream += chunk));
  events.body.on('error', () => undefined);

  const secret = await curl(proxy, `/api/v1/namespaces/default/pods?access_token=${QUERY_SECRET}&limit=5`, '-H', `Authorization: Bearer ${HEADER_SECRET}`, '-H', `Cookie: session=${COOKIE_SECRET}`, '-H', `X-Remote-Token: ${HEADER_SECRET}`);
  await rowShown(page, secret.auditId);
  await waitFor(() => stream.includes(secret.auditId), 10_000, 'the request in the event stream');
  events.body.destroy();
  const dom = await page.content();
  t.match(await page.getAttribute(`${rowSelector(secret.auditId)} .col-resource`, 'title'), /access_token=<masked>&limit=5$/, 'the URL is shown, its secret query value masked as in the log');
  t.same(leakedSecrets(dom), [], 'no planted secret in the page\'s DOM');
  t.same(leakedSecrets(stream), [], 'no planted secret in the event stream');
  t.ok(stream.includes('access_token=<masked>'), 'the event stream carries the request, masked');
});
