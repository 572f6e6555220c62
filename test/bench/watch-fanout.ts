// The watch cell: N watches held open at once through a target, one event written upstream, and
// how long each watch took to see it; with them all open, the proxy's RSS and how fast it still
// answers GET /version (a proxy whose pool the watches filled would not answer at all).
import { performance } from 'node:perf_hooks';
import { WATCH_EVENT_PATH } from './cells.js';
import { probe, type ProbeTarget } from './probe.js';
import { openWatches, trigger, until } from './watch-clients.js';

/** Re-exported for test/soak, which takes it from here. */
export { percentile } from './watch-clients.js';

/** GET /version requests timed one after another while the watches are open. */
const VERSION_PROBES = 20;

export interface FanoutResult {
  readonly opened: number;
  /** Seconds from the first watch requested to the last one open. */
  readonly openS: number;
  /** Watches that saw the event. */
  readonly received: number;
  /** Per watch that saw it, from the trigger's send to the event's arrival; ascending. */
  readonly latencyMs: readonly number[];
  /** GET /version through the target while the watches are open; ascending. */
  readonly versionMs: readonly number[];
}

/** Reads one watch's text and notes when `marker` first arrives; it may straddle two chunks. */
function markerReader(marker: string, receivedAt: (number | undefined)[], index: number): (text: string) => void {
  let tail = '';
  return (chunk) => {
    const text = tail + chunk;
    if (receivedAt[index] === undefined && text.includes(marker)) receivedAt[index] = performance.now();
    tail = text.slice(-marker.length);
  };
}

async function timedVersions(target: ProbeTarget): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < VERSION_PROBES; i++) {
    const started = performance.now();
    const failure = await probe(target, '/version', 5_000);
    if (failure !== undefined) throw new Error(`while the watches were open: ${failure}`);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

/**
 * Opens `count` watches through `target`, reads `whileOpen()` (the proxy's RSS), times
 * GET /version, has `upstream` write one event, waits for it on every watch, and closes them all.
 */
export async function runWatchFanout(target: ProbeTarget, upstream: ProbeTarget, count: number, whileOpen: () => void, timeoutMs = 60_000): Promise<FanoutResult> {
  const marker = `bench-event-${Math.random().toString(36).slice(2)}`;
  const receivedAt: (number | undefined)[] = new Array<number | undefined>(count).fill(undefined);
  const openedAt = performance.now();
  const watches = await openWatches(target, count, timeoutMs, (index) => markerReader(marker, receivedAt, index));
  try {
    const openS = (performance.now() - openedAt) / 1000;
    whileOpen();
    const versionMs = await timedVersions(target);
    const sentAt = performance.now();
    await trigger(upstream, `${WATCH_EVENT_PATH}?name=${marker}`, timeoutMs);
    await until(() => receivedAt.every((at) => at !== undefined), timeoutMs);
    const latencyMs = receivedAt.flatMap((at) => (at === undefined ? [] : [at - sentAt])).sort((a, b) => a - b);
    return { opened: watches.length, openS, received: latencyMs.length, latencyMs, versionMs };
  } finally {
    for (const watch of watches) watch.destroy();
  }
}
