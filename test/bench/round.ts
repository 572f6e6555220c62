// One round of the bench: every cell against every target, interleaved (the order rotates so
// no target always runs first), with the proxy's CPU and peak RSS read around each wrk run.
import type { UpstreamKind } from './options.js';
import { cellPath, CELLS, PEAK_CELL, TARGET_LABELS, type Cell, type CellId, type Target, type TargetName } from './cells.js';
import { probe } from './probe.js';
import { cpuSeconds, memory, resetPeak } from './proc-stats.js';
import { runUpgradeStream } from './upgrade-stream.js';
import { percentile } from './watch-clients.js';
import { runWatchFanout } from './watch-fanout.js';
import { runWatchRate } from './watch-rate.js';
import { runWrk, type WrkResult } from './wrk.js';

const MIB = 1024 * 1024;
/** Lets the sockets of one cell close, and aborted requests unwind, before the next starts. */
const SETTLE_MS = 250;
/** Seconds allowed per MiB of an upgraded stream, beyond a fixed 30 s: 4 MiB/s would be far below any target. */
const STREAM_S_PER_MIB = 0.25;

/** One target through one cell in one round. */
export interface CellRun {
  round: number;
  cell: CellId;
  target: TargetName;
  requests: number;
  durationS: number;
  reqPerS: number;
  mibPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Proxy CPU seconds during the cell, per request (µs) and in cores; absent for direct. */
  cpuS?: number;
  cpuPerReqUs?: number;
  cores?: number;
  /** The watch cells: VmRSS with every watch open (watch-rate: halfway through the events), and the slowest GET /version meanwhile. */
  rssMiB?: number;
  versionMaxMs?: number;
  /** The watch-rate cell: proxy CPU in cores while the events flowed (`cores` covers the whole cell, opening included). */
  eventCores?: number;
  /** VmHWM after the cell: the cell's own peak if `peakReset`, else the peak since start. */
  peakRssMiB?: number;
  peakReset?: boolean;
  /** Anything that makes the cell an error: zero requests, failed requests, a proxy that stopped serving. */
  problems: string[];
}

export interface RoundContext {
  wrk: string;
  script: string;
  durationS: number;
  /** Bytes per upgraded stream; undefined when the upstream does not serve the bench's stream (cell skipped). */
  upgradeBytes: number | undefined;
  /** Watches held open at once in the watch cells; 0 skips them. */
  watches: number;
  /** Seconds of one event per second on every watch in the watch-rate cell; 0 skips it. */
  watchSeconds: number;
  targets: readonly Target[];
  upstream: UpstreamKind;
  /** Only these cells (--cells); undefined: all. */
  cells: readonly CellId[] | undefined;
  /** Progress lines go here (stderr), never to stdout. */
  log: (line: string) => void;
}

const SOCKET_ERRORS = ['connect', 'read', 'write', 'timeout'] as const;

function wrkProblems(result: WrkResult): string[] {
  const problems: string[] = [];
  if (result.requests === 0) problems.push('served 0 requests');
  const socket = SOCKET_ERRORS.filter((kind) => result[kind] > 0).map((kind) => `${kind} ${result[kind]}`);
  if (socket.length > 0) problems.push(`socket errors: ${socket.join(', ')}`);
  if (result.status > 0) problems.push(`${result.status} responses were not 2xx/3xx`);
  return problems;
}

function fromWrk(round: number, cell: Cell, target: Target, result: WrkResult): CellRun {
  const durationS = result.durationUs / 1e6;
  return {
    round,
    cell: cell.id,
    target: target.name,
    requests: result.requests,
    durationS,
    reqPerS: result.requests / durationS,
    mibPerS: result.bytes / MIB / durationS,
    p50Ms: result.p50Us / 1000,
    p99Ms: result.p99Us / 1000,
    problems: wrkProblems(result),
  };
}

/** Adds the proxy's CPU use and, for the peak cell, its VmHWM; a vanished process is a problem. */
function addProxyUsage(run: CellRun, pid: number, cpuBefore: number, peakReset: boolean): void {
  try {
    run.cpuS = cpuSeconds(pid) - cpuBefore;
    run.cores = run.cpuS / run.durationS;
    if (run.requests > 0) run.cpuPerReqUs = (run.cpuS / run.requests) * 1e6;
    if (run.cell === PEAK_CELL) Object.assign(run, { peakRssMiB: memory(pid).peakMiB, peakReset });
  } catch (err) {
    run.problems.push(`could not read /proc/${pid}: ${(err as Error).message}`);
  }
}

/** A proxy that died or stopped answering after the cell is the failure the pre-study warned of. */
async function afterCellProblems(target: Target): Promise<string[]> {
  const exited = target.exitReason?.();
  if (exited !== undefined) return [`process ${exited}`];
  const failure = await probe(target, '/version', 5000);
  return failure === undefined ? [] : [`not serving after the cell: ${failure}`];
}

async function wrkCell(ctx: RoundContext, round: number, cell: Cell, target: Target): Promise<CellRun> {
  try {
    const result = await runWrk(ctx.wrk, ctx.script, { url: target.url + cellPath(cell, ctx.upstream), connections: cell.connections, durationS: ctx.durationS, headers: target.headers });
    return fromWrk(round, cell, target, result);
  } catch (err) {
    const zero: WrkResult = { durationUs: ctx.durationS * 1e6, requests: 0, bytes: 0, connect: 0, read: 0, write: 0, status: 0, timeout: 0, p50Us: NaN, p99Us: NaN };
    const run = fromWrk(round, cell, target, zero);
    run.problems.push((err as Error).message);
    return run;
  }
}

/** One stream of `bytes` counts as one request; it has no latency distribution to report. */
async function streamCell(round: number, cell: Cell, target: Target, bytes: number): Promise<CellRun> {
  const base = { round, cell: cell.id, target: target.name, p50Ms: NaN, p99Ms: NaN };
  try {
    const { durationS } = await runUpgradeStream(target, bytes, 30_000 + (bytes / MIB) * STREAM_S_PER_MIB * 1000);
    return { ...base, requests: 1, durationS, reqPerS: 1 / durationS, mibPerS: bytes / MIB / durationS, problems: [] };
  } catch (err) {
    return { ...base, requests: 0, durationS: NaN, reqPerS: 0, mibPerS: NaN, problems: [(err as Error).message] };
  }
}

/**
 * `ctx.watches` watches at once, one event from the upstream (the direct target is the upstream):
 * its latency per watch, the proxy's RSS with them all open, GET /version meanwhile.
 */
async function watchCell(ctx: RoundContext, round: number, cell: Cell, target: Target): Promise<CellRun> {
  const base = { round, cell: cell.id, target: target.name, reqPerS: NaN, mibPerS: NaN };
  const upstream = ctx.targets.find((candidate) => candidate.name === 'direct')!;
  let rssMiB: number | undefined;
  const readRss = () => (rssMiB = target.pid === undefined ? undefined : memory(target.pid).rssMiB);
  try {
    const result = await runWatchFanout(target, upstream, ctx.watches, readRss);
    const missed = result.opened - result.received;
    return {
      ...base,
      requests: result.received,
      durationS: result.openS,
      p50Ms: percentile(result.latencyMs, 0.5),
      p99Ms: percentile(result.latencyMs, 0.99),
      ...(rssMiB === undefined ? {} : { rssMiB }),
      versionMaxMs: result.versionMs.at(-1)!,
      problems: missed === 0 ? [] : [`${missed} of ${result.opened} watches never saw the event`],
    };
  } catch (err) {
    return { ...base, requests: 0, durationS: NaN, p50Ms: NaN, p99Ms: NaN, problems: [(err as Error).message] };
  }
}

/**
 * `ctx.watches` watches at once, each sent one event a second by the upstream for `ctx.watchSeconds`:
 * per-event latency, every event accounted for, and the proxy's RSS and CPU while they flow.
 */
async function watchRateCell(ctx: RoundContext, round: number, cell: Cell, target: Target): Promise<CellRun> {
  const base = { round, cell: cell.id, target: target.name, reqPerS: NaN, mibPerS: NaN };
  const upstream = ctx.targets.find((candidate) => candidate.name === 'direct')!;
  const usage: { cpuBefore?: number; cpuS?: number; rssMiB?: number } = {};
  const problems: string[] = [];
  // Called from timers: a proxy gone from /proc is a problem of the cell, never an uncaught throw.
  const read = (what: () => void) => () => {
    try {
      if (target.pid !== undefined) what();
    } catch (err) {
      problems.push(`could not read /proc/${target.pid}: ${(err as Error).message}`);
    }
  };
  const hooks = {
    started: read(() => (usage.cpuBefore = cpuSeconds(target.pid!))),
    midway: read(() => (usage.rssMiB = memory(target.pid!).rssMiB)),
    ended: read(() => (usage.cpuS = cpuSeconds(target.pid!) - usage.cpuBefore!)),
  };
  try {
    const result = await runWatchRate(target, upstream, ctx.watches, ctx.watchSeconds, hooks);
    const lost = result.expected - result.received;
    if (lost > 0) problems.push(`${lost} of ${result.expected} events never arrived (${result.opened} watches × ${result.expected / result.opened})`);
    if (result.upstreamWatchers < result.opened) problems.push(`the upstream held ${result.upstreamWatchers} watches for ${result.opened} open`);
    return {
      ...base,
      requests: result.received,
      durationS: result.periodS,
      p50Ms: percentile(result.latencyMs, 0.5),
      p99Ms: percentile(result.latencyMs, 0.99),
      ...(usage.rssMiB === undefined ? {} : { rssMiB: usage.rssMiB }),
      ...(usage.cpuS === undefined ? {} : { eventCores: usage.cpuS / result.periodS }),
      problems,
    };
  } catch (err) {
    return { ...base, requests: 0, durationS: NaN, p50Ms: NaN, p99Ms: NaN, problems: [...problems, (err as Error).message] };
  }
}

function runCell(ctx: RoundContext, round: number, cell: Cell, target: Target): Promise<CellRun> {
  if (cell.kind === 'upgrade') return streamCell(round, cell, target, ctx.upgradeBytes!);
  if (cell.kind === 'watches') return watchCell(ctx, round, cell, target);
  if (cell.kind === 'watch-rate') return watchRateCell(ctx, round, cell, target);
  return wrkCell(ctx, round, cell, target);
}

async function measureCell(ctx: RoundContext, round: number, cell: Cell, target: Target): Promise<CellRun> {
  const pid = target.pid;
  // The peak of the 20 MB cell itself, not of the run so far (documented in the report).
  const peakReset = pid !== undefined && cell.id === PEAK_CELL && resetPeak(pid);
  const cpuBefore = pid === undefined ? 0 : cpuSeconds(pid);
  const run = await runCell(ctx, round, cell, target);
  if (pid !== undefined) addProxyUsage(run, pid, cpuBefore, peakReset);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  run.problems.push(...(await afterCellProblems(target)));
  return run;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function mainFigure(run: CellRun): string {
  if (run.cell === 'small-c1') return `p50 ${run.p50Ms.toFixed(3)} ms`;
  if (run.cell === 'small-c64') return `${run.reqPerS.toFixed(0)} req/s`;
  if (run.cell === 'watches') {
    const rss = run.rssMiB === undefined ? '' : `, RSS ${run.rssMiB.toFixed(1)} MiB`;
    return `${run.requests} saw the event: p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms${rss}, GET /version ≤ ${run.versionMaxMs?.toFixed(1)} ms`;
  }
  if (run.cell === 'watch-rate') {
    const rss = run.rssMiB === undefined ? '' : `, RSS ${run.rssMiB.toFixed(1)} MiB`;
    const cpu = run.eventCores === undefined ? '' : `, ${run.eventCores.toFixed(2)} cores while they flowed`;
    return `${run.requests} events in ${run.durationS.toFixed(1)} s: p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms${rss}${cpu}`;
  }
  return `${run.mibPerS.toFixed(1)} MiB/s`;
}

function describe(run: CellRun): string {
  const main = mainFigure(run);
  const cpu = run.cores === undefined ? '' : `, proxy ${run.cores.toFixed(2)} cores`;
  return `${main}${cpu}${run.problems.length > 0 ? `  PROBLEM: ${run.problems.join('; ')}` : ''}`;
}

/** Runs round `round` (0-based) and returns one {@link CellRun} per cell and target. */
export async function runRound(ctx: RoundContext, round: number): Promise<CellRun[]> {
  const runs: CellRun[] = [];
  for (const [index, cell] of CELLS.entries()) {
    if (cell.kind === 'upgrade' && ctx.upgradeBytes === undefined) continue;
    if (cell.kind === 'watches' && ctx.watches === 0) continue;
    if (cell.kind === 'watch-rate' && (ctx.watches === 0 || ctx.watchSeconds === 0)) continue;
    if (ctx.cells !== undefined && !ctx.cells.includes(cell.id)) continue;
    for (const target of rotate(ctx.targets, round + index)) {
      const run = await measureCell(ctx, round, cell, target);
      ctx.log(`round ${round + 1}  ${cell.label.padEnd(26)} ${TARGET_LABELS[target.name].padEnd(28)} ${describe(run)}`);
      runs.push(run);
    }
  }
  return runs;
}
