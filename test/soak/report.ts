// Renders a soak run as plain text for the terminal: how it was run, then per phase its figures
// and verdict, and every problem seen.
import type { ExecResult } from './exec-sessions.js';
import type { FdBreakdown } from './gauges.js';
import type { IdleResult } from './idle-connections.js';
import type { Phase } from './options.js';
import { RSS_DRIFT_GOAL_MIB, type SoakResult } from './soak-phase.js';
import type { WatchResult } from './watch-events.js';

export interface RunInfo {
  readonly startedAt: string;
  readonly elapsedS: number;
  readonly machine: string;
  readonly node: string;
  readonly proxyCommand: string;
  readonly openFiles: { readonly soak: string; readonly proxy: string };
  readonly warmUp: string;
  /** Seconds each phase took. */
  readonly phaseS: Partial<Record<Phase, number>>;
}

export interface PhaseResults {
  idle?: IdleResult;
  watches?: WatchResult;
  exec?: ExecResult;
  soak?: SoakResult;
}

const n = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (value: number) => `${n(value, 1)} MiB`;
const ms = (value: number) => `${n(value, value < 10 ? 2 : 1)} ms`;
const fds = (b: FdBreakdown) => `${n(b.fds)} fds (client ${n(b.client)}, upstream ${n(b.upstream)}, other ${n(b.other)})`;
const back = (settle: { settled: boolean; waitedMs: number; after: FdBreakdown }) => `${fds(settle.after)}, ${settle.settled ? `back to baseline after ${n(settle.waitedMs)} ms` : 'NOT back to baseline'}`;
const verdict = (problems: readonly string[]) => (problems.length === 0 ? '  PASS' : problems.map((problem) => `  FAIL: ${problem}`).join('\n'));

function idleLines(r: IdleResult): string[] {
  const perConnKiB = ((r.rssWithOpenMiB - r.rssBeforeMiB) * 1024) / Math.max(1, r.openAtMeasurement);
  const fresh = [...r.freshMs].sort((a, b) => a - b);
  const closed = r.closedByProxy > 0 ? `, closed by the proxy first ${n(r.closedByProxy)} (median ${n(r.proxyIdleCloseS, 1)} s after their answer)` : '';
  return [
    `idle: ${n(r.requested)} connections held open at once`,
    `  bare (nothing sent): opened in ${n(r.openS, 1)} s; open when measured ${n(r.openAtMeasurement)}, after the fresh GETs ${n(r.openAfterFresh)}`,
    `  proxy RSS ${mib(r.rssBeforeMiB)} → ${mib(r.rssWithOpenMiB)} with them open (${n(perConnKiB, 1)} KiB per connection)`,
    `  descriptors ${fds(r.before)} → ${fds(r.withOpen)}`,
    `  GET /version on a fresh connection meanwhile: ${fresh.map(ms).join(', ')}`,
    `  after the client closed them: ${back(r.settleBare)}`,
    `  keep-alive (one GET /version each, then idle): ${n(r.answered)} answered 200 in ${n(r.requestsS, 1)} s; still open at the last answer ${n(r.openAfterRequests)}`,
    `  proxy RSS ${mib(r.rssWithUsedMiB)}, descriptors ${fds(r.withUsed)}; held ${n(r.holdMs)} ms more${closed}`,
    `  after the client closed them: ${back(r.settle)}; RSS ${mib(r.rssAfterMiB)}; socket errors ${r.clientErrors}`,
  ];
}

function watchLines(r: WatchResult): string[] {
  return [
    `watches: ${n(r.watches)} watches, ${n(r.events)} events at one per ${r.eventIntervalMs} ms (pod created on the API server)`,
    `  opened in ${n(r.openS, 1)} s; kube_auth_proxy_open_streams ${n(r.openStreamsGauge)}; emitter's last POST ${ms(r.emitLagMs)} behind schedule`,
    `  proxy RSS ${mib(r.rssBeforeMiB)} → ${mib(r.rssWithOpenMiB)} with them open, peak ${mib(r.peakRssMiB)} while events flowed`,
    `  descriptors ${fds(r.before)} → ${fds(r.withOpen)}`,
    `  events delivered ${n(r.delivered)} of ${n(r.watches * r.events)}, out of order or twice ${r.outOfOrder}`,
    `  event latency (POST sent → line received): p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, max ${ms(r.latencyMs.max)}`,
    `  new API-server connections opened after the watches closed: ${n(r.reconnects)}` + (r.reconnects > 0 ? ' (opened and never used: undici reconnects for each aborted HTTP/1.1 request, nodejs/undici#5845)' : ''),
    `  after the watches closed: ${back(r.settle)}; open_streams ${r.openStreamsAfter}`,
  ];
}

function execLines(r: ExecResult): string[] {
  return [
    `exec: ${n(r.sessions)} concurrent exec sessions (WebSocket v5.channel.k8s.io, cat), ${n(r.bytesEach / 1024)} KiB echoed each`,
    `  opened in ${n(r.openS, 1)} s; kube_auth_proxy_open_upgrades ${n(r.openUpgradesGauge)}; proxy RSS ${mib(r.rssBeforeMiB)} → ${mib(r.rssWithOpenMiB)} with them open`,
    `  descriptors ${fds(r.before)} → ${fds(r.withOpen)}`,
    `  byte-exact with Success status and a normal close: ${n(r.exact)} of ${n(r.sessions)}; all echoed in ${n(r.echoS, 2)} s (session p50 ${ms(r.sessionMs.p50)}, max ${ms(r.sessionMs.max)})`,
    `  new API-server connections opened after the sessions ended: ${n(r.reconnects)}`,
    `  after the sessions ended: ${back(r.settle)}; open_upgrades ${r.openUpgradesAfter}`,
  ];
}

function soakLines(r: SoakResult): string[] {
  const drift = `${r.rssDriftMiB >= 0 ? '+' : ''}${n(r.rssDriftMiB, 1)} MiB`;
  return [
    `soak: ${n(r.requests)} GET ${r.path}, ${r.concurrency} keep-alive clients`,
    `  ${n(r.done)} answered, ${n(r.errors)} failed, in ${n(r.elapsedS, 1)} s (${n(r.perSecond)} req/s); latency p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, max ${ms(r.latencyMs.max)}`,
    `  proxy RSS before ${mib(r.rssBeforeMiB)}; after warm-up (10–20 %) ${mib(r.rssAfterWarmUpMiB)}; at the end (90–100 %) ${mib(r.rssAtEndMiB)}: drift ${drift}` +
      (r.driftJudged ? ` (goal < ${RSS_DRIFT_GOAL_MIB} MiB)` : ' (not judged: under 100,000 requests)'),
    `  range over ${r.samples.length} samples: RSS ${mib(Math.min(...r.samples.map((s) => s.rssMiB)))}–${mib(Math.max(...r.samples.map((s) => s.rssMiB)))}, fds ${Math.min(...r.samples.map((s) => s.fds))}–${Math.max(...r.samples.map((s) => s.fds))}`,
    `  descriptors after warm-up ${r.fdsAfterWarmUp}, at the end ${r.fdsAtEnd}: growth ${r.fdGrowth} (goal none)`,
    `  after the clients closed: ${back(r.settle)}; RSS ${mib(r.rssAfterMiB)}`,
  ];
}

const RENDER: { [P in Phase]: (result: NonNullable<PhaseResults[P]>) => string[] } = { idle: idleLines, watches: watchLines, exec: execLines, soak: soakLines };

function phaseSection<P extends Phase>(phase: P, results: PhaseResults, errors: Partial<Record<Phase, string>>): string {
  const result = results[phase];
  if (result === undefined) return `${phase}: could not run: ${errors[phase] ?? 'unknown error'}\n  FAIL`;
  return [...RENDER[phase](result), verdict(result.problems)].join('\n');
}

export function renderReport(info: RunInfo, phases: readonly Phase[], results: PhaseResults, errors: Partial<Record<Phase, string>>, notes: readonly string[]): string {
  const header = [
    `kube-auth-proxy soak, ${info.startedAt}, ${n(info.elapsedS, 0)} s`,
    `machine: ${info.machine}; node ${info.node}`,
    `proxy: ${info.proxyCommand}`,
    `open files (soft/hard): soak process ${info.openFiles.soak}, proxy ${info.openFiles.proxy}`,
    `warm-up: ${info.warmUp}`,
    `phases took: ${Object.entries(info.phaseS).map(([phase, seconds]) => `${phase} ${n(seconds, 1)} s`).join(', ')}`,
  ];
  const sections = phases.map((phase) => phaseSection(phase, results, errors));
  return [header.join('\n'), ...sections, ...(notes.length > 0 ? [notes.map((note) => `note: ${note}`).join('\n')] : [])].join('\n\n') + '\n';
}
