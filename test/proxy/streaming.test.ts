// Streams: a watch reaches the client event by event; clients that leave free their upstream
// connection (the pool trap of the pre-study); a huge body passes with bounded memory.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { startTestCluster } from '../helpers/cluster.js';
import { fetchText } from '../helpers/http.js';
import { metricReaches, metricsUrl, sampleValue, scrape } from '../helpers/prometheus.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';

const run = promisify(execFile);

/** Resolves with the first line of the stream that matches, or rejects after `timeoutMs`. */
function nextLine(lines: AsyncIterator<string, unknown>, match: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${match} within ${timeoutMs} ms`)), timeoutMs);
    const pump = async () => {
      for (;;) {
        const next: IteratorResult<string, unknown> = await lines.next();
        if (next.done === true) throw new Error('stream ended');
        if (match.test(next.value)) return next.value;
      }
    };
    pump().then(
      (line) => {
        clearTimeout(timer);
        resolve(line);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

async function* linesOf(body: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of body) {
    pending += chunk.toString('utf8');
    let newline;
    while ((newline = pending.indexOf('\n')) !== -1) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
  }
}

void t.test('a watch reaches the client event by event, not at the end', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const watch = await request(`${proxy.url}/api/v1/namespaces/default/pods?watch=1`);
  t.equal(watch.statusCode, 200);
  t.equal(watch.headers['content-length'], undefined, 'streamed, no length');
  const lines = linesOf(watch.body as AsyncIterable<Buffer>);
  await nextLine(lines, /"type":"ADDED"/);
  cluster.api.createPod('default', 'arrives-live');
  const event = await nextLine(lines, /arrives-live/);
  t.match(event, /"type":"ADDED"/, 'the new event arrived while the watch stays open');
  cluster.api.deletePod('default', 'arrives-live');
  t.match(await nextLine(lines, /arrives-live/), /"type":"DELETED"/);
  watch.body.destroy();
});

/** Opens `count` raw requests, reads `readBytes` of each reply (or none), then hangs up. */
async function hangUpMidway(port: number, path: string, count: number, readBytes: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let received = 0;
        const timer = setTimeout(() => {
          socket.destroy();
          resolve();
        }, 2_000);
        socket.on('error', reject);
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= readBytes) {
            clearTimeout(timer);
            socket.destroy();
            resolve();
          }
        });
        socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
        if (readBytes === 0) {
          clearTimeout(timer);
          setImmediate(() => {
            socket.destroy();
            resolve();
          });
        }
      }),
    ),
  );
}

void t.test('clients that leave mid-response or while queued do not pin pooled connections', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  // More clients than the pool has connections (32): some are queued when they leave.
  await hangUpMidway(proxy.port, '/test/bytes?size=50000000', 48, 256 * 1024);
  await hangUpMidway(proxy.port, '/test/hang', 48, 0);
  const replies = await Promise.all(Array.from({ length: 40 }, () => fetchText(`${proxy.url}/version`, { timeoutMs: 10_000 })));
  t.same(new Set(replies.map((reply) => reply.status)), new Set([200]), 'the proxy still serves 40 concurrent requests');
});

void t.test('memory does not grow with the body: 100 MB, then 500 MB', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const peakMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${proxy.child.pid}/status`, 'utf8'))?.[1]) / 1024;
  const download = async (size: number) => {
    const reply = await request(`${proxy.url}/test/bytes?size=${size}`);
    let bytes = 0;
    for await (const chunk of reply.body) bytes += (chunk as Buffer).length;
    return bytes;
  };
  t.equal(await download(100 * 1024 * 1024), 100 * 1024 * 1024);
  const afterSmall = peakMiB();
  t.equal(await download(500 * 1024 * 1024), 500 * 1024 * 1024);
  const afterLarge = peakMiB();
  // The peak settles at what V8 and the allocator keep around; five times the body must not move it much.
  t.ok(afterLarge - afterSmall < 32, `peak RSS ${Math.round(afterSmall)} MiB after 100 MB, ${Math.round(afterLarge)} MiB after 500 MB`);
  t.ok(afterLarge < 200, 'and stays under 200 MiB');
});

/** The proxy's own connections to the API server, by local address, read with ss: whether the fixture notices a close is not the question. */
async function upstreamSockets(apiPort: number): Promise<string[]> {
  const { stdout } = await run('ss', ['-tnH', 'state', 'established', 'dst', `127.0.0.1:${apiPort}`]);
  return stdout.split('\n').map((line) => line.trim().split(/\s+/)[2]).filter((local): local is string => local !== undefined && local !== '');
}

/** Sends a raw GET to the proxy and leaves the socket open for the test to close. */
function rawGet(port: number, path: string) {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  return socket;
}

/** A proxy with one connection for short requests, and its metrics. */
async function startWithOneConnection(t: Test, ...flags: string[]) {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--upstream-connections', '1', '--metrics-address', '127.0.0.1:0', ...flags], {
    env: isolatedEnv(cluster.dir),
  });
  t.teardown(() => proxy.stop());
  return { cluster, proxy, metrics: await metricsUrl(proxy) };
}

const abandoned = (outcome: string) => ['kube_auth_proxy_abandoned_requests_total', { outcome }] as const;

void t.test('a client that leaves a short request keeps the pooled connection: the answer is read and dropped', async (t) => {
  const { cluster, proxy, metrics } = await startWithOneConnection(t);
  // A slow answer (300 ms to its headers): the client has gone before any of it arrives.
  const slow = '/test/trickle?headersAfterMs=300&chunks=3&everyMs=20';
  const socket = rawGet(proxy.port, slow);
  await waitUntil(async () => cluster.api.requests.some((seen) => seen.url === slow));
  const during = await upstreamSockets(cluster.api.port);
  t.equal(during.length, 1, 'the request holds the one pooled connection');
  socket.destroy();
  t.equal(await metricReaches(metrics, ...abandoned('kept'), 1), 1, 'its answer was read to the end');
  const reply = await fetchText(`${proxy.url}/version`, { timeoutMs: 10_000 });
  t.equal(reply.status, 200, 'the next request is answered');
  t.same(await upstreamSockets(cluster.api.port), during, 'on the same connection: no new TLS handshake');
  t.equal(sampleValue(await scrape(metrics), ...abandoned('closed')), 0, 'nothing was cut off');
});

void t.test('a request queued behind an abandoned one takes its connection rather than wait for the dropped answer', async (t) => {
  // The abandoned request alone would hold the connection 2 s (ABANDONED_MAX_MS) more: the next one would be refused.
  const { cluster, proxy, metrics } = await startWithOneConnection(t, '--upstream-queue-timeout', '1s');
  const socket = rawGet(proxy.port, '/test/hang');
  await waitUntil(async () => cluster.api.requests.some((seen) => seen.url === '/test/hang'));
  socket.destroy();
  const reply = await fetchText(`${proxy.url}/version`, { timeoutMs: 10_000 });
  t.equal(reply.status, 200, 'answered within the 1 s queue timeout');
  t.equal(sampleValue(await scrape(metrics), ...abandoned('closed')), 1, 'the abandoned request was cut off');
});

void t.test('a client that leaves while its request waits for a connection: the request is never sent, and the connection kept', async (t) => {
  const { cluster, proxy, metrics } = await startWithOneConnection(t);
  const slow = '/test/trickle?headersAfterMs=500&chunks=1';
  const first = fetchText(`${proxy.url}${slow}`, { timeoutMs: 10_000 });
  await waitUntil(async () => cluster.api.requests.some((seen) => seen.url === slow));
  const during = await upstreamSockets(cluster.api.port);
  const queued = rawGet(proxy.port, '/test/echo?queued=1');
  t.equal(await metricReaches(metrics, 'kube_auth_proxy_queued_requests', { pool: 'requests' }, 1), 1, 'the second request waits behind the first');
  queued.destroy();
  t.equal((await first).status, 200, 'the first request is answered');
  t.equal(await metricReaches(metrics, ...abandoned('unsent'), 1), 1, 'the second was dropped when its turn came');
  t.equal((await fetchText(`${proxy.url}/version`, { timeoutMs: 10_000 })).status, 200, 'and a third is answered');
  t.notOk(
    cluster.api.requests.some((seen) => seen.url.startsWith('/test/echo')),
    'the abandoned request never reached the API server',
  );
  t.same(await upstreamSockets(cluster.api.port), during, 'and the one connection is still the first');
});

void t.test('a client that leaves a request the API server does not answer: its connection is closed after the drain allowance', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  // (undici may open a fresh idle connection afterwards; that one is a pooled connection for
  // the next request, not the abandoned one.)
  const socket = rawGet(proxy.port, '/test/hang');
  await waitUntil(async () => cluster.api.requests.some((seen) => seen.url === '/test/hang'));
  const during = await upstreamSockets(cluster.api.port);
  t.equal(during.length, 1, 'the hanging request holds an upstream connection');
  socket.destroy();
  await waitUntil(async () => !(await upstreamSockets(cluster.api.port)).includes(during[0]!));
  t.notOk((await upstreamSockets(cluster.api.port)).includes(during[0]!), 'the proxy closed that connection');
});

void t.test('a client that leaves a large answer: the upstream request is aborted, not read to its end', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const size = 200 * 1024 * 1024;
  await hangUpMidway(proxy.port, `/test/bytes?size=${size}`, 1, 64 * 1024);
  const seen = cluster.api.requests.find((request) => request.url === `/test/bytes?size=${size}`)!;
  await waitUntil(async () => (await upstreamSockets(cluster.api.port)).length === 0);
  t.equal((await upstreamSockets(cluster.api.port)).length, 0, 'its connection is closed');
  t.ok(seen.bytesServed < size / 4, `the API server stopped after ${Math.round(seen.bytesServed / 1024 / 1024)} of ${size / 1024 / 1024} MiB`);
});

/** Re-checks `condition` every few milliseconds for at most 10 s (a bounded poll). */
async function waitUntil(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
