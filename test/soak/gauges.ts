// What the soak reads off the proxy process between and during phases (Linux /proc only): its
// file descriptors, split into client connections, API-server connections and the rest, and the
// open-stream gauges of its own /metrics. A leak shows as a count that does not come back.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fetchText } from '../helpers/http.js';
import { parseMetrics, sampleValue } from '../helpers/prometheus.js';

/** The proxy's listening port and its API server's, to tell its sockets apart. */
export interface ProxyPorts {
  readonly pid: number;
  readonly proxyPort: number;
  readonly upstreamPort: number;
}

/** The proxy's descriptors at one moment. */
export interface FdBreakdown {
  readonly fds: number;
  /** TCP connections accepted on the proxy's listener. */
  readonly client: number;
  /** TCP connections to the API server. */
  readonly upstream: number;
  /** Everything else: listeners, the metrics listener, pipes, epoll, files. */
  readonly other: number;
}

/** How many descriptors the process has open (cheap: one readdir). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const TCP_LISTEN = '0A';

/** Socket inode → ports and state, from the process's view of /proc/net/tcp (IPv4: the soak is 127.0.0.1 only). */
function tcpSockets(pid: number): Map<string, { local: number; remote: number; state: string }> {
  const sockets = new Map<string, { local: number; remote: number; state: string }>();
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const port = (address: string) => parseInt(address.slice(address.indexOf(':') + 1), 16);
    sockets.set(fields[9]!, { local: port(fields[1]!), remote: port(fields[2]!), state: fields[3]! });
  }
  return sockets;
}

function socketInodes(pid: number): string[] {
  const inodes: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.push(match[1]!);
    } catch {
      // Closed between readdir and readlink.
    }
  }
  return inodes;
}

/** The inodes of the proxy's client connections and of its API-server connections. */
export function tcpConnections(ports: ProxyPorts): { client: string[]; upstream: string[] } {
  const tcp = tcpSockets(ports.pid);
  const client: string[] = [];
  const upstream: string[] = [];
  for (const inode of socketInodes(ports.pid)) {
    const socket = tcp.get(inode);
    if (socket === undefined || socket.state === TCP_LISTEN) continue;
    if (socket.local === ports.proxyPort) client.push(inode);
    else if (socket.remote === ports.upstreamPort) upstream.push(inode);
  }
  return { client, upstream };
}

/** Reads every descriptor of the proxy and sorts its TCP sockets by the port they belong to. */
export function fdBreakdown(ports: ProxyPorts): FdBreakdown {
  const fds = fdCount(ports.pid);
  const { client, upstream } = tcpConnections(ports);
  return { fds, client: client.length, upstream: upstream.length, other: fds - client.length - upstream.length };
}

/**
 * Counts the API-server connections the proxy opens that are not in `known` (inodes), watching
 * until none has appeared for `quietMs` (at most `maxMs`): with nothing being requested, there
 * should be none.
 */
export async function newUpstreamConnections(ports: ProxyPorts, known: ReadonlySet<string>, quietMs: number, maxMs: number): Promise<number> {
  const seen = new Set<string>();
  const started = Date.now();
  let lastNew = started;
  while (Date.now() - lastNew < quietMs && Date.now() - started < maxMs) {
    for (const inode of tcpConnections(ports).upstream) {
      if (known.has(inode) || seen.has(inode)) continue;
      seen.add(inode);
      lastNew = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return seen.size;
}

/** Whether `now` is back where `baseline` was: no client connection left, nothing else grown. */
function isBack(now: FdBreakdown, baseline: FdBreakdown, upstreamAllowed: number): boolean {
  return now.client <= baseline.client && now.other <= baseline.other && now.upstream <= Math.max(baseline.upstream, upstreamAllowed);
}

export interface Settled {
  readonly after: FdBreakdown;
  readonly settled: boolean;
  readonly waitedMs: number;
}

/**
 * Polls until the proxy's descriptors are back at `baseline` or `timeoutMs` has passed.
 * `upstreamAllowed`: API-server connections that may stay open (the short-request pool keeps idle
 * ones for 30 s, up to --upstream-connections).
 */
export async function settleFds(ports: ProxyPorts, baseline: FdBreakdown, upstreamAllowed: number, timeoutMs: number): Promise<Settled> {
  const started = Date.now();
  for (;;) {
    const after = fdBreakdown(ports);
    const waitedMs = Date.now() - started;
    if (isBack(after, baseline, upstreamAllowed)) return { after, settled: true, waitedMs };
    if (waitedMs > timeoutMs) return { after, settled: false, waitedMs };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The proxy's open watches/log streams and upgrades, as its /metrics reports them now. */
export async function openGauges(metricsUrl: string): Promise<{ streams: number; upgrades: number }> {
  const samples = parseMetrics((await fetchText(`${metricsUrl}/metrics`, { timeoutMs: 10_000 })).body);
  return {
    streams: sampleValue(samples, 'kube_auth_proxy_open_streams') ?? NaN,
    upgrades: sampleValue(samples, 'kube_auth_proxy_open_upgrades') ?? NaN,
  };
}

/** Re-reads the gauges until `done` holds of them or `timeoutMs` has passed; returns the last reading. */
export async function gaugesWhen(metricsUrl: string, done: (gauges: { streams: number; upgrades: number }) => boolean, timeoutMs: number): Promise<{ streams: number; upgrades: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gauges = await openGauges(metricsUrl);
    if (done(gauges) || Date.now() > deadline) return gauges;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The soft and hard open-files limit of a process. */
export function openFilesLimit(pid: number | 'self'): { soft: number; hard: number } {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  const value = (raw: string | undefined) => (raw === undefined || raw === 'unlimited' ? Infinity : Number(raw));
  return { soft: value(line?.[1]), hard: value(line?.[2]) };
}

/** Samples `read()` every `everyMs` until stopped; returns the largest value seen. */
export function peakSampler(read: () => number, everyMs: number): { stop: () => number } {
  let peak = read();
  const timer = setInterval(() => (peak = Math.max(peak, read())), everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, read());
    },
  };
}
