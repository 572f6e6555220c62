// Hostile input on the plain listener (issue 14): every case of the corpus (fixtures/hostile-input.ts)
// is sent byte for byte on a raw socket to one proxy in front of the example API server, and both
// ends are checked: what the client got (status, Status body, Audit-ID, log line, whether the
// connection was closed) and what the API server received (nothing, for anything ambiguous). Then
// a client that stops reading a large response must hold the upstream back, not the proxy's memory.

import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import t, { type Test } from 'tap';
import type { SeenRequest } from '../../examples/api-server/index.js';
import { startTestCluster } from '../helpers/cluster.js';
import { rawRequest } from '../helpers/http.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { waitFor } from '../helpers/waiting.js';
import { HOSTILE_CASES, type Expected, type Forwarded, type HostileCase } from './fixtures/hostile-input.js';
import { exchange, type RawResponse } from './fixtures/raw-exchange.js';

/** The longest any one exchange may take: the slow cases close after about 1 s (--headers-timeout 1s). */
const EXCHANGE_TIMEOUT_MS = 8_000;
const MiB = 1024 * 1024;

const describe = (seen: SeenRequest) => `${seen.method} ${seen.url}`;
const isSentinel = (seen: SeenRequest) => seen.url.includes('sentinel=');

/** The proxy's own refusal: a Status with its code, an Audit-ID, and a log line that joins them. */
async function checkRefusal(t: Test, got: RawResponse, expected: Expected, c: HostileCase, proxy: ProxyProcess): Promise<void> {
  t.equal(got.headers['content-type'], 'application/json', 'a JSON answer');
  const auditId = got.headers['audit-id'] ?? '';
  t.match(auditId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'an Audit-ID');
  if (c.closes) t.equal(got.headers.connection, 'close', 'Connection: close');
  if (c.head !== true) {
    let status: unknown;
    try {
      status = JSON.parse(got.body.toString('utf8'));
    } catch {
      status = got.body.toString('utf8');
    }
    t.match(status, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: expected.status, details: { causes: [{ reason: expected.code }] } }, `a Status with ${expected.code}`);
  }
  // Written when the answer is done; the access line or the refusal's own line carries both.
  await proxy.waitForStderr(new RegExp(`"auditID":"${auditId}"[^\\n]*"code":"${expected.code}"`), 5_000);
  t.pass('logged with its Audit-ID and code');
}

/** What the API server got must be what the case expects, and nothing more. */
function checkUpstream(t: Test, seen: readonly SeenRequest[], upstream: HostileCase['upstream']): void {
  if (upstream === 'nothing') {
    t.same(seen.map(describe), [], 'nothing reached the API server');
    return;
  }
  t.same(seen.map(describe), upstream.map((f) => `${f.method} ${f.url}`), 'the API server got exactly these');
  upstream.forEach((expected: Forwarded, i) => {
    const got = seen[i];
    if (got === undefined) return;
    if (expected.bodyBytes !== undefined) t.equal(got.bodyBytes, expected.bodyBytes, 'its body, whole');
    if (expected.trailers !== undefined) t.same(got.rawTrailers, expected.trailers, 'no trailer fields');
    const lines: [string, string][] = [];
    for (let j = 0; j < got.rawHeaders.length; j += 2) lines.push([got.rawHeaders[j]!.toLowerCase(), got.rawHeaders[j + 1]!]);
    for (const [name, value] of expected.has ?? []) t.ok(lines.some(([n, v]) => n === name && v === value), `${name}: ${value} reached it`);
    if (expected.counted !== undefined) {
      const { prefix, lines: count } = expected.counted;
      t.equal(lines.filter(([n]) => n.startsWith(prefix)).length, count, `all ${count} ${prefix}* lines reached it`);
    }
  });
}

async function runCase(t: Test, c: HostileCase, proxy: ProxyProcess, requests: readonly SeenRequest[], index: number): Promise<void> {
  const before = requests.length;
  const bytes = typeof c.bytes === 'function' ? c.bytes({ port: proxy.port }) : c.bytes;
  const result = await exchange(proxy.port, typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, {
    responses: c.answers.length,
    waitForClose: c.closes,
    timeoutMs: EXCHANGE_TIMEOUT_MS,
    ...(c.head === true ? { noBodies: true } : {}),
    ...(c.dribble === undefined ? {} : { dribble: c.dribble }),
  });
  t.same(result.responses.map((r) => r.status), c.answers.map((a) => a.status), `answered ${c.answers.map((a) => a.status).join(', ')}`);
  t.equal(result.rest.length, 0, 'and nothing else');
  t.equal(result.closed, c.closes, c.closes ? 'the proxy closed the connection' : 'the connection stayed open');
  if (c.closesWithinMs !== undefined) {
    const [min, max] = c.closesWithinMs;
    t.ok(result.ms >= min && result.ms <= max, `closed ${result.ms} ms after connecting (expected ${min}–${max})`);
  }
  for (const [i, expected] of c.answers.entries()) {
    const got = result.responses[i];
    if (got === undefined) continue;
    for (const [name, value] of Object.entries(expected.headers ?? {})) t.equal(got.headers[name], value, `${name}: ${value}`);
    if (expected.code !== undefined) await checkRefusal(t, got, expected, c, proxy);
  }
  // One round trip more: whatever the case let through upstream has arrived by its end.
  const sentinel = await rawRequest({ port: proxy.port }, [`GET /version?sentinel=${index} HTTP/1.1`, 'Host: localhost']);
  t.equal(sentinel.status, 200, 'the proxy still serves');
  checkUpstream(t, requests.slice(before).filter((seen) => !isSentinel(seen)), c.upstream);
}

/** The resident memory of a process, in bytes (Linux), or undefined. */
function rssOf(pid: number | undefined): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Resolves with `read()` once it has not changed for `quietMs`, checked every 50 ms; rejects after `withinMs`. */
async function steadyValue(read: () => number, quietMs: number, withinMs: number, what: string): Promise<number> {
  const deadline = Date.now() + withinMs;
  let value = read();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error(`${what}: still changing after ${withinMs} ms (now ${value})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = read();
    if (now !== value) {
      value = now;
      since = Date.now();
    }
  }
  return value;
}

void t.test('hostile input: what the client gets and what the API server sees', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--headers-timeout', '1s', '-v', '6'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const { requests } = cluster.api;

  for (const [index, c] of HOSTILE_CASES.entries()) {
    await t.test(c.name, (t) => runCase(t, c, proxy, requests, index));
  }

  await t.test('a client that stops reading a large response holds back the API server, not the proxy', async (t) => {
    const size = 512 * MiB;
    const rssBefore = rssOf(proxy.child.pid);
    // No 'data' listener: the socket reads one buffer's worth, then the kernel's buffers fill.
    const socket = connect(proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    t.teardown(() => socket.destroy());
    socket.write(`GET /test/bytes?size=${size}&case=not-reading HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    await waitFor(() => requests.some((seen) => seen.url.includes('case=not-reading')), 5_000, 'the request reaching the API server');
    const seen = requests.find((r) => r.url.includes('case=not-reading'))!;
    const served = await steadyValue(() => seen.bytesServed, 500, 15_000, 'bytes the API server handed over');
    // Loopback socket buffers on both hops hold a few MiB each; without backpressure all 512 MiB would flow.
    t.ok(served > 0 && served < 64 * MiB, `the API server stopped after ${(served / MiB).toFixed(1)} MiB of ${size / MiB}`);
    const rssAfter = rssOf(proxy.child.pid);
    if (rssBefore !== undefined && rssAfter !== undefined) {
      t.ok(rssAfter - rssBefore < 64 * MiB, `the proxy's memory grew by ${((rssAfter - rssBefore) / MiB).toFixed(1)} MiB`);
    }
    socket.destroy();
    const after = await rawRequest({ port: proxy.port }, ['GET /version?sentinel=after-not-reading HTTP/1.1', 'Host: localhost']);
    t.equal(after.status, 200, 'the proxy still serves');
  });

  // Over the whole run: nothing reached the API server that no case expected (a late arrival, a
  // request smuggled past its case's check).
  const expected = HOSTILE_CASES.flatMap((c) => (c.upstream === 'nothing' ? [] : c.upstream.map((f) => `${f.method} ${f.url}`)));
  const unexpected = requests.filter((seen) => !isSentinel(seen) && !seen.url.includes('case=not-reading')).map(describe);
  t.same([...unexpected].sort(), [...expected].sort(), 'the API server received exactly what the cases expected, over the whole run');
  await t.test('an idle keep-alive connection outlives Node\'s 5 s default and the headers timeout, and serves again', async (t) => {
    const socket = connect(Number(new URL(proxy.url).port), '127.0.0.1');
    t.teardown(() => socket.destroy());
    let received = '';
    let closed = false;
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.on('close', () => (closed = true));
    const ask = () => socket.write('GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    // A status line follows the previous body directly (no newline after a JSON body).
    const answers = () => received.match(/HTTP\/1\.1 200 OK\r\n/g)?.length ?? 0;
    ask();
    await waitFor(() => answers() === 1, 10_000, 'the first answer');
    // Absence is only shown by waiting: past Node's old 5 s and --headers-timeout (1 s here).
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    t.notOk(closed, 'the proxy kept the idle connection open for 7 s');
    ask();
    await waitFor(() => answers() === 2 || closed, 10_000, 'the second answer');
    t.equal(answers(), 2, 'the same connection serves the next request');
  });
});
