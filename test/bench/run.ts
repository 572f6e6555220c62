// `npm run bench`: the same requests direct, through kubectl proxy and through kube-auth-proxy,
// interleaved in one run; prints a markdown table and writes .cache/bench-last-run.json.
// Exit 1 only when a cell served nothing or errored (a missed floor is reported, not an error),
// 2 when the bench could not run at all.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../examples/demo-files.js';
import { cellPath, CELLS, TARGET_LABELS, UPGRADE_PATH, WATCH_EVENTS_PER_SECOND } from './cells.js';
import { kubectlVersion, machine } from './environment.js';
import type { BenchResult } from './metrics.js';
import { parseBenchOptions, streamsServed, type BenchOptions, type UpstreamKind } from './options.js';
import { runScript, type BenchChild } from './processes.js';
import { renderReport, type RunInfo } from './report.js';
import { runRound, type CellRun, type RoundContext } from './round.js';
import { readRss, startSession } from './session.js';
import { summarise, type Row } from './summary.js';
import { runUpgradeStream } from './upgrade-stream.js';
import { BenchSetupError } from './debian-tools.js';
import { ensureWrk, runWrk, writeDoneScript, wrkVersion } from './wrk.js';

const log = (line: string) => console.error(line);
/** Time for the last cell's garbage to be collected before the after-run RSS is read. */
const AFTER_RUN_SETTLE_MS = 2000;
/**
 * And before it is read once more: V8 gives back its young generation and empty pages only when
 * its memory reducer runs, some 10–20 s after the allocations stop (Go's scavenger has a pace of
 * its own), so a reading this long after is what an idle proxy holds.
 */
const SETTLED_AFTER_MS = 30_000;
/**
 * One unmeasured second of c=64 and one unmeasured upgraded stream per target, so the first
 * measured cell does not pay for JIT warm-up: a cold first stream ran at under half the speed of
 * the next ones. After idle RSS is read, so that figure stays an idle one.
 */
const WARM_UP_LOAD_S = 1;
const MIB = 1024 * 1024;

async function measure(ctx: RoundContext, rounds: number, idle: BenchResult['idleRssMiB']): Promise<BenchResult> {
  for (const target of ctx.targets) {
    await runWrk(ctx.wrk, ctx.script, { url: target.url + cellPath(CELLS[1]!, ctx.upstream), connections: 64, durationS: WARM_UP_LOAD_S, headers: target.headers }).catch(() => undefined);
    if (ctx.upgradeBytes !== undefined) await runUpgradeStream(target, ctx.upgradeBytes, 120_000).catch(() => undefined);
  }
  const runs: CellRun[] = [];
  for (let round = 0; round < rounds; round++) runs.push(...(await runRound(ctx, round)));
  await new Promise((resolve) => setTimeout(resolve, AFTER_RUN_SETTLE_MS));
  const afterRunRssMiB = readRss(ctx.targets);
  log(`waiting ${(SETTLED_AFTER_MS - AFTER_RUN_SETTLE_MS) / 1000} s more for the settled RSS`);
  await new Promise((resolve) => setTimeout(resolve, SETTLED_AFTER_MS - AFTER_RUN_SETTLE_MS));
  return { rounds, runs, idleRssMiB: idle, afterRunRssMiB, settledRssMiB: readRss(ctx.targets) };
}

function problemsOf(runs: readonly CellRun[]): string[] {
  const label = (run: CellRun) => `round ${run.round + 1}, ${CELLS.find((cell) => cell.id === run.cell)!.label}, ${TARGET_LABELS[run.target]}`;
  return runs.flatMap((run) => run.problems.map((problem) => `${label(run)}: ${problem}`));
}

/** Whatever the children logged is worth a look: at -v 0 a healthy proxy writes nothing. */
function stderrNotes(children: readonly BenchChild[]): string[] {
  return children.flatMap((child) => {
    const { last, count } = child.stderr();
    return count === 0 ? [] : [`${child.name} wrote ${count} line(s) to stderr; last: ${last.slice(-3).join(' | ').slice(0, 600)}`];
  });
}

/** The upgraded-stream row measures one direction of a fixed size: the report says which. */
function streamNotes(upstream: UpstreamKind, upgradeBytes: number | undefined): string[] {
  if (!streamsServed(upstream)) {
    return [`Upgraded stream and watches not measured (their rows show no data): the \`${upstream}\` upstream serves neither the port-forward upgrade nor watches and their event triggers; the Go (default) and h2 upstreams do.`];
  }
  if (upgradeBytes === undefined) return [];
  return [
    `Upgraded stream: one connection per target and round, \`GET ${UPGRADE_PATH}\` answered with 101 SPDY/3.1, then ` +
      `${(upgradeBytes / MIB).toFixed(0)} MiB client → upstream; timed from the 101 to the upstream's ack after the last byte. ` +
      'Direct here is a TLS socket from the bench process itself (with the bearer token), so it pays the TLS encryption a proxy pays otherwise.',
  ];
}

/** How the watch-rate rows were made: the rate, the period, and where latency starts. */
function watchRateNotes(ctx: RoundContext): string[] {
  if (ctx.watches === 0 || ctx.watchSeconds === 0 || (ctx.cells !== undefined && !ctx.cells.includes('watch-rate'))) return [];
  return [
    `Watches at 1 event/s: ${ctx.watches} watches per target and round, the upstream writing ${WATCH_EVENTS_PER_SECOND} event a second to each ` +
      `for ${ctx.watchSeconds} s, spread evenly over each second. Latency per event runs from the upstream's write (a stamp in the event) to its arrival ` +
      'in the bench process; RSS is read halfway through, CPU over the period from the trigger to the last event.',
  ];
}

function writeJson(info: RunInfo, options: BenchOptions, rows: readonly Row[], result: BenchResult, problems: string[], notes: string[]): string {
  const dir = join(projectRoot(), '.cache');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'bench-last-run.json');
  const table = rows.map(({ metric, ...row }) => ({ label: metric.label, unit: metric.unit, floor: metric.floor, ...row }));
  writeFileSync(path, JSON.stringify({ info, options, table, ...result, problems, notes }, null, 2) + '\n');
  return path;
}

function runInfo(options: BenchOptions, wrk: string, started: { at: Date; machine: string }, runs: readonly CellRun[]): RunInfo {
  return {
    startedAt: started.at.toISOString().replace(/\.\d+Z$/, 'Z'),
    elapsedS: (Date.now() - started.at.getTime()) / 1000,
    rounds: options.rounds,
    durationS: options.durationS,
    proxyCommand: ['node', ...options.nodeFlags, 'dist/src/cli/main.js', ...options.proxyFlags].join(' '),
    upstream: options.upstream,
    machine: started.machine,
    versions: { node: process.version, kubectl: kubectlVersion(), wrk: wrkVersion(wrk) },
    peakReset: runs.every((run) => run.peakReset !== false),
  };
}

async function main(): Promise<number> {
  const options = parseBenchOptions(process.argv.slice(2));
  const wrk = ensureWrk();
  // The load average is taken before the bench adds its own.
  const started = { at: new Date(), machine: machine() };
  const dir = mkdtempSync(join(tmpdir(), 'kube-auth-proxy-bench-'));
  const children: BenchChild[] = [];
  try {
    const session = await startSession(dir, options, children, log);
    const served = streamsServed(options.upstream);
    const upgradeBytes = served ? Math.round(options.upgradeMiB * MIB) : undefined;
    const watches = served ? options.watches : 0;
    const ctx: RoundContext = {
      ...{ wrk, script: writeDoneScript(dir), durationS: options.durationS, upgradeBytes, watches, watchSeconds: options.watchSeconds },
      ...{ targets: session.targets, upstream: options.upstream, cells: options.cells, log },
    };
    const result = await measure(ctx, options.rounds, session.idleRssMiB);
    const notes = [...streamNotes(options.upstream, upgradeBytes), ...watchRateNotes(ctx), ...stderrNotes(children)];
    const problems = problemsOf(result.runs);
    const rows = summarise(result);
    const info = runInfo(options, wrk, started, result.runs);
    process.stdout.write(renderReport(info, rows, problems, notes));
    log(`wrote ${writeJson(info, options, rows, result, problems, notes)}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

runScript('bench', main, (err) => err instanceof BenchSetupError);
