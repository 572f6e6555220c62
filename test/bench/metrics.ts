// The rows of the report: which number each one takes from the runs, which way is better, and
// the floor it is held to (the acceptance bar, from the pre-study).
import type { CellId, TargetName } from './cells.js';
import type { CellRun } from './round.js';

/** Everything measured in one bench run. */
export interface BenchResult {
  rounds: number;
  runs: CellRun[];
  /** VmRSS after start-up and a few warm-up requests, before any load. */
  idleRssMiB: Partial<Record<TargetName, number>>;
  /** VmRSS a little after the last cell: a leak would show here. */
  afterRunRssMiB: Partial<Record<TargetName, number>>;
  /** VmRSS after 30 s of idling since the last cell: what a proxy holds while it waits for work. */
  settledRssMiB: Partial<Record<TargetName, number>>;
}

/**
 * Ratio floors compare ours/kubectl (median of per-round ratios), `vs-both` also ours/direct;
 * absolute ones our worst round.
 */
export type Floor =
  | { kind: 'vs-kubectl'; atLeast?: number; atMost?: number }
  | { kind: 'vs-both'; kubectlAtLeast: number; directAtLeast: number }
  | { kind: 'absolute'; atMost: number };

export interface Metric {
  readonly label: string;
  readonly unit: string;
  readonly digits: number;
  /** CPU and memory of a proxy: there is no proxy in the direct row. */
  readonly proxyOnly: boolean;
  readonly floor?: Floor;
  /** One value per round (index = round); undefined where nothing was measured. */
  values(result: BenchResult, target: TargetName): (number | undefined)[];
}

type CellField = 'p50Ms' | 'p99Ms' | 'reqPerS' | 'mibPerS' | 'cpuPerReqUs' | 'cores' | 'eventCores' | 'peakRssMiB' | 'rssMiB' | 'versionMaxMs';

function fromCell(cell: CellId, field: CellField): Metric['values'] {
  return (result, target) => {
    const values: (number | undefined)[] = new Array<number | undefined>(result.rounds).fill(undefined);
    for (const run of result.runs) {
      const value = run[field];
      if (run.cell === cell && run.target === target && value !== undefined && Number.isFinite(value)) values[run.round] = value;
    }
    return values;
  };
}

/** Proxy CPU seconds per GiB relayed (wrk's transfer, or the stream's bytes): steadier than MiB/s on a busy machine. */
function cpuPerGiB(cell: CellId): Metric['values'] {
  return (result, target) => {
    const values: (number | undefined)[] = new Array<number | undefined>(result.rounds).fill(undefined);
    for (const run of result.runs) {
      const gib = (run.mibPerS * run.durationS) / 1024;
      if (run.cell === cell && run.target === target && run.cpuS !== undefined && gib > 0) values[run.round] = run.cpuS / gib;
    }
    return values;
  };
}

function once(pick: (result: BenchResult) => Partial<Record<TargetName, number>>): Metric['values'] {
  return (result, target) => [pick(result)[target]];
}

export const METRICS: readonly Metric[] = [
  { label: 'small GET c=1, p50 latency', unit: 'ms', digits: 3, proxyOnly: false, floor: { kind: 'vs-kubectl', atMost: 1.0 }, values: fromCell('small-c1', 'p50Ms') },
  { label: 'small GET c=1, p99 latency', unit: 'ms', digits: 3, proxyOnly: false, values: fromCell('small-c1', 'p99Ms') },
  { label: 'small GET c=64, throughput', unit: 'req/s', digits: 0, proxyOnly: false, floor: { kind: 'vs-kubectl', atLeast: 0.8 }, values: fromCell('small-c64', 'reqPerS') },
  { label: 'small GET c=64, proxy CPU per request', unit: 'µs', digits: 1, proxyOnly: true, floor: { kind: 'vs-kubectl', atMost: 1.0 }, values: fromCell('small-c64', 'cpuPerReqUs') },
  { label: 'small GET c=64, p99 latency', unit: 'ms', digits: 2, proxyOnly: false, values: fromCell('small-c64', 'p99Ms') },
  { label: 'small GET c=64, proxy CPU', unit: 'cores', digits: 2, proxyOnly: true, values: fromCell('small-c64', 'cores') },
  { label: '~100 KB list c=16, throughput', unit: 'MiB/s', digits: 1, proxyOnly: false, floor: { kind: 'vs-kubectl', atLeast: 0.75 }, values: fromCell('list100k-c16', 'mibPerS') },
  { label: '~100 KB list c=16, p99 latency', unit: 'ms', digits: 2, proxyOnly: false, values: fromCell('list100k-c16', 'p99Ms') },
  { label: '~100 KB list c=16, proxy CPU per GiB', unit: 's', digits: 2, proxyOnly: true, values: cpuPerGiB('list100k-c16') },
  // Issue 4: within 10% of direct and not below kubectl proxy. Client → upstream only.
  { label: 'upgraded stream (101 SPDY/3.1, client → upstream), throughput', unit: 'MiB/s', digits: 1, proxyOnly: false, floor: { kind: 'vs-both', kubectlAtLeast: 1.0, directAtLeast: 0.9 }, values: fromCell('upgrade-stream', 'mibPerS') },
  { label: 'upgraded stream, proxy CPU per GiB', unit: 's', digits: 2, proxyOnly: true, values: cpuPerGiB('upgrade-stream') },
  // Issue 10: event latency and memory no worse than kubectl proxy's, GET /version under 100 ms throughout.
  { label: 'open watches (--watches), event latency p50', unit: 'ms', digits: 1, proxyOnly: false, floor: { kind: 'vs-kubectl', atMost: 1.0 }, values: fromCell('watches', 'p50Ms') },
  { label: 'open watches, event latency p99', unit: 'ms', digits: 1, proxyOnly: false, floor: { kind: 'vs-kubectl', atMost: 1.0 }, values: fromCell('watches', 'p99Ms') },
  { label: 'open watches, proxy RSS with all open', unit: 'MiB', digits: 1, proxyOnly: true, floor: { kind: 'vs-kubectl', atMost: 1.0 }, values: fromCell('watches', 'rssMiB') },
  { label: 'open watches, slowest of 20 GET /version meanwhile', unit: 'ms', digits: 1, proxyOnly: false, floor: { kind: 'absolute', atMost: 100 }, values: fromCell('watches', 'versionMaxMs') },
  // A steady 1 event/s on every watch (--watch-seconds): reported against kubectl, held to no floor yet.
  { label: 'watches at 1 event/s each, event latency p50', unit: 'ms', digits: 2, proxyOnly: false, values: fromCell('watch-rate', 'p50Ms') },
  { label: 'watches at 1 event/s each, event latency p99', unit: 'ms', digits: 2, proxyOnly: false, values: fromCell('watch-rate', 'p99Ms') },
  { label: 'watches at 1 event/s each, proxy RSS while events flow', unit: 'MiB', digits: 1, proxyOnly: true, values: fromCell('watch-rate', 'rssMiB') },
  { label: 'watches at 1 event/s each, proxy CPU while events flow', unit: 'cores', digits: 3, proxyOnly: true, values: fromCell('watch-rate', 'eventCores') },
  { label: '~20 MB list c=4, throughput', unit: 'MiB/s', digits: 1, proxyOnly: false, floor: { kind: 'vs-kubectl', atLeast: 0.85 }, values: fromCell('list20m-c4', 'mibPerS') },
  { label: '~20 MB list c=4, p99 latency', unit: 'ms', digits: 1, proxyOnly: false, values: fromCell('list20m-c4', 'p99Ms') },
  { label: '~20 MB list c=4, proxy CPU', unit: 'cores', digits: 2, proxyOnly: true, values: fromCell('list20m-c4', 'cores') },
  { label: '~20 MB list c=4, proxy CPU per GiB', unit: 's', digits: 2, proxyOnly: true, values: cpuPerGiB('list20m-c4') },
  { label: 'peak RSS (20 MB cell)', unit: 'MiB', digits: 1, proxyOnly: true, floor: { kind: 'absolute', atMost: 150 }, values: fromCell('list20m-c4', 'peakRssMiB') },
  { label: 'idle RSS', unit: 'MiB', digits: 1, proxyOnly: true, floor: { kind: 'absolute', atMost: 60 }, values: once((result) => result.idleRssMiB) },
  { label: 'RSS 2 s after the last cell', unit: 'MiB', digits: 1, proxyOnly: true, values: once((result) => result.afterRunRssMiB) },
  { label: 'RSS 30 s after the last cell', unit: 'MiB', digits: 1, proxyOnly: true, values: once((result) => result.settledRssMiB) },
];
