// Command-line options of `npm run soak`: which phases run and how large each one is. The
// defaults are the sizes of issue 14 ("Load and soak").
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../examples/demo-files.js';
import { PROXY_NODE_FLAGS } from '../bench/options.js';

export const PHASES = ['idle', 'watches', 'exec', 'soak'] as const;
export type Phase = (typeof PHASES)[number];

export interface SoakOptions {
  readonly phases: readonly Phase[];
  /** Phase idle: keep-alive connections held open at once. */
  readonly connections: number;
  /** Phase idle: how long they are held after the measurement, before the client closes them. */
  readonly idleHoldMs: number;
  /** Phase watches: watches held open at once, and the events the upstream emits to them. */
  readonly watches: number;
  readonly events: number;
  /** Milliseconds between two events: the fixed rate of the emitter. */
  readonly eventIntervalMs: number;
  /** Phase exec: concurrent exec sessions, and the bytes each one echoes. */
  readonly execSessions: number;
  readonly execBytes: number;
  /** Phase soak: small GETs in all, the keep-alive clients sending them, and the path. */
  readonly requests: number;
  readonly concurrency: number;
  readonly path: string;
  /** Where the JSON result goes. */
  readonly json: string;
  /** Node flags for the proxy (those of its own `#!` line unless told). */
  readonly nodeFlags: readonly string[];
  /** Extra kube-auth-proxy flags. */
  readonly proxyFlags: readonly string[];
}

export const DEFAULT_JSON = join(projectRoot(), '.cache', 'soak-last-run.json');

const USAGE = `usage: npm run soak -- [--phases idle,watches,exec,soak] [--connections N] [--idle-hold-ms MS] [--watches N] [--events N]
         [--event-interval-ms MS] [--exec N] [--exec-kib N] [--requests N] [--concurrency N] [--path PATH]
         [--json FILE] [--node-flags="FLAG …"] [--proxy-flags="FLAG …"]
  --phases             phases to run, in this order (default all: ${PHASES.join(',')})
  --connections        idle: keep-alive connections held open at once (default 10000)
  --idle-hold-ms       idle: hold them this long after the measurement, to see the proxy's idle timeout (default 0)
  --watches            watches: watches held open at once (default 1000)
  --events             watches: events the upstream emits, one pod created each (default 50)
  --event-interval-ms  watches: milliseconds between events, a fixed rate (default 100)
  --exec               exec: concurrent exec sessions over WebSocket (default 100)
  --exec-kib           exec: KiB of random bytes each session echoes through cat (default 256)
  --requests           soak: small GETs in all (default 1000000)
  --concurrency        soak: keep-alive clients, one request in flight each (default 64)
  --path               soak: what they GET (default /api/v1/namespaces/default/pods/web-0)
  --json               where the result is written (default .cache/soak-last-run.json)
  --node-flags         Node flags for the proxy (default "${PROXY_NODE_FLAGS.join(' ')}")
  --proxy-flags        extra kube-auth-proxy flags, space-separated (default none)`;

function count(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${flag} must be a positive whole number\n${USAGE}`);
  return value;
}

function phasesOf(raw: string | undefined): Phase[] {
  if (raw === undefined) return [...PHASES];
  const asked = raw.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = asked.filter((name) => !(PHASES as readonly string[]).includes(name));
  if (unknown.length > 0 || asked.length === 0) throw new Error(`--phases: unknown phase ${unknown.join(', ')} (phases: ${PHASES.join(', ')})\n${USAGE}`);
  return PHASES.filter((phase) => asked.includes(phase));
}

const FLAGS = {
  phases: { type: 'string' },
  connections: { type: 'string' },
  'idle-hold-ms': { type: 'string' },
  watches: { type: 'string' },
  events: { type: 'string' },
  'event-interval-ms': { type: 'string' },
  exec: { type: 'string' },
  'exec-kib': { type: 'string' },
  requests: { type: 'string' },
  concurrency: { type: 'string' },
  path: { type: 'string', default: '/api/v1/namespaces/default/pods/web-0' },
  json: { type: 'string', default: DEFAULT_JSON },
  'node-flags': { type: 'string' },
  'proxy-flags': { type: 'string', default: '' },
  help: { type: 'boolean', default: false },
} as const;

/** Parses `args` (process.argv without node and the script); prints usage and exits on --help. */
export function parseSoakOptions(args: readonly string[]): SoakOptions {
  const { values } = parseArgs({ args: [...args], options: FLAGS });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!values.path.startsWith('/')) throw new Error(`--path must start with /\n${USAGE}`);
  return {
    phases: phasesOf(values.phases),
    connections: count(values.connections, '--connections', 10_000),
    idleHoldMs: values['idle-hold-ms'] === '0' ? 0 : count(values['idle-hold-ms'], '--idle-hold-ms', 0),
    watches: count(values.watches, '--watches', 1000),
    events: count(values.events, '--events', 50),
    eventIntervalMs: count(values['event-interval-ms'], '--event-interval-ms', 100),
    execSessions: count(values.exec, '--exec', 100),
    execBytes: count(values['exec-kib'], '--exec-kib', 256) * 1024,
    requests: count(values.requests, '--requests', 1_000_000),
    concurrency: count(values.concurrency, '--concurrency', 64),
    path: values.path,
    json: values.json,
    nodeFlags: values['node-flags'] === undefined ? PROXY_NODE_FLAGS : values['node-flags'].split(/\s+/).filter(Boolean),
    proxyFlags: values['proxy-flags'].split(/\s+/).filter(Boolean),
  };
}
