// The watch-rate cell: N watches held open through a target while the upstream writes one event a
// second to each of them, spread evenly over the second, for S seconds. Each event carries the
// upstream's clock at the moment it was written; its latency is its arrival here minus that
// (same machine, same clock). The caller reads the proxy's CPU and RSS while the events flow.
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { WATCH_EVENTS_PATH, WATCH_EVENTS_PER_SECOND, WATCH_SENT_ANNOTATION } from './cells.js';
import type { ProbeTarget } from './probe.js';
import { openWatches, trigger, until } from './watch-clients.js';

/** Time past the last event's due time for it to arrive; an event later than that counts as lost. */
const ARRIVAL_GRACE_MS = 5000;
const SENT_STAMP = new RegExp(`"${WATCH_SENT_ANNOTATION.replace(/[.]/g, '\\.')}":"(\\d+)"`);

export interface RateResult {
  readonly opened: number;
  /** Watches the upstream held when the events started: more than `opened` if an earlier target's were still closing. */
  readonly upstreamWatchers: number;
  /** Events due on the bench's watches, and those that arrived in time. */
  readonly expected: number;
  readonly received: number;
  /** Per event that arrived, from its write upstream to its arrival here; ascending. */
  readonly latencyMs: readonly number[];
  /** Seconds from the trigger being sent to the last event's arrival (or to the give-up). */
  readonly periodS: number;
}

/** Called around the event period: where the caller reads the proxy's CPU and RSS. */
export interface PeriodHooks {
  readonly started: () => void;
  /** Halfway through the period, with events flowing. */
  readonly midway: () => void;
  readonly ended: () => void;
}

/** Milliseconds since the epoch, below a millisecond: the upstream stamps its events from the same clock. */
function nowUnixMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Reads one watch's lines and adds the latency of each stamped event to `latencyMs`. */
function stampReader(latencyMs: number[]): (text: string) => void {
  let partial = '';
  return (chunk) => {
    const arrivedAt = nowUnixMs();
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const sentUs = SENT_STAMP.exec(line)?.[1];
      if (sentUs !== undefined) latencyMs.push(arrivedAt - Number(sentUs) / 1000);
    }
  };
}

/**
 * Opens `count` watches through `target`, has `upstream` write WATCH_EVENTS_PER_SECOND events a
 * second to each for `seconds`, reads every event, and closes the watches.
 */
export async function runWatchRate(target: ProbeTarget, upstream: ProbeTarget, count: number, seconds: number, hooks: PeriodHooks, timeoutMs = 60_000): Promise<RateResult> {
  const latencyMs: number[] = [];
  const watches = await openWatches(target, count, timeoutMs, () => stampReader(latencyMs));
  try {
    // The upstream sends int(rate × seconds) events to each watch, as here.
    const expected = watches.length * Math.trunc(WATCH_EVENTS_PER_SECOND * seconds);
    const startedAt = performance.now();
    hooks.started();
    const answer = await trigger(upstream, `${WATCH_EVENTS_PATH}?per-second=${WATCH_EVENTS_PER_SECOND}&seconds=${seconds}`, timeoutMs);
    const upstreamWatchers = (JSON.parse(answer) as { watchers: number }).watchers;
    await delay(seconds * 500);
    hooks.midway();
    await until(() => latencyMs.length >= expected, seconds * 500 + ARRIVAL_GRACE_MS);
    const periodS = (performance.now() - startedAt) / 1000;
    hooks.ended();
    return { opened: watches.length, upstreamWatchers, expected, received: latencyMs.length, latencyMs: latencyMs.sort((a, b) => a - b), periodS };
  } finally {
    for (const watch of watches) watch.destroy();
  }
}
