// The pooled HTTP/1.1 connections to the API server. The forwarding pre-study measured undici's
// Pool driven by dispatch() as the fastest core; TLS material is handed over once per pool.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pool, buildConnector } from 'undici';
import { UPSTREAM_CONNECT_TIMEOUT_MS, UPSTREAM_CONNECTIONS } from '../config/defaults.js';
import type { UpstreamConfig } from '../config/proxy-config.js';
import type { TlsIdentity } from '../credentials/credentials.js';
import { recordConnection, recordReadyConnection } from '../observe/timeline.js';
import { connectThroughProxy } from './proxy/connector.js';
import { tlsConnectOptions } from './tls-options.js';

/** Idle upstream connections are kept this long (client-go keeps them 90 s; servers often close sooner). */
const IDLE_TIMEOUT_MS = 30_000;

/** Told of every new connection to the API server (metrics). */
export type ConnectionListener = (socket: Socket) => void;

export function createUpstreamPool(upstream: UpstreamConfig, identity?: TlsIdentity, onConnection?: ConnectionListener): Pool {
  const connect = {
    timeout: UPSTREAM_CONNECT_TIMEOUT_MS,
    ...(upstream.server.protocol === 'https:' ? tlsConnectOptions(upstream, identity) : {}),
  };
  return new Pool(upstream.server.origin, {
    connections: UPSTREAM_CONNECTIONS,
    pipelining: 1,
    keepAliveTimeout: IDLE_TIMEOUT_MS,
    // Watches and log streams may be silent for minutes: never time out a body.
    bodyTimeout: 0,
    headersTimeout: upstream.requestTimeoutMs,
    // Without a proxy, undici's own connector (what it builds from options itself), timed.
    connect: timed(upstream.proxy === undefined ? buildConnector(connect) : connectThroughProxy(upstream.proxy, connect), onConnection),
  });
}

/** Records each new connection's DNS, TCP and TLS times for the request timelines. */
function timed(connector: buildConnector.connector, onConnection: ConnectionListener | undefined): buildConnector.connector {
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

/**
 * The pool for the client certificate in use. A plugin that hands out a new certificate gets a
 * new pool; the old one is closed, which lets its requests (watches too) finish first.
 */
export class UpstreamPools {
  private identity: TlsIdentity | undefined;
  private pool: Pool;
  /** Replaced pools still finishing their requests. */
  private readonly retired = new Set<Pool>();

  constructor(
    private readonly upstream: UpstreamConfig,
    private readonly onConnection?: ConnectionListener,
  ) {
    this.pool = createUpstreamPool(upstream, undefined, onConnection);
  }

  for(identity: TlsIdentity | undefined): Pool {
    if (identity === this.identity) return this.pool;
    const retired = this.pool;
    this.identity = identity;
    this.pool = createUpstreamPool(this.upstream, identity, this.onConnection);
    this.retired.add(retired);
    retired
      .close()
      .catch(() => undefined)
      .finally(() => this.retired.delete(retired));
    return this.pool;
  }

  /** Cuts every connection, in-flight requests included (shutdown has already waited). */
  async destroy(): Promise<void> {
    await Promise.all([this.pool, ...this.retired].map((pool) => pool.destroy().catch(() => undefined)));
  }
}
