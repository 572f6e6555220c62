// Command-line options of `npm run bench`, and the one place that says which Node flags the
// proxy under test runs with.
import { CELL_IDS, type CellId } from './cells.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * Node flags for kube-auth-proxy during the bench: the ones its command's shebang line gives
 * (`#!/usr/bin/env -S node …`), so the bench measures what `kube-auth-proxy` runs as. The
 * pre-study found that a 4 MiB V8 semi-space cuts the 20 MB-cell peak RSS at no measurable
 * throughput cost; this project's own with/without run is recorded in test/bench/README.md.
 */
export const PROXY_NODE_FLAGS: readonly string[] = (() => {
  const firstLine = readFileSync(new URL('../../src/cli/main.js', import.meta.url), 'utf8').split('\n', 1)[0] ?? '';
  return /^#!.*\bnode\b(.*)$/.exec(firstLine)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
})();

export interface BenchOptions {
  /** Seconds per wrk cell. */
  readonly durationS: number;
  readonly rounds: number;
  readonly quick: boolean;
  /** Flags passed to `node` before dist/src/cli/main.js. */
  readonly nodeFlags: readonly string[];
  /** Extra flags for kube-auth-proxy itself, e.g. to measure what -v=6 costs. */
  readonly proxyFlags: readonly string[];
  readonly upstream: UpstreamKind;
  /** MiB pushed through the upgraded stream per target and round. */
  readonly upgradeMiB: number;
  /** Watches held open at once in the watch cells; 0 skips them. */
  readonly watches: number;
  /** Seconds of one event per second on every watch in the watch-rate cell; 0 skips it. */
  readonly watchSeconds: number;
  /** Also measure ours with an audit log at Metadata and at RequestResponse. */
  readonly audit: boolean;
  /** Also measure ours with --ui, without and with a page subscribed to its events. */
  readonly ui: boolean;
  /** Only these cells (default: all). */
  readonly cells?: readonly CellId[];
}

/**
 * `go`: test/bench/go-upstream/main.go, Go's net/http with h2 and http/1.1 by ALPN, the stack
 * kube-apiserver serves with; `h2`: test/bench/upstream.ts, the same endpoints on Node's http2;
 * `nginx`: Debian's nginx serving the GET cells' bodies as static files (h2 and http/1.1 by ALPN);
 * `example`: the example API server, HTTP/1.1 only, against which kubectl proxy churns TLS connections.
 */
export const UPSTREAM_KINDS = ['go', 'h2', 'nginx', 'example'] as const;
export type UpstreamKind = (typeof UPSTREAM_KINDS)[number];

/** Upstreams that answer neither the bench's upgraded stream nor its watches and their triggers. */
const GET_ONLY_UPSTREAMS: readonly UpstreamKind[] = ['nginx', 'example'];

/** Whether the upstream serves the upgraded stream and the watches (else their rows show no data). */
export function streamsServed(upstream: UpstreamKind): boolean {
  return !GET_ONLY_UPSTREAMS.includes(upstream);
}

const USAGE = `usage: npm run bench -- [--duration SECONDS] [--rounds N] [--quick] [--upgrade-mib N] [--node-flags="FLAG …"] [--proxy-flags="FLAG …"] [--upstream go|h2|nginx|example] [--watches N] [--watch-seconds N] [--audit] [--ui] [--cells IDS]
  --duration    seconds per cell (default 5; below 5 s kubectl shows start-of-run bursts)
  --rounds      interleaved rounds; ratios are medians of per-round ratios (default 3)
  --quick       smoke run: 1 round of 2 s cells and 64 MiB upgraded streams
  --upgrade-mib MiB sent through the upgraded stream per target and round (default 256; 64 with --quick)
  --node-flags  Node flags for kube-auth-proxy, space-separated (default "${PROXY_NODE_FLAGS.join(' ')}"; "" for none)
  --proxy-flags extra kube-auth-proxy flags, space-separated, e.g. "-v=6" or "--server-timing=false" (default none)
  --watches     watches held open at once in the watch cells (default 1000; 200 with --quick; 0 skips both)
  --watch-seconds seconds of one event per second on every watch in the watch-rate cell (default 5; 3 with --quick; 0 skips it)
  --audit       also run ours with an audit log at Metadata and at RequestResponse (two more targets)
  --ui          also run ours with --ui, without a page and with one subscribed to its events (two more targets)
  --cells       only these cells, comma-separated (${CELL_IDS.join(', ')})
  --upstream    go (default): Go's net/http offering h2 and http/1.1, kube-apiserver's own stack (built with Debian's Go);
                h2: the same endpoints on Node's http2 (it shares the two cores at Node's cost);
                nginx: Debian's nginx, h2 and http/1.1, serving /version and the lists as static files (no watches, no upgraded stream);
                example: examples/api-server-main.js, http/1.1 only (kubectl proxy then opens a TLS connection per request)`;

function positiveNumber(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive number\n${USAGE}`);
  return value;
}

/** Parses `args` (process.argv without node and the script); prints usage and exits on --help. */
export function parseBenchOptions(args: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'node-flags': { type: 'string' },
      'proxy-flags': { type: 'string', default: '' },
      upstream: { type: 'string', default: 'go' },
      'upgrade-mib': { type: 'string' },
      watches: { type: 'string' },
      'watch-seconds': { type: 'string' },
      audit: { type: 'boolean', default: false },
      ui: { type: 'boolean', default: false },
      cells: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const rounds = positiveNumber(values.rounds, '--rounds', quick ? 1 : 3);
  if (!Number.isInteger(rounds)) throw new Error(`--rounds must be a whole number\n${USAGE}`);
  const upstream = UPSTREAM_KINDS.find((kind) => kind === values.upstream);
  if (upstream === undefined) throw new Error(`--upstream must be ${UPSTREAM_KINDS.join(', ')}\n${USAGE}`);
  const nodeFlags = values['node-flags'] === undefined ? PROXY_NODE_FLAGS : values['node-flags'].split(/\s+/).filter(Boolean);
  const upgradeMiB = positiveNumber(values['upgrade-mib'], '--upgrade-mib', quick ? 64 : 256);
  const proxyFlags = values['proxy-flags'].split(/\s+/).filter(Boolean);
  const watches = values.watches === '0' ? 0 : positiveNumber(values.watches, '--watches', quick ? 200 : 1000);
  if (!Number.isInteger(watches)) throw new Error(`--watches must be a whole number\n${USAGE}`);
  const watchSeconds = values['watch-seconds'] === '0' ? 0 : positiveNumber(values['watch-seconds'], '--watch-seconds', quick ? 3 : 5);
  const cells = values.cells?.split(',').map((id) => id.trim());
  const unknown = cells?.filter((id) => !(CELL_IDS as readonly string[]).includes(id)) ?? [];
  if (unknown.length > 0) throw new Error(`--cells: unknown cell ${unknown.join(', ')} (cells: ${CELL_IDS.join(', ')})\n${USAGE}`);
  return {
    durationS: positiveNumber(values.duration, '--duration', quick ? 2 : 5),
    rounds,
    quick,
    nodeFlags,
    proxyFlags,
    upstream,
    upgradeMiB,
    watches,
    watchSeconds,
    audit: values.audit,
    ui: values.ui,
    ...(cells === undefined ? {} : { cells: cells as CellId[] }),
  };
}
