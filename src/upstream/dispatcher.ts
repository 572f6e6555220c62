// The pooled HTTP/1.1 connections to the API server. The forwarding pre-study measured undici's
// Pool driven by dispatch() as the fastest core; TLS material is handed over once, here.

import { Pool } from 'undici';
import { UPSTREAM_CONNECT_TIMEOUT_MS, UPSTREAM_CONNECTIONS } from '../config/defaults.js';
import type { UpstreamConfig } from '../config/proxy-config.js';
import { tlsConnectOptions } from './tls-options.js';

/** Idle upstream connections are kept this long (client-go keeps them 90 s; servers often close sooner). */
const IDLE_TIMEOUT_MS = 30_000;

export function createUpstreamPool(upstream: UpstreamConfig): Pool {
  return new Pool(upstream.server.origin, {
    connections: UPSTREAM_CONNECTIONS,
    pipelining: 1,
    keepAliveTimeout: IDLE_TIMEOUT_MS,
    // Watches and log streams may be silent for minutes: never time out a body.
    bodyTimeout: 0,
    headersTimeout: upstream.requestTimeoutMs,
    connect: {
      timeout: UPSTREAM_CONNECT_TIMEOUT_MS,
      ...(upstream.server.protocol === 'https:' ? tlsConnectOptions(upstream) : {}),
    },
  });
}
