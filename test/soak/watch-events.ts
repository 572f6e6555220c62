// Phase watches: N watches of one namespace held open through the proxy, each on its own
// connection, while the API server gets a new pod every interval (a POST sent to it directly, at a
// fixed rate). Every watch must see every pod's ADDED event, once and in order; the latency of
// each is from the POST being sent (the event is made while it is handled) to its arrival.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Agent, request, type Dispatcher } from 'undici';
import { memory } from '../bench/proc-stats.js';
import { percentile } from '../bench/watch-fanout.js';
import { fdBreakdown, gaugesWhen, newUpstreamConnections, peakSampler, settleFds, tcpConnections, type FdBreakdown, type Settled } from './gauges.js';
import type { SoakOptions } from './options.js';
import { UPSTREAM_POOL, type SoakSession } from './session.js';

/** One of the example server's namespaces (it creates pods in those only). */
const NAMESPACE = 'demo';
const WATCH_PATH = `/api/v1/namespaces/${NAMESPACE}/pods?watch=1`;
const OPEN_BATCH = 100;
/** After the last event, how long the watches get to see it. */
const DELIVERY_TIMEOUT_MS = 30_000;
/** After the watches close, new API-server connections are looked for until none came for the quiet time (at most the window). */
export const RECONNECT_QUIET_MS = 1500;
export const RECONNECT_WINDOW_MS = 10_000;

/** One watch: the arrival time of each event by its sequence number, and whether they came in order. */
class WatchTally {
  readonly arrivedAt: number[] = [];
  outOfOrder = 0;
  ended = false;
  private partial = '';

  constructor(
    readonly body: Dispatcher.ResponseData['body'],
    private readonly prefix: string,
  ) {}

  onText(chunk: string): void {
    const now = performance.now();
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const event = JSON.parse(line) as { type: string; object: { metadata: { name: string } } };
      const name = event.object.metadata.name;
      if (event.type !== 'ADDED' || !name.startsWith(this.prefix)) continue;
      const seq = Number(name.slice(this.prefix.length));
      if (seq !== this.arrivedAt.length) this.outOfOrder++;
      else this.arrivedAt.push(now);
    }
  }
}

export interface WatchResult {
  readonly watches: number;
  readonly events: number;
  readonly eventIntervalMs: number;
  readonly opened: number;
  readonly openS: number;
  readonly before: FdBreakdown;
  readonly rssBeforeMiB: number;
  readonly rssWithOpenMiB: number;
  readonly peakRssMiB: number;
  readonly withOpen: FdBreakdown;
  readonly openStreamsGauge: number;
  /** Events that reached a watch, of watches × events. */
  readonly delivered: number;
  readonly outOfOrder: number;
  /** How late the last POST was sent, against its schedule. */
  readonly emitLagMs: number;
  readonly latencyMs: { p50: number; p99: number; max: number };
  /** API-server connections the proxy opened after the watches closed (undici reconnects for each aborted request: nodejs/undici#5845). */
  readonly reconnects: number;
  readonly settle: Settled;
  readonly openStreamsAfter: number;
  readonly problems: string[];
}

async function openWatch(dispatcher: Dispatcher, url: string, prefix: string): Promise<WatchTally> {
  const response = await request(url, { dispatcher });
  if (response.statusCode !== 200) throw new Error(`watch answered ${response.statusCode}: ${await response.body.text()}`);
  const tally = new WatchTally(response.body, prefix);
  response.body.setEncoding('utf8');
  response.body.on('data', (chunk: string) => tally.onText(chunk));
  response.body.on('end', () => (tally.ended = true));
  response.body.on('error', () => (tally.ended = true));
  return tally;
}

async function openWatches(dispatcher: Dispatcher, url: string, count: number, prefix: string): Promise<WatchTally[]> {
  const watches: WatchTally[] = [];
  for (let start = 0; start < count; start += OPEN_BATCH) {
    watches.push(...(await Promise.all(Array.from({ length: Math.min(OPEN_BATCH, count - start) }, () => openWatch(dispatcher, url, prefix)))));
  }
  return watches;
}

/** Creates pods `prefix0`, `prefix1`, … on the API server, one every `intervalMs`; returns when each POST was sent. */
async function emit(session: SoakSession, prefix: string, events: number, intervalMs: number): Promise<{ sentAt: number[]; lagMs: number }> {
  const sentAt: number[] = [];
  const start = performance.now();
  let lagMs = 0;
  for (let seq = 0; seq < events; seq++) {
    const due = start + seq * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sentAt.push(performance.now());
    lagMs = sentAt[seq]! - due;
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${prefix}${seq}` } });
    const headers = { authorization: `Bearer ${session.upstream.token}`, 'content-type': 'application/json' };
    const res = await request(`${session.upstream.url}/api/v1/namespaces/${NAMESPACE}/pods`, { method: 'POST', headers, body, dispatcher: session.upstream.dispatcher });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`creating pod ${prefix}${seq} answered ${res.statusCode}: ${text}`);
  }
  return { sentAt, lagMs };
}

async function waitForAll(watches: readonly WatchTally[], events: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && watches.some((watch) => watch.arrivedAt.length < events && !watch.ended)) await new Promise((resolve) => setTimeout(resolve, 20));
}

function latencies(watches: readonly WatchTally[], sentAt: readonly number[]): number[] {
  return watches.flatMap((watch) => watch.arrivedAt.map((at, seq) => at - sentAt[seq]!)).sort((a, b) => a - b);
}

export async function runWatchPhase(session: SoakSession, options: SoakOptions, log: (line: string) => void): Promise<WatchResult> {
  const { pid } = session.ports;
  const before = fdBreakdown(session.ports);
  const rssBeforeMiB = memory(pid).rssMiB;
  const prefix = `soak-${randomBytes(3).toString('hex')}-`;
  const dispatcher = new Agent({ connections: null, headersTimeout: 30_000, bodyTimeout: 0 });
  const problems: string[] = [];
  const openedAt = performance.now();
  let watches: WatchTally[] = [];
  try {
    watches = await openWatches(dispatcher, session.proxyUrl + WATCH_PATH, options.watches, prefix);
    const openS = (performance.now() - openedAt) / 1000;
    const withOpen = fdBreakdown(session.ports);
    const rssWithOpenMiB = memory(pid).rssMiB;
    const openStreamsGauge = (await gaugesWhen(session.metricsUrl, (gauges) => gauges.streams >= watches.length, 5_000)).streams;
    log(`  watches: ${watches.length} open after ${openS.toFixed(1)} s, RSS ${rssWithOpenMiB.toFixed(1)} MiB; emitting ${options.events} events every ${options.eventIntervalMs} ms`);
    const peak = peakSampler(() => memory(pid).rssMiB, 100);
    const { sentAt, lagMs } = await emit(session, prefix, options.events, options.eventIntervalMs);
    await waitForAll(watches, options.events, DELIVERY_TIMEOUT_MS);
    const peakRssMiB = peak.stop();
    const sorted = latencies(watches, sentAt);
    const delivered = sorted.length;
    const outOfOrder = watches.reduce((sum, watch) => sum + watch.outOfOrder, 0);
    const result = { watches: options.watches, events: options.events, eventIntervalMs: options.eventIntervalMs, opened: watches.length, openS, before, rssBeforeMiB };
    const figures = { rssWithOpenMiB, peakRssMiB, withOpen, openStreamsGauge, delivered, outOfOrder, emitLagMs: lagMs };
    const latencyMs = { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? NaN };
    const known = new Set(tcpConnections(session.ports).upstream);
    for (const watch of watches) watch.body.destroy();
    const reconnects = await newUpstreamConnections(session.ports, known, RECONNECT_QUIET_MS, RECONNECT_WINDOW_MS);
    const settle = await settleFds(session.ports, before, UPSTREAM_POOL, 20_000);
    const openStreamsAfter = (await gaugesWhen(session.metricsUrl, (gauges) => gauges.streams === 0, 5_000)).streams;
    problems.push(...watchProblems({ ...result, ...figures, openStreamsAfter }, settle));
    return { ...result, ...figures, latencyMs, reconnects, settle, openStreamsAfter, problems };
  } finally {
    for (const watch of watches) watch.body.destroy();
    await dispatcher.destroy();
  }
}

function watchProblems(r: Pick<WatchResult, 'watches' | 'events' | 'opened' | 'delivered' | 'outOfOrder' | 'openStreamsGauge' | 'openStreamsAfter' | 'before'>, settle: Settled): string[] {
  const problems: string[] = [];
  const expected = r.watches * r.events;
  if (r.delivered < expected) problems.push(`${expected - r.delivered} of ${expected} events lost (${r.watches} watches × ${r.events} events)`);
  if (r.outOfOrder > 0) problems.push(`${r.outOfOrder} events arrived out of order or twice`);
  if (r.openStreamsGauge !== r.opened) problems.push(`kube_auth_proxy_open_streams read ${r.openStreamsGauge} with ${r.opened} watches open`);
  if (r.openStreamsAfter !== 0) problems.push(`kube_auth_proxy_open_streams read ${r.openStreamsAfter} after every watch closed`);
  if (!settle.settled) problems.push(`descriptors not back within ${settle.waitedMs} ms: ${JSON.stringify(settle.after)} (before ${JSON.stringify(r.before)})`);
  return problems;
}
