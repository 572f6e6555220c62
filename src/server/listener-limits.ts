// The HTTP/1.1 parser's limits, the same on the plain listener and the HTTPS one (whose HTTP/1.1
// connections node:http serves, reading these off the server). No limit on how long a request
// takes once its head is in (watches and uploads take what they take, as in kubectl), but a bound
// on how long its head may take, and on its size.

import { MAX_HEAD_BYTES } from '../stages/request-head.js';

export interface ListenerLimits {
  /** No limit on a whole request; Node's default (300 s) would cut uploads. */
  readonly requestTimeout: 0;
  /**
   * --headers-timeout. Set explicitly: Node takes min(60 s, requestTimeout) by default, which is 0
   * (never) once requestTimeout is 0, so slow-header clients were never dropped.
   */
  readonly headersTimeout: number;
  /** How often Node looks for expired heads (default 30 s): a quarter of the timeout, at most 1 s. */
  readonly connectionsCheckingInterval: number;
  /** Request line and headers; over it, 431. */
  readonly maxHeaderSize: number;
  /**
   * No cut: Node's default keeps the first 1,000 header lines and drops the rest without a word.
   * The head is bounded by maxHeaderSize; request-head.ts refuses too many lines with a 431.
   */
  readonly maxHeadersCount: 0;
  /** Node answers a missing Host with a bare 400 of its own; request-head.ts answers it with a Status. */
  readonly requireHostHeader: false;
  /**
   * How long an idle keep-alive connection is kept. Node's default, 5 s, closes connections that
   * clients still hold as usable: client-go keeps idle ones 90 s (and kubectl proxy's server never
   * closes them), so a request sent as the proxy closes meets a reset, which Go retries only for
   * idempotent requests. Longer than any client's idle timeout, so the client always closes first.
   */
  readonly keepAliveTimeout: number;
}

/** Beyond client-go's 90 s idle timeout (IdleConnTimeout) and undici's 4 s default. */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

export function listenerLimits(headersTimeoutMs: number): ListenerLimits {
  return {
    requestTimeout: 0,
    headersTimeout: headersTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
    maxHeaderSize: MAX_HEAD_BYTES,
    maxHeadersCount: 0,
    requireHostHeader: false,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  };
}

/** Sets the limits on a server before it listens (the checking interval is read when it starts listening). */
export function applyListenerLimits<T extends object>(server: T, headersTimeoutMs: number): T {
  return Object.assign(server, listenerLimits(headersTimeoutMs));
}
