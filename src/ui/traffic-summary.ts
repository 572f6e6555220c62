// The numbers behind the live view's charts, fed at the same points and with the same values as
// the Prometheus metrics (observe/metrics.ts): each finished request's status and total time,
// and each pooled upstream connection as it opens and closes. Recording never allocates; the
// summary is built only when a page is open.

import type { Socket } from 'node:net';
import { SecondsRing } from './seconds-ring.js';
import type { LatencyRow, TrafficSummary } from './wire-types.js';

/** 1xx, 2xx, 3xx, 4xx, 5xx, none (no answer reached the client). */
const STATUS_CLASS_COUNT = 6;
/** Recent requests per resource that its percentiles come from. */
const LATENCY_WINDOW = 256;
/** Resources tracked apart; more (names from arbitrary clients) share one entry. */
const MAX_RESOURCES = 64;
const OTHER_RESOURCES = '(other)';
/** The upstream pools (upstream/dispatcher.ts has two: requests and streams). */
const MAX_POOLS = 4;

export function statusClassIndex(status: number): number {
  const hundreds = Math.floor(status / 100);
  return hundreds >= 1 && hundreds <= 5 ? hundreds - 1 : STATUS_CLASS_COUNT - 1;
}

/** The last LATENCY_WINDOW totals of one resource, as a ring. */
interface LatencyWindow {
  readonly totals: Float64Array;
  count: number;
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, index)]! * 1000) / 1000;
}

function latencyRow(resource: string, window: LatencyWindow): LatencyRow {
  const sorted = window.totals.slice(0, Math.min(window.count, LATENCY_WINDOW)).sort();
  return { resource, count: sorted.length, p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99) };
}

export class TrafficSummaryRecorder {
  private readonly finished = new SecondsRing(STATUS_CLASS_COUNT);
  private readonly latency = new Map<string, LatencyWindow>();
  private readonly pools: string[] = [];
  private readonly open = new Float64Array(MAX_POOLS);
  private readonly connections = new SecondsRing(MAX_POOLS, true);

  /** A request is over: `resource` names it for the latency table (undefined: not forwarded, not timed upstream). */
  requestFinished(status: number, resource: string | undefined, totalMs: number, now = Date.now()): void {
    this.finished.add(Math.floor(now / 1000), statusClassIndex(status));
    if (resource === undefined) return;
    const window = this.windowFor(resource);
    window.totals[window.count % LATENCY_WINDOW] = totalMs;
    window.count++;
  }

  private windowFor(resource: string): LatencyWindow {
    const known = this.latency.get(resource);
    if (known !== undefined) return known;
    const key = this.latency.size < MAX_RESOURCES - 1 ? resource : OTHER_RESOURCES;
    let window = this.latency.get(key);
    if (window === undefined) this.latency.set(key, (window = { totals: new Float64Array(LATENCY_WINDOW), count: 0 }));
    return window;
  }

  /** A pooled connection to the API server opened; it is counted until its socket closes. */
  upstreamConnected(socket: Socket, pool: string): void {
    let index = this.pools.indexOf(pool);
    if (index === -1) {
      if (this.pools.length >= MAX_POOLS) return;
      index = this.pools.push(pool) - 1;
    }
    this.changeOpen(index, 1);
    socket.once('close', () => this.changeOpen(index, -1));
  }

  private changeOpen(index: number, by: number): void {
    this.open[index]! += by;
    this.connections.set(Math.floor(Date.now() / 1000), index, this.open[index]!);
  }

  summary(now = Date.now()): TrafficSummary {
    const second = Math.floor(now / 1000);
    const latency = [...this.latency].map(([resource, window]) => latencyRow(resource, window));
    latency.sort((a, b) => b.p99 - a.p99);
    return {
      second,
      perSecond: this.finished.series(second),
      latency,
      pools: [...this.pools],
      connections: Array.from(this.open.subarray(0, this.pools.length)),
      connectionsPerSecond: this.connections.series(second).map((values) => values.slice(0, this.pools.length)),
    };
  }
}
