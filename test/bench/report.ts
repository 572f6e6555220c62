// Renders one bench run as markdown for stdout (to paste into notes): how it was run, the
// table of medians and ratios with a verdict per floor, and every problem seen.
import { TARGET_LABELS, TARGET_NAMES, VARIANT_TARGETS, type TargetName, type VariantTarget } from './cells.js';
import type { UpstreamKind } from './options.js';
import { floorText, type Row, type Stat } from './summary.js';

/** How the run was made, for the header and the JSON file. */
export interface RunInfo {
  startedAt: string;
  elapsedS: number;
  rounds: number;
  durationS: number;
  proxyCommand: string;
  upstream: UpstreamKind;
  machine: string;
  versions: { node: string; kubectl: string; wrk: string };
  /** Whether VmHWM could be reset before the 20 MB cell (else the peak is since start-up). */
  peakReset: boolean;
}

function number(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(value: Stat | undefined): string {
  if (value === undefined) return '–';
  const median = `${value.median.toFixed(2)}×`;
  return value.n > 1 ? `${median} (${value.min.toFixed(2)}–${value.max.toFixed(2)})` : median;
}

function tableRow(row: Row, targets: readonly TargetName[], variants: readonly VariantTarget[]): string {
  const { metric } = row;
  const cells = targets.map((target) => {
    const value = row.perTarget[target];
    return value === undefined ? '–' : number(value.median, metric.digits);
  });
  const costs = variants.map((target) => ratio(row.vsOurs[target]));
  const verdict = row.verdict === undefined ? '' : row.verdict === 'PASS' ? 'PASS' : `**${row.verdict}**`;
  return `| ${metric.label} (${metric.unit}) | ${cells.join(' | ')} | ${ratio(row.vsKubectl)} | ${ratio(row.vsDirect)} | ${[...costs, ''].join(' | ')}${floorText(metric.floor, metric.unit)} | ${verdict} |`;
}

const UPSTREAM_TEXT: Record<UpstreamKind, string> = {
  go: 'test/bench/go-upstream/main.go (Go\'s net/http, h2 and http/1.1 by ALPN: kube-apiserver\'s own HTTP and TLS stack; kubectl proxy uses one h2 connection, ours an h1 pool)',
  h2: 'test/bench/upstream.ts (h2 and http/1.1 by ALPN, like kube-apiserver: kubectl proxy uses one h2 connection, ours an h1 pool)',
  nginx: 'Debian\'s nginx (test/bench/nginx-upstream.ts: h2 and http/1.1 by ALPN, /version and the lists as static files, the same bytes as the Go upstream\'s; no watches, no upgraded stream)',
  example: 'the example API server (http/1.1 only, recording off: kubectl proxy opens a TLS connection for nearly every request at c=64)',
};

function header(info: RunInfo): string[] {
  const peak = info.peakReset
    ? 'Peak RSS: VmHWM reset (`/proc/PID/clear_refs`) just before the 20 MB cell and read right after it.'
    : 'Peak RSS: VmHWM since start-up, read after the 20 MB cell (this kernel did not allow a reset).';
  return [
    `## kube-auth-proxy bench, ${info.startedAt}`,
    '',
    `${info.rounds} interleaved round(s) of ${info.durationS} s cells, ${info.elapsedS.toFixed(0)} s in all; ${info.machine}.`,
    `Node ${info.versions.node}, kubectl ${info.versions.kubectl}, ${info.versions.wrk}. kube-auth-proxy ran as \`${info.proxyCommand}\`.`,
    '',
    `* Upstream: ${UPSTREAM_TEXT[info.upstream]}, in its own process, over HTTPS, demanding a client certificate.`,
    '  The proxies present the kubeconfig\'s client certificate; **direct** is wrk straight to the upstream with',
    '  `Authorization: Bearer` instead, since wrk cannot present a client certificate. Clients talk plain HTTP to the proxies.',
    '* Values are medians over rounds; ratios are medians of per-round ratios (range in brackets). Compare ratios, not',
    '  absolute numbers across runs. Latency, CPU and RSS: < 1× means ours is better; throughput: > 1×.',
    `* CPU: utime+stime of the proxy process from /proc over the cell. Idle RSS: VmRSS 2 s after start-up and a few warm-up requests. ${peak}`,
    '',
  ];
}

export function renderReport(info: RunInfo, rows: readonly Row[], problems: readonly string[], notes: readonly string[]): string {
  // Only the targets that ran (the variants with --audit or --ui).
  const present = TARGET_NAMES.filter((target) => rows.some((row) => row.perTarget[target] !== undefined));
  const variants = VARIANT_TARGETS.filter((target) => present.includes(target));
  const targets = present.map((target) => TARGET_LABELS[target]).join(' | ');
  const costHeads = variants.map((target) => `${TARGET_LABELS[target]}/ours | `).join('');
  const judged = rows.filter((row) => row.verdict !== undefined);
  const passed = judged.filter((row) => row.verdict === 'PASS').length;
  const lines = [
    ...header(info),
    `| metric | ${targets} | ours/kubectl | ours/direct | ${costHeads}floor | verdict |`,
    `|---|${'---:|'.repeat(present.length + 2 + variants.length)}---|---|`,
    ...rows.map((row) => tableRow(row, present, variants)),
    '',
    `Floors: ${passed}/${judged.length} PASS (a missed floor is reported, not an error).`,
    '',
    problems.length === 0 ? 'Problems: none (every cell served requests without errors).' : '**Problems** (these make the bench exit 1):',
    ...problems.map((problem) => `* ${problem}`),
    ...(notes.length === 0 ? [] : ['', 'Notes:', ...notes.map((note) => `* ${note}`)]),
  ];
  return lines.join('\n') + '\n';
}
