// Browser tools in a real browser: Debian's Chromium, headless, driven by playwright-core. The
// example page (examples/browser/) lists pods and follows a watch from the proxy's own origin and
// from an allowed second origin; a page of a foreign origin gets nothing through fetch, a no-cors
// POST, a <form> or a WebSocket, and the API server sees none of those requests; with
// --origin-guard=false the same page does reach it, which is what the guard is for. Over
// --local-tls, with the local CA trusted in the browser profile by the command the proxy prints,
// the page runs over HTTP/2 and holds 20 watches at once, all receiving events.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import t, { type Test } from 'tap';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { waitFor } from '../helpers/waiting.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const EXAMPLE_DIR = fileURLToPath(new URL('../../examples/browser/', import.meta.url));
const ARTEFACTS = fileURLToPath(new URL('../../.cache/browser/', import.meta.url));
/** As the machine notes say: no sandbox as root, and nothing that reaches for the internet. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** What a hostile page tries, reporting what it could do; PROXY is filled in. */
const HOSTILE_PAGE = `<!doctype html><meta charset="utf-8"><title>a page the user happens to visit</title>
<iframe name="sink"></iframe>
<script>
window.results = (async () => {
  const proxy = PROXY;
  const out = {};
  try { const r = await fetch(proxy + '/api/v1/namespaces/default/secrets?hostile=fetch'); out.fetch = 'read ' + r.status; } catch { out.fetch = 'blocked'; }
  try { await fetch(proxy + '/api/v1/namespaces/default/configmaps?hostile=no-cors', { method: 'POST', mode: 'no-cors', body: '{}' }); out.noCors = 'sent'; } catch { out.noCors = 'blocked'; }
  out.webSocket = await new Promise((resolve) => {
    const ws = new WebSocket(proxy.replace('http:', 'ws:') + '/api/v1/namespaces/default/pods/p/portforward?ports=5432&hostile=ws');
    ws.onopen = () => resolve('open');
    ws.onerror = () => resolve('refused');
  });
  out.form = await new Promise((resolve) => {
    const form = document.createElement('form');
    form.method = 'POST';
    form.target = 'sink';
    form.action = proxy + '/api/v1/namespaces/default/configmaps?hostile=form';
    document.body.append(form);
    document.querySelector('iframe').onload = () => resolve('submitted');
    form.submit();
  });
  return out;
})();
</script>`;

/** A plain static server on loopback: another origin than the proxy's. */
async function serve(t: Test, host: string, body: (path: string) => string | undefined): Promise<string> {
  const server: Server = createServer((req, res) => {
    const page = body(new URL(req.url ?? '/', 'http://x').pathname);
    if (page === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://${host === '127.0.0.1' ? '127.0.0.1' : 'localhost'}:${(server.address() as AddressInfo).port}`;
}

/** `home`: the HOME the browser runs with, whose NSS database (~/.pki/nssdb) holds its trusted CAs. */
async function launch(t: Test, home?: string): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash test/browser/setup.sh (or set CHROMIUM_PATH)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000, ...(home === undefined ? {} : { env: { ...process.env, HOME: home } }) });
  t.teardown(() => browser.close());
  return browser;
}

async function proxyFor(t: Test, cluster: TestCluster, ...flags: string[]): Promise<ProxyProcess> {
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--www', EXAMPLE_DIR, ...flags], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  return proxy;
}

const EXAMPLE_PAGE = readFileSync(`${EXAMPLE_DIR}index.html`, 'utf8');

void t.test('the example page lists and watches pods, from the proxy\'s own origin and from an allowed one', async (t) => {
  const cluster = await startTestCluster(t);
  const second = await serve(t, 'localhost', (path) => (path === '/index.html' ? EXAMPLE_PAGE : undefined));
  const proxy = await proxyFor(t, cluster, '--cors-allowed-origins', `^${second.replaceAll('.', '\\.')}$`);
  const browser = await launch(t);

  for (const [name, url] of [
    ['same origin (--www)', `${proxy.url}/static/index.html`],
    ['allowed cross origin', `${second}/index.html?api=${proxy.url}`],
  ] as const) {
    const page = await browser.newPage();
    await page.goto(url, { timeout: 15_000 });
    await page.waitForSelector('body[data-watching="true"]', { timeout: 15_000 });
    t.equal(await page.getAttribute('body', 'data-error'), null, `${name}: no error`);
    t.ok(Number(await page.getAttribute('body', 'data-listed')) >= 1, `${name}: the pods are listed`);
    const pod = `from-test-${name.replace(/\W+/g, '-')}`;
    cluster.api.createPod('default', pod);
    await page.waitForSelector(`li[data-name="${pod}"]`, { timeout: 10_000 });
    t.pass(`${name}: a pod created while the page watches appears`);
    t.match(await page.textContent('#audit'), /^[0-9a-f-]{36}$/, `${name}: the page can read Audit-Id`);
    if (name === 'allowed cross origin') {
      mkdirSync(ARTEFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTEFACTS}pods-page.png` });
    }
    await page.close();
  }
});

void t.test('a foreign page gets nothing through, and the API server sees none of its requests', async (t) => {
  const cluster = await startTestCluster(t);
  const browser = await launch(t);
  const hostileRequests = () => cluster.api.requests.filter((seen) => seen.url.includes('hostile=') || seen.url.includes('/secrets'));

  for (const guard of [true, false]) {
    const proxy = await proxyFor(t, cluster, ...(guard ? [] : ['--origin-guard=false']));
    const hostile = await serve(t, '127.0.0.1', () => HOSTILE_PAGE.replace('PROXY', JSON.stringify(`http://localhost:${proxy.port}`)));
    const before = hostileRequests().length;
    const page = await browser.newPage();
    await page.goto(`${hostile}/`, { timeout: 15_000 });
    const results = await page.evaluate<Record<string, string>>('window.results');
    await page.close();
    const reached = hostileRequests().slice(before).map((seen) => `${seen.method} ${seen.url}`);
    if (guard) {
      t.same(results, { fetch: 'blocked', noCors: 'sent', webSocket: 'refused', form: 'submitted' }, 'the page could read nothing and open no socket');
      t.same(reached, [], 'with the guard on, the API server saw none of its requests');
    } else {
      t.ok(reached.length >= 3, `with --origin-guard=false the same page reaches the API server: ${reached.join(', ')}`);
    }
  }
});

/** What a page reports after opening `count` watches with fetch streaming and seeing `pod` on each. */
const WATCHES_SCRIPT = `async ([count, pod]) => {
  const seen = new Array(count).fill(false);
  const started = new Array(count).fill(false);
  window.watchesStarted = () => started.every(Boolean);
  const watch = async (i) => {
    const response = await fetch('/api/v1/namespaces/default/pods?watch=1&resourceVersion=0&n=' + i);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes(pod)) {
      const { value, done } = await reader.read();
      if (done) return;
      text += value;
      started[i] = true;
    }
    seen[i] = true;
    reader.cancel();
  };
  window.watching = Promise.all(seen.map((_, i) => watch(i))).then(() => seen.filter(Boolean).length);
}`;

void t.test('over --local-tls, trusted as the proxy says, the page speaks HTTP/2 and holds 20 watches', async (t) => {
  const run = promisify(execFile);
  const cluster = await startTestCluster(t);
  const certsDir = join(cluster.dir, 'certs');
  const proxy = await proxyFor(t, cluster, '--local-tls', '--certs-dir', certsDir);
  // The user's step, as printed at start: the CA into the browser profile's NSS database.
  const trust = /trust it in a Chrome, Chromium or Firefox profile: (.*)$/m.exec(proxy.stdout())?.[1];
  t.ok(trust, 'the proxy printed how to trust its CA in a browser profile');
  const home = join(cluster.dir, 'home');
  mkdirSync(join(home, '.pki', 'nssdb'), { recursive: true });
  await run('certutil', ['-N', '-d', `sql:${home}/.pki/nssdb`, '--empty-password'], { timeout: 30_000 });
  await run('sh', ['-c', trust!], { env: { ...process.env, HOME: home }, timeout: 30_000 });
  const browser = await launch(t, home);

  const page = await browser.newPage();
  // The protocol of each response, as the browser's network stack reports it when its headers
  // arrive (Resource Timing entries of cancelled streams come late or not at all).
  const protocols = new Map<string, string>();
  const devtools = await page.context().newCDPSession(page);
  devtools.on('Network.responseReceived', (event) => protocols.set(event.response.url, event.response.protocol ?? 'unknown'));
  await devtools.send('Network.enable');
  await page.goto(`https://localhost:${proxy.port}/static/index.html`, { timeout: 15_000 });
  await page.waitForSelector('body[data-watching="true"]', { timeout: 15_000 });
  t.equal(await page.getAttribute('body', 'data-error'), null, 'the example page works over HTTPS, certificate trusted');

  const pod = 'h2-watched';
  await page.evaluate(`(${WATCHES_SCRIPT})([20, ${JSON.stringify(pod)}])`);
  await page.waitForFunction('window.watchesStarted()', undefined, { timeout: 15_000 });
  cluster.api.createPod('default', pod);
  t.equal(await page.evaluate<number>('window.watching'), 20, 'all 20 watches (and the page\'s own) received the event');
  const watchProtocols = () => [...protocols].filter(([url]) => url.includes('&n=')).map(([, protocol]) => protocol);
  await waitFor(() => watchProtocols().length === 20, 10_000, 'the 20 watch responses in the devtools protocol');
  t.same([...new Set(watchProtocols())], ['h2'], 'over HTTP/2: one connection carries them, past the six a browser opens per host');
  await page.close();
});
