// The pooled connections to the API server: undici's Pool driven by dispatch() (the fastest Node
// core measured against kubectl proxy; `npm run bench`), a capped HTTP/1.1 pool for short requests
// and uncapped pools for streams. TLS material is handed over once per pool.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { Client, Pool, buildConnector } from 'undici';
import { UPSTREAM_CONNECT_TIMEOUT_MS } from '../config/defaults.js';
import type { UpstreamConfig } from '../config/proxy-config.js';
import type { TlsIdentity } from '../credentials/credentials.js';
import { recordConnection, recordReadyConnection } from '../observe/timeline.js';
import { ConnectionWaits } from './connection-waits.js';
import { connectThroughProxy } from './proxy-connector.js';
import { tlsConnectOptions } from './tls-options.js';
import { handshakeProbe, UpstreamHealth } from './upstream-health.js';

/** Idle upstream connections are kept this long (client-go keeps them 90 s; servers often close sooner). */
const IDLE_TIMEOUT_MS = 30_000;

/**
 * TCP keep-alive probes start after this much silence, as client-go's dialer starts them
 * (net.Dialer KeepAlive: 30 s; undici's default is 60 s). They end a connection whose server
 * vanished without a FIN (a dead host, a dropped NAT entry), a watch's included. The probe
 * interval and count are the system's (Node cannot set them). They cannot tell a frozen server
 * process from a quiet one, since its kernel answers them.
 */
const TCP_KEEPALIVE_DELAY_MS = 30_000;

/**
 * Which connections a request rides on. Short requests share a capped HTTP/1.1 keep-alive pool.
 * Long-running ones (watches, followed logs, proxy subresources) may hold a connection for as long
 * as the client stays, so they never ride that pool: without a body, they are multiplexed over
 * HTTP/2 when the API server offers it, as kubectl's transport does (a thousand watches on ten
 * connections; over HTTP/1.1 each would cost a TLS connection's memory); with a body (a POST
 * through a proxy subresource), each gets an HTTP/1.1 connection of its own, since undici holds a
 * streamed body back until its HTTP/2 connection has nothing else running, which with watches
 * on it is never.
 */
export type PoolKind = 'requests' | 'streams' | 'streams-h1';

/**
 * Streams per HTTP/2 connection; more open a new connection. Below what API servers allow
 * (kube-apiserver and Go's net/http: 250; aggregated API servers: 1000), so a stream never waits
 * in a connection for a slot that a watch will not give back.
 */
const STREAMS_PER_H2_CONNECTION = 100;

/**
 * Clients of a pool that multiplexes streams over HTTP/2 when the server offers it. undici gives a
 * client a pipelining of 1 unless told, on HTTP/2 too; and before its connection is up it cannot
 * know which it will get. So a client's pipelining is lifted when its connection turns out to be
 * h2, and new clients start lifted once one connection has been h2. (Before that, each request of
 * a first burst opens a connection of its own: lifting blindly would queue requests behind a
 * watch on an HTTP/1.1 connection.)
 */
function multiplexingClients(): (origin: URL, options: object) => Client {
  let h2Seen = false;
  return (origin, options: Client.Options) => {
    const connect = options.connect as buildConnector.connector;
    const client: Client = new Client(origin, {
      ...options,
      ...(h2Seen ? { pipelining: STREAMS_PER_H2_CONNECTION } : {}),
      connect: (target, callback) =>
        connect(target, (...result) => {
          const h2 = result[0] === null && (result[1] as TLSSocket).alpnProtocol === 'h2';
          h2Seen ||= h2;
          client.pipelining = h2 ? STREAMS_PER_H2_CONNECTION : 1;
          callback(...result);
        }),
    });
    return client;
  };
}

const POOL_SHAPES: Readonly<Record<PoolKind, (upstream: UpstreamConfig) => Pool.Options>> = {
  requests: (upstream) => ({ connections: upstream.connections, pipelining: 1 }),
  // connections null: no cap.
  streams: () => ({ connections: null, allowH2: true, factory: multiplexingClients() }),
  'streams-h1': () => ({ connections: null, pipelining: 1 }),
};

export const POOL_KINDS = Object.keys(POOL_SHAPES) as readonly PoolKind[];

/** Told of every new connection to the API server (metrics). */
export type ConnectionListener = (socket: Socket, kind: PoolKind) => void;

/** Told of every connection attempt and its outcome (metrics, readiness); `attempt` names one attempt. */
interface ConnectOutcomes {
  readonly started?: (attempt: object, socket: Socket | undefined) => void;
  readonly connected: (attempt: object, socket: Socket) => void;
  readonly failed?: (attempt: object, err: Error) => void;
}

export function createUpstreamPool(upstream: UpstreamConfig, kind: PoolKind, identity?: TlsIdentity, onConnection?: ConnectionListener, health?: UpstreamHealth): Pool {
  const shape = POOL_SHAPES[kind](upstream);
  const connect = {
    timeout: UPSTREAM_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelay: TCP_KEEPALIVE_DELAY_MS,
    // Offers h2 by ALPN; the server chooses.
    allowH2: shape.allowH2 === true,
    ...(upstream.server.protocol === 'https:' ? tlsConnectOptions(upstream, identity) : {}),
  };
  const outcomes: ConnectOutcomes = {
    connected: (attempt, socket) => {
      health?.connected(attempt);
      onConnection?.(socket, kind);
    },
    ...(health === undefined
      ? {}
      : {
          started: (attempt: object, socket: Socket | undefined) => health.connecting(attempt, kind, socket),
          failed: (attempt: object, err: Error) => health.failed(err, attempt),
        }),
  };
  const pool = new Pool(upstream.server.origin, {
    ...shape,
    keepAliveTimeout: IDLE_TIMEOUT_MS,
    // Watches and log streams may be silent for minutes: never time out a body.
    bodyTimeout: 0,
    headersTimeout: upstream.requestTimeoutMs,
    // Without a proxy, undici's own connector (what it builds from options itself), timed.
    connect: timed(upstream.proxy === undefined ? buildConnector(connect) : connectThroughProxy(upstream.proxy, connect), outcomes),
  });
  // A connection that closed may have closed because the server went away: readiness re-checks.
  if (health !== undefined) pool.on('disconnect', () => health.disconnected());
  return pool;
}

/** Records each new connection's DNS, TCP and TLS times for the request timelines, and tells `outcomes` of each attempt. */
function timed(connector: buildConnector.connector, outcomes: ConnectOutcomes): buildConnector.connector {
  return (options, callback) => {
    const startedAt = performance.now();
    const https = options.protocol === 'https:';
    let recorded = false;
    let settled = false;
    const attempt = {};
    const socket: unknown = connector(options, (...result) => {
      settled = true;
      if (result[0] === null) {
        if (!recorded) recordReadyConnection(result[1], startedAt);
        outcomes.connected(attempt, result[1]);
      } else {
        outcomes.failed?.(attempt, result[0]);
      }
      callback(...result);
    });
    // undici's own connector returns the socket at once, so its events can be watched.
    if (socket !== undefined && socket !== null) {
      recorded = true;
      recordConnection(socket as Socket, https);
    }
    // Told after the fact (the socket is known only now), unless the outcome came first.
    if (!settled) outcomes.started?.(attempt, (socket ?? undefined) as Socket | undefined);
    return socket as ReturnType<buildConnector.connector>;
  };
}

/** The pools of one TLS identity. */
type PoolSet = Readonly<Record<PoolKind, Pool>>;

/**
 * The pools for the client certificate in use. A plugin that hands out a new certificate gets
 * new pools; the old ones are closed, which lets their requests (watches too) finish first.
 */
export class UpstreamPools {
  private identity: TlsIdentity | undefined;
  private pools: PoolSet;
  /** Replaced pools still finishing their requests. */
  private readonly retired = new Set<Pool>();
  /** Requests of each kind waiting for a connection, whatever the identity; bounded by --upstream-queue-timeout. */
  readonly waits: Readonly<Record<PoolKind, ConnectionWaits>>;
  /** Whether the API server answers, as the pools' connections show it (/readyz). */
  readonly health: UpstreamHealth;

  constructor(
    private readonly upstream: UpstreamConfig,
    private readonly onConnection?: ConnectionListener,
  ) {
    this.health = new UpstreamHealth(upstream.server, handshakeProbe(upstream));
    this.pools = this.createSet(undefined);
    this.waits = Object.fromEntries(POOL_KINDS.map((kind) => [kind, this.createWaits(kind)])) as Record<PoolKind, ConnectionWaits>;
  }

  /**
   * A wait for a connection ends at --upstream-queue-timeout, or sooner at --request-timeout: a
   * request waiting on a connection that a frozen API server never completes is still a request
   * that got no answer in time. Its answer names what it waited for (connection-waits.ts).
   */
  private createWaits(kind: PoolKind): ConnectionWaits {
    const { queueTimeoutMs, requestTimeoutMs } = this.upstream;
    const byRequestTimeout = requestTimeoutMs > 0 && requestTimeoutMs < queueTimeoutMs;
    return new ConnectionWaits(byRequestTimeout ? requestTimeoutMs : queueTimeoutMs, byRequestTimeout ? '--request-timeout' : '--upstream-queue-timeout', () =>
      this.health.connectingProblem(kind),
    );
  }

  private createSet(identity: TlsIdentity | undefined): PoolSet {
    return Object.fromEntries(POOL_KINDS.map((kind) => [kind, createUpstreamPool(this.upstream, kind, identity, this.onConnection, this.health)])) as Record<PoolKind, Pool>;
  }

  for(identity: TlsIdentity | undefined, kind: PoolKind): Pool {
    if (identity !== this.identity) this.replace(identity);
    return this.pools[kind];
  }

  private replace(identity: TlsIdentity | undefined): void {
    const retired = Object.values(this.pools);
    this.identity = identity;
    this.pools = this.createSet(identity);
    for (const pool of retired) {
      this.retired.add(pool);
      pool
        .close()
        .catch(() => undefined)
        .finally(() => this.retired.delete(pool));
    }
  }

  /** Cuts every connection, in-flight requests included (shutdown has already waited). */
  async destroy(): Promise<void> {
    await Promise.all([...Object.values(this.pools), ...this.retired].map((pool) => pool.destroy().catch(() => undefined)));
  }
}
