// What the bench measures: the targets (no proxy, kubectl proxy, ours) and the load cells each
// of them is put through, in the terms.

export const TARGET_NAMES = ['direct', 'kubectl', 'ours', 'ours-audit', 'ours-audit-rr', 'ours-ui', 'ours-ui-page'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export const TARGET_LABELS: Record<TargetName, string> = {
  direct: 'direct',
  kubectl: 'kubectl proxy',
  ours: 'kube-auth-proxy',
  'ours-audit': 'ours, audit Metadata',
  'ours-audit-rr': 'ours, audit RequestResponse',
  'ours-ui': 'ours, --ui, no page',
  'ours-ui-page': 'ours, --ui, a page open',
};

/** With --audit: ours again, writing an audit log at each level (what the audit log costs). */
export const AUDIT_TARGETS = ['ours-audit', 'ours-audit-rr'] as const satisfies readonly TargetName[];
/** With --ui: ours again with the live view, without and with a page subscribed (what the view costs). */
export const UI_TARGETS = ['ours-ui', 'ours-ui-page'] as const satisfies readonly TargetName[];
/** Ours with a feature on: each reported as a cost against ours without it, in the same rounds. */
export const VARIANT_TARGETS = [...AUDIT_TARGETS, ...UI_TARGETS] as const;
export type VariantTarget = (typeof VARIANT_TARGETS)[number];

/** A running target: where wrk sends its requests and, for a proxy, which process to watch. */
export interface Target {
  readonly name: TargetName;
  readonly url: string;
  /** Headers wrk sends: the bearer token for direct, since wrk cannot present a client certificate. */
  readonly headers: readonly string[];
  readonly ca?: string;
  /** The proxy process; undefined for direct, which has no proxy to measure. */
  readonly pid?: number;
  readonly exitReason?: () => string | undefined;
}

export const CELL_IDS = ['small-c1', 'small-c64', 'list100k-c16', 'upgrade-stream', 'watches', 'watch-rate', 'list20m-c4'] as const;
export type CellId = (typeof CELL_IDS)[number];

export interface Cell {
  readonly id: CellId;
  readonly label: string;
  readonly path: string;
  readonly connections: number;
  /**
   * `upgrade`: one upgraded stream (upgrade-stream.ts); `watches`: the watch fan-out (watch-fanout.ts);
   * `watch-rate`: a steady event rate on every watch (watch-rate.ts); else a wrk run.
   */
  readonly kind?: 'upgrade' | 'watches' | 'watch-rate';
}

/** Port-forward: kubectl proxy's default filter lets it through (exec and attach it rejects). */
export const UPGRADE_PATH = '/api/v1/namespaces/default/pods/p/portforward';
/** The line the upstream writes back once it has read all the bytes a stream announced. */
export const UPGRADE_ACK = 'received\n';

/** Watches of the watch cell; the upstream writes one event to all of them on `POST WATCH_EVENT_PATH?name=X`. */
export const WATCH_PATH = '/api/v1/namespaces/bench/pods';
export const WATCH_EVENT_PATH = '/test/watch-event';
/**
 * `POST WATCH_EVENTS_PATH?per-second=R&seconds=S`: the upstream writes R events a second to every
 * watch it holds, for S seconds, spread evenly over each second; it answers `{"watchers":n}` once started.
 */
export const WATCH_EVENTS_PATH = '/test/watch-events';
/** Events per second on each watch in the watch-rate cell. */
export const WATCH_EVENTS_PER_SECOND = 1;
/** Each of those events carries the upstream's clock when it wrote the event, in µs since the epoch, in this annotation. */
export const WATCH_SENT_ANNOTATION = 'bench.kube-auth-proxy/sent-unix-us';

/**
 * Lists are served at a resource path, so that an audit policy's RequestResponse level keeps
 * their bodies (kube-apiserver, and the proxy, keep none for non-resource paths such as /version).
 */
export const LIST_PATH = '/api/v1/namespaces/bench/configmaps';

/** Sizes of the upstream's cached list bodies. */
export const LIST_100K = 100 * 1024;
export const LIST_20M = 20 * 1024 * 1024;

/**
 * Run in this order each round; the 20 MB cell is last so its peak RSS is read right after it.
 * The upgrade cell's path is completed with `bytes=N` when it runs (upgrade-stream.ts).
 */
export const CELLS: readonly Cell[] = [
  { id: 'small-c1', label: 'small GET /version, c=1', path: '/version', connections: 1 },
  { id: 'small-c64', label: 'small GET /version, c=64', path: '/version', connections: 64 },
  { id: 'list100k-c16', label: '~100 KB list, c=16', path: `${LIST_PATH}?bytes=${LIST_100K}`, connections: 16 },
  { id: 'upgrade-stream', label: 'upgraded stream, 1 conn', path: UPGRADE_PATH, connections: 1, kind: 'upgrade' },
  { id: 'watches', label: 'open watches, one event', path: WATCH_PATH, connections: 0, kind: 'watches' },
  { id: 'watch-rate', label: 'watches, 1 event/s each', path: WATCH_PATH, connections: 0, kind: 'watch-rate' },
  { id: 'list20m-c4', label: '~20 MB list, c=4', path: `${LIST_PATH}?bytes=${LIST_20M}`, connections: 4 },
];

/** A cell's path on `upstream`: the example API server serves lists at /test/list only. */
export function cellPath(cell: Cell, upstream: string): string {
  return upstream === 'example' ? cell.path.replace(LIST_PATH, '/test/list') : cell.path;
}

/** The cell whose peak RSS the report shows. */
export const PEAK_CELL: CellId = 'list20m-c4';
