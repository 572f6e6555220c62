// Phase soak: a long run of small GETs at a fixed concurrency, the proxy's RSS and descriptor count
// sampled 200 times along it. RSS drift is the median of the last tenth's samples minus the median
// of the samples just after the warm-up (the first tenth); descriptor growth compares their maxima.
import { memory } from '../bench/proc-stats.js';
import { percentile } from '../bench/watch-fanout.js';
import { fdBreakdown, fdCount, settleFds, type FdBreakdown, type Settled } from './gauges.js';
import type { SoakOptions } from './options.js';
import { runRequests } from './request-load.js';
import { UPSTREAM_POOL, type SoakSession } from './session.js';

/** Goals of issue 14. */
export const RSS_DRIFT_GOAL_MIB = 10;
/** Below this many requests a drift says nothing (heap growth from the first seconds dominates): reported, not judged. */
export const MIN_REQUESTS_FOR_DRIFT = 100_000;
const SAMPLES = 200;

export interface Sample {
  readonly done: number;
  readonly atS: number;
  readonly rssMiB: number;
  readonly fds: number;
}

export interface SoakResult {
  readonly requests: number;
  readonly concurrency: number;
  readonly path: string;
  readonly done: number;
  readonly errors: number;
  readonly elapsedS: number;
  readonly perSecond: number;
  readonly latencyMs: { p50: number; p99: number; max: number };
  readonly rssBeforeMiB: number;
  readonly rssAfterWarmUpMiB: number;
  readonly rssAtEndMiB: number;
  readonly rssDriftMiB: number;
  readonly driftJudged: boolean;
  readonly rssAfterMiB: number;
  readonly fdsAfterWarmUp: number;
  readonly fdsAtEnd: number;
  readonly fdGrowth: number;
  readonly before: FdBreakdown;
  readonly settle: Settled;
  readonly samples: readonly Sample[];
  readonly problems: string[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2;
}

/** Samples after the first tenth and up to the second, and in the last tenth. */
function windows(samples: readonly Sample[], total: number): { warm: Sample[]; end: Sample[] } {
  return { warm: samples.filter((s) => s.done > total * 0.1 && s.done <= total * 0.2), end: samples.filter((s) => s.done > total * 0.9) };
}

function problemsOf(result: Omit<SoakResult, 'problems'>, firstErrors: readonly string[]): string[] {
  const problems: string[] = [];
  if (result.errors > 0 || result.done < result.requests) problems.push(`${result.done} of ${result.requests} answered, ${result.errors} failed: ${firstErrors.join(' | ')}`);
  if (result.driftJudged && !(result.rssDriftMiB < RSS_DRIFT_GOAL_MIB)) {
    problems.push(`RSS drift ${result.rssDriftMiB.toFixed(1)} MiB (${result.rssAfterWarmUpMiB.toFixed(1)} → ${result.rssAtEndMiB.toFixed(1)} MiB), goal < ${RSS_DRIFT_GOAL_MIB} MiB`);
  }
  if (!(result.fdGrowth <= 0)) problems.push(`descriptors grew by ${result.fdGrowth} (${result.fdsAfterWarmUp} after warm-up → ${result.fdsAtEnd} at the end), goal none`);
  if (!result.settle.settled) problems.push(`descriptors not back after the run within ${result.settle.waitedMs} ms: ${JSON.stringify(result.settle.after)} (before ${JSON.stringify(result.before)})`);
  return problems;
}

export async function runSoakPhase(session: SoakSession, options: SoakOptions, log: (line: string) => void): Promise<SoakResult> {
  const { pid } = session.ports;
  const before = fdBreakdown(session.ports);
  const rssBeforeMiB = memory(pid).rssMiB;
  const samples: Sample[] = [];
  const startedAt = Date.now();
  const every = Math.max(1, Math.floor(options.requests / SAMPLES));
  const onProgress = (done: number) => {
    samples.push({ done, atS: (Date.now() - startedAt) / 1000, rssMiB: memory(pid).rssMiB, fds: fdCount(pid) });
    if (done % (every * 20) === 0) log(`  soak: ${done.toLocaleString('en-US')} requests, RSS ${samples.at(-1)!.rssMiB.toFixed(1)} MiB, ${samples.at(-1)!.fds} fds`);
  };
  const load = await runRequests({ url: session.proxyUrl, path: options.path, total: options.requests, concurrency: options.concurrency, onProgress, every });
  const settle = await settleFds(session.ports, before, UPSTREAM_POOL, 15_000);
  const { warm, end } = windows(samples, options.requests);
  const rssAfterWarmUpMiB = median(warm.map((s) => s.rssMiB));
  const rssAtEndMiB = median(end.map((s) => s.rssMiB));
  const fdsAfterWarmUp = Math.max(...warm.map((s) => s.fds));
  const fdsAtEnd = Math.max(...end.map((s) => s.fds));
  const result = {
    ...{ requests: options.requests, concurrency: options.concurrency, path: options.path, done: load.done, errors: load.errors, elapsedS: load.elapsedS },
    perSecond: load.done / load.elapsedS,
    latencyMs: { p50: percentile(load.latencyMs, 0.5), p99: percentile(load.latencyMs, 0.99), max: load.latencyMs.at(-1) ?? NaN },
    ...{ rssBeforeMiB, rssAfterWarmUpMiB, rssAtEndMiB, rssDriftMiB: rssAtEndMiB - rssAfterWarmUpMiB, driftJudged: options.requests >= MIN_REQUESTS_FOR_DRIFT },
    ...{ rssAfterMiB: memory(pid).rssMiB, fdsAfterWarmUp, fdsAtEnd, fdGrowth: fdsAtEnd - fdsAfterWarmUp, before, settle, samples },
  };
  return { ...result, problems: problemsOf(result, load.firstErrors) };
}
