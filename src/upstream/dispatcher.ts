// The pooled HTTP/1.1 connections to the API server: undici's Pool driven by dispatch() (the
// fastest Node core measured against kubectl proxy; `npm run bench`), one capped pool for short
// requests and one uncapped pool for streams. TLS material is handed over once per pool.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pool, buildConnector } from 'undici';
import { UPSTREAM_CONNECT_TIMEOUT_MS } from '../config/defaults.js';
import type { UpstreamConfig } from '../config/proxy-config.js';
import type { TlsIdentity } from '../credentials/credentials.js';
import { recordConnection, recordReadyConnection } from '../observe/timeline.js';
import { ConnectionWaits } from './connection-waits.js';
import { connectThroughProxy } from './proxy/connector.js';
import { tlsConnectOptions } from './tls-options.js';

/** Idle upstream connections are kept this long (client-go keeps them 90 s; servers often close sooner). */
const IDLE_TIMEOUT_MS = 30_000;

/**
 * Which connections a request rides on. Short requests share a capped keep-alive pool; long-running
 * ones (watches, followed logs, proxy subresources) each hold their connection for as long as the
 * client stays, so they get a pool of their own with no cap: a thousand open watches never make a
 * `GET /version` wait, and never wait for one another.
 */
export type PoolKind = 'requests' | 'streams';

export const POOL_KINDS: readonly PoolKind[] = ['requests', 'streams'];

/** Told of every new connection to the API server (metrics). */
export type ConnectionListener = (socket: Socket, kind: PoolKind) => void;

export function createUpstreamPool(upstream: UpstreamConfig, kind: PoolKind, identity?: TlsIdentity, onConnection?: ConnectionListener): Pool {
  const connect = {
    timeout: UPSTREAM_CONNECT_TIMEOUT_MS,
    ...(upstream.server.protocol === 'https:' ? tlsConnectOptions(upstream, identity) : {}),
  };
  return new Pool(upstream.server.origin, {
    // null: no cap. Each stream opens (or reuses) a connection of its own.
    connections: kind === 'requests' ? upstream.connections : null,
    pipelining: 1,
    keepAliveTimeout: IDLE_TIMEOUT_MS,
    // Watches and log streams may be silent for minutes: never time out a body.
    bodyTimeout: 0,
    // A watch's headers come at once; a proxied pod may take its time, as with kubectl.
    headersTimeout: upstream.requestTimeoutMs,
    // Without a proxy, undici's own connector (what it builds from options itself), timed.
    connect: timed(upstream.proxy === undefined ? buildConnector(connect) : connectThroughProxy(upstream.proxy, connect), onConnection && ((socket) => onConnection(socket, kind))),
  });
}

/** Records each new connection's DNS, TCP and TLS times for the request timelines. */
function timed(connector: buildConnector.connector, onConnection: ((socket: Socket) => void) | undefined): buildConnector.connector {
  return (options, callback) => {
    const startedAt = performance.now();
    const https = options.protocol === 'https:';
    let recorded = false;
    const socket: unknown = connector(options, (...result) => {
      if (result[0] === null) {
        if (!recorded) recordReadyConnection(result[1], startedAt);
        onConnection?.(result[1]);
      }
      callback(...result);
    });
    // undici's own connector returns the socket at once, so its events can be watched.
    if (socket !== undefined && socket !== null) {
      recorded = true;
      recordConnection(socket as Socket, https);
    }
    return socket as ReturnType<buildConnector.connector>;
  };
}

/** The two pools of one TLS identity. */
type PoolPair = Readonly<Record<PoolKind, Pool>>;

/**
 * The pools for the client certificate in use. A plugin that hands out a new certificate gets
 * new pools; the old ones are closed, which lets their requests (watches too) finish first.
 */
export class UpstreamPools {
  private identity: TlsIdentity | undefined;
  private pools: PoolPair;
  /** Replaced pools still finishing their requests. */
  private readonly retired = new Set<Pool>();
  /** Requests of each kind waiting for a connection, whatever the identity; bounded by --upstream-queue-timeout. */
  readonly waits: Readonly<Record<PoolKind, ConnectionWaits>>;

  constructor(
    private readonly upstream: UpstreamConfig,
    private readonly onConnection?: ConnectionListener,
  ) {
    this.pools = this.createPair(undefined);
    this.waits = { requests: new ConnectionWaits(upstream.queueTimeoutMs), streams: new ConnectionWaits(upstream.queueTimeoutMs) };
  }

  private createPair(identity: TlsIdentity | undefined): PoolPair {
    return {
      requests: createUpstreamPool(this.upstream, 'requests', identity, this.onConnection),
      streams: createUpstreamPool(this.upstream, 'streams', identity, this.onConnection),
    };
  }

  for(identity: TlsIdentity | undefined, kind: PoolKind): Pool {
    if (identity !== this.identity) this.replace(identity);
    return this.pools[kind];
  }

  private replace(identity: TlsIdentity | undefined): void {
    const retired = Object.values(this.pools);
    this.identity = identity;
    this.pools = this.createPair(identity);
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
