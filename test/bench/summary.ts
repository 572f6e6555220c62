// Turns per-round values into medians, per-round ratios (ours/kubectl, ours/direct) and a
// PASS/FAIL per floor. Ratios are taken within a round first: this box is too noisy to compare
// absolute numbers across rounds (the pre-study's method).
import { TARGET_NAMES, VARIANT_TARGETS, type TargetName, type VariantTarget } from './cells.js';
import { METRICS, type BenchResult, type Floor, type Metric } from './metrics.js';

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export type Verdict = 'PASS' | 'FAIL' | 'no data';

export interface Row {
  metric: Metric;
  perTarget: Partial<Record<TargetName, Stat>>;
  vsKubectl?: Stat;
  vsDirect?: Stat;
  /** With --audit or --ui: each variant against ours without the feature, per round (what it costs). */
  vsOurs: Partial<Record<VariantTarget, Stat>>;
  verdict?: Verdict;
}

export function stat(values: readonly (number | undefined)[]): Stat | undefined {
  const sorted = values.filter((value): value is number => value !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

function perRoundRatios(ours: readonly (number | undefined)[], base: readonly (number | undefined)[]): (number | undefined)[] {
  return ours.map((value, round) => {
    const divisor = base[round];
    return value === undefined || divisor === undefined || divisor === 0 ? undefined : value / divisor;
  });
}

function judge(floor: Floor, row: Row): Verdict {
  if (floor.kind === 'absolute') {
    const worst = row.perTarget.ours?.max;
    return worst === undefined ? 'no data' : worst <= floor.atMost ? 'PASS' : 'FAIL';
  }
  if (floor.kind === 'vs-both') {
    const [kubectl, direct] = [row.vsKubectl?.median, row.vsDirect?.median];
    if (kubectl === undefined || direct === undefined) return 'no data';
    return kubectl >= floor.kubectlAtLeast && direct >= floor.directAtLeast ? 'PASS' : 'FAIL';
  }
  const ratio = row.vsKubectl?.median;
  if (ratio === undefined) return 'no data';
  const low = floor.atLeast === undefined || ratio >= floor.atLeast;
  const high = floor.atMost === undefined || ratio <= floor.atMost;
  return low && high ? 'PASS' : 'FAIL';
}

/** How a floor reads in the table, e.g. `≥ 0.80× kubectl`, `≥ 1.00× kubectl, ≥ 0.90× direct` or `≤ 150 MiB`. */
export function floorText(floor: Floor | undefined, unit: string): string {
  if (floor === undefined) return '';
  if (floor.kind === 'absolute') return `≤ ${floor.atMost} ${unit}`;
  if (floor.kind === 'vs-both') return `≥ ${floor.kubectlAtLeast.toFixed(2)}× kubectl, ≥ ${floor.directAtLeast.toFixed(2)}× direct`;
  return floor.atLeast !== undefined ? `≥ ${floor.atLeast.toFixed(2)}× kubectl` : `≤ ${floor.atMost!.toFixed(2)}× kubectl`;
}

function summariseMetric(result: BenchResult, metric: Metric): Row {
  const values = Object.fromEntries(TARGET_NAMES.map((target) => [target, metric.values(result, target)])) as Record<TargetName, (number | undefined)[]>;
  const row: Row = { metric, perTarget: {}, vsOurs: {} };
  for (const target of TARGET_NAMES) {
    const summary = metric.proxyOnly && target === 'direct' ? undefined : stat(values[target]);
    if (summary) row.perTarget[target] = summary;
  }
  row.vsKubectl = stat(perRoundRatios(values.ours, values.kubectl));
  if (!metric.proxyOnly) row.vsDirect = stat(perRoundRatios(values.ours, values.direct));
  for (const variant of VARIANT_TARGETS) {
    const cost = stat(perRoundRatios(values[variant], values.ours));
    if (cost !== undefined) row.vsOurs[variant] = cost;
  }
  if (metric.floor) row.verdict = judge(metric.floor, row);
  return row;
}

export function summarise(result: BenchResult): Row[] {
  return METRICS.map((metric) => summariseMetric(result, metric));
}
