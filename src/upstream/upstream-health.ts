// Whether the API server can be reached now, for /readyz. Cheap by design: the proxy's own
// connections are the evidence; only when they say nothing recent (or something bad) does a probe
// run. A probe is one TLS handshake (with the client certificate, if any), never an HTTP request
// (no token sent, nothing in the API server's audit log), one at a time, its answer reused for a
// second. A handshake, not just TCP: a frozen server's kernel still completes TCP.

import type { Socket } from 'node:net';
import type { UpstreamConfig } from '../config/proxy-config.js';
import type { TlsIdentity } from '../credentials/credentials.js';
import { ProxyError } from '../errors.js';
import { dial } from './upgrade/dial.js';
import { toProxyError } from './upstream-errors.js';

/** A connection made this recently shows the API server reachable without a probe. */
const TRUST_CONNECTION_MS = 5_000;
/** A probe's answer is reused this long, however often /readyz is asked. */
const REUSE_PROBE_MS = 1_000;
/** A handshake not done within this (a frozen or overloaded server) counts as a failure. */
export const PROBE_TIMEOUT_MS = 3_000;

/** The API server's reachability as last seen: by a probe, or by the proxy's own traffic. */
type Seen = { readonly at: number; readonly probe: boolean } & ({ readonly ok: true } | { readonly ok: false; readonly problem: string });

/** How a probe reaches the API server; resolves when a connection is ready, rejects with why not. */
export type Probe = (identity: TlsIdentity | undefined) => Promise<void>;

/** A connection attempt under way: since when, and whether its TCP handshake is done (unknown through a forward proxy). */
interface Attempt {
  readonly pool: string;
  readonly startedAt: number;
  tcpDone: boolean | undefined;
}

export class UpstreamHealth {
  private seen: Seen | undefined;
  private probing: Promise<string | undefined> | undefined;
  private readonly attempts = new Map<object, Attempt>();

  constructor(
    private readonly server: URL,
    private readonly probe: Probe,
    /** The clock, milliseconds (tests pass their own). */
    private readonly now: () => number = Date.now,
  ) {}

  /** A pool started a connection (`attempt` names it until it ends); `socket` when the connector shows it. */
  connecting(attempt: object, pool: string, socket: Socket | undefined): void {
    const entry: Attempt = { pool, startedAt: this.now(), tcpDone: socket === undefined ? undefined : false };
    this.attempts.set(attempt, entry);
    socket?.once('connect', () => (entry.tcpDone = true));
  }

  /** A connection to the API server is ready (TLS done): it answers. */
  connected(attempt?: object): void {
    if (attempt !== undefined) this.attempts.delete(attempt);
    this.seen = { at: this.now(), probe: false, ok: true };
  }

  /** A connection attempt failed: the next check probes. */
  failed(err: unknown, attempt?: object): void {
    if (attempt !== undefined) this.attempts.delete(attempt);
    this.seen = { at: this.now(), probe: false, ok: false, problem: toProxyError(err, this.server).message };
  }

  /**
   * Why requests of `pool` may be waiting for a connection: the oldest attempt still under way and
   * its stage (a frozen server completes TCP in its kernel, never TLS), or undefined when none is.
   */
  connectingProblem(pool: string): string | undefined {
    const oldest = [...this.attempts.values()].find((attempt) => attempt.pool === pool);
    if (oldest === undefined) return undefined;
    const stage = oldest.tcpDone === true ? 'TLS handshake' : oldest.tcpDone === false ? 'TCP connect' : 'connection';
    return `${stage} unanswered for ${((this.now() - oldest.startedAt) / 1000).toFixed(1)}s`;
  }

  /** A connection closed: what the traffic showed of the server may no longer hold. */
  disconnected(): void {
    if (this.seen?.ok === true && !this.seen.probe) this.seen = undefined;
  }

  /** Undefined when the API server is reachable, else why not (one line). */
  problem(identity: TlsIdentity | undefined): Promise<string | undefined> {
    const seen = this.seen;
    const age = seen === undefined ? Infinity : this.now() - seen.at;
    if (seen?.ok === true && age < (seen.probe ? REUSE_PROBE_MS : TRUST_CONNECTION_MS)) return Promise.resolve(undefined);
    if (seen?.ok === false && seen.probe && age < REUSE_PROBE_MS) return Promise.resolve(seen.problem);
    return (this.probing ??= this.runProbe(identity).finally(() => (this.probing = undefined)));
  }

  private async runProbe(identity: TlsIdentity | undefined): Promise<string | undefined> {
    try {
      await this.probe(identity);
      this.seen = { at: this.now(), probe: true, ok: true };
      return undefined;
    } catch (err) {
      const problem = toProxyError(err, this.server).message;
      this.seen = { at: this.now(), probe: true, ok: false, problem };
      return problem;
    }
  }
}

/** Resolves once `socket` is connected (and, for TLS, its handshake done); rejects on its error or at `timeoutMs`. */
function whenReady(socket: Socket, tls: boolean, server: URL, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let tcpDone = false;
    const timer = setTimeout(() => {
      // Go's words for each stage (net/http, net): which one hung says where the fault is.
      const what = tcpDone ? 'net/http: TLS handshake timeout' : `dial tcp ${server.host}: i/o timeout`;
      reject(new ProxyError(tcpDone ? 'KAP_UPSTREAM_TLS_TIMEOUT' : 'KAP_UPSTREAM_CONNECT_TIMEOUT', `${what} after ${timeoutMs / 1000}s (server ${server.origin})`));
    }, timeoutMs);
    const settle = (err?: Error) => {
      clearTimeout(timer);
      if (err === undefined) resolve();
      else reject(err);
    };
    socket.once('connect', () => (tcpDone = true));
    socket.once(tls ? 'secureConnect' : 'connect', () => settle());
    socket.once('error', settle);
  });
}

/** The probe /readyz uses: a connection as an upgrade opens it (through the forward proxy if any), then closed. */
export function handshakeProbe(upstream: UpstreamConfig, timeoutMs = PROBE_TIMEOUT_MS): Probe {
  return async (identity) => {
    const { socket, timing } = await dial(upstream, identity);
    try {
      // Through a forward proxy the socket comes ready; a direct one is still connecting.
      if (timing.readyAt === undefined) await whenReady(socket, upstream.server.protocol === 'https:', upstream.server, timeoutMs);
    } finally {
      socket.destroy();
    }
  };
}
