// Relays one upstream response into the client's response, streaming with backpressure. Built on
// undici's dispatch() handler API, the fastest Node forwarding core measured (`npm run bench`).

import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { ProxyError } from '../errors.js';
import type { RequestContext } from '../observe/request-context.js';
import { requestStarting, type RequestTimeline } from '../observe/timeline.js';
import type { ConnectionWaits, WaitEntry, Waiter } from './connection-waits.js';
import { replaceCorsHeaders, stripResponseHopHeaders } from './headers.js';
import { toProxyError } from './upstream-errors.js';

type Controller = Dispatcher.DispatchController;

/** What the forwarder reports back to the server that owns the client connections. */
export interface ForwardEvents {
  /** A request could not be answered by the API server. */
  fail(ctx: RequestContext, res: ServerResponse, error: ProxyError): void;
  /** The API server's answer broke off after its headers (its connection reset or closed): to be logged, the client's response is cut short. */
  broken?(ctx: RequestContext, res: ServerResponse, error: ProxyError): void;
  /** A response without a length started: a watch or a follow, which shutdown must end itself. */
  stream(res: ServerResponse): void;
}

/**
 * Asked when the API server answers 401. A returned function replays the request with fresh
 * credentials once the 401's body has been read, and the client never sees that 401.
 */
export type UnauthorizedHook = () => (() => void) | undefined;

const CLIENT_GONE = new Error('client closed the connection');

/** Ours goes after the API server's own entries, if it sent any. */
function appendTiming(upstream: string | string[] | undefined, ours: string): string {
  const theirs = Array.isArray(upstream) ? upstream.join(', ') : upstream;
  return theirs === undefined || theirs === '' ? ours : `${theirs}, ${ours}`;
}

/**
 * Bytes a response may hold for a slow client before the upstream is paused. Pausing on every
 * full 16 KiB buffer stops and restarts the upstream read for each chunk (an epoll_ctl pair
 * each time): on 20 MB lists this allowance, with corked writes, took throughput from about 0.5×
 * to about 0.8× kubectl proxy's. Memory stays bounded by this per response.
 */
const MAX_BUFFERED_BYTES = 256 * 1024;

/**
 * What a request that waited too long for a connection is told: a 504 naming the stage a
 * connection attempt hangs in, or when none does (every connection busy), a 503 it may retry at once.
 */
function noConnectionWithin(waits: ConnectionWaits, server: URL): ProxyError {
  const seconds = waits.timeoutMs / 1000;
  const connecting = waits.connectingProblem();
  if (connecting !== undefined) {
    return new ProxyError('KAP_UPSTREAM_CONNECT_TIMEOUT', `no connection to the API server within ${seconds}s (${waits.flag}): ${connecting} (server ${server.origin})`);
  }
  return new ProxyError('KAP_QUEUE_TIMEOUT', `no connection to the API server became free within ${seconds}s (${waits.flag}; server ${server.origin})`, { retryAfterSeconds: 1 });
}

/**
 * Relays one upstream response into `res`. Aborts the upstream request as soon as the client is
 * gone, including when the request was still queued: otherwise a paused handler whose response
 * was destroyed pins a pooled connection forever (a trap of undici's dispatch() that a capped
 * pool turns into a proxy that answers nothing; test/proxy/streaming.test.ts).
 */
export class ResponseRelay implements Dispatcher.DispatchHandler, Waiter {
  private controller: Controller | undefined;
  /** The upstream response ended or failed: nothing left to abort. */
  private done = false;
  private readonly resume = () => this.controller?.resume();
  /**
   * From the second chunk on, the writes of one event-loop turn go out as one writev: fewer,
   * larger socket writes. A one-chunk response (most API answers) skips it, and its cost.
   */
  private corked = false;
  private chunks = 0;
  private readonly uncork = () => {
    if (!this.corked) return;
    this.corked = false;
    this.res.uncork();
  };

  /** Set while a 401 is being read and dropped before the request is replayed. */
  private replay: (() => void) | undefined;
  private readonly timeline: RequestTimeline;
  /** Its place among the requests waiting for a connection, until undici gives it one. */
  private readonly wait: WaitEntry;

  /**
   * `waits` holds the relay until undici gives its request a connection; `expire()` answers 503
   * if that takes too long.
   */
  constructor(
    private readonly ctx: RequestContext,
    private readonly res: ServerResponse,
    private readonly server: URL,
    private readonly events: ForwardEvents,
    private readonly waits: ConnectionWaits,
    private readonly onUnauthorized?: UnauthorizedHook,
    /** Send the phases so far as a `Server-Timing` response header. */
    private readonly serverTiming = false,
  ) {
    this.timeline = ctx.timeline;
    this.wait = waits.add(this);
    // 'close' also follows a response we ended early (a stream at shutdown): abort in both cases.
    res.once('close', () => {
      waits.delete(this.wait);
      if (!this.done) this.controller?.abort(CLIENT_GONE);
    });
  }

  /** Still queued at the deadline: the client gets a 503 now, and the request is dropped when undici reaches it. */
  expire(): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.events.fail(this.ctx, this.res, noConnectionWithin(this.waits, this.server));
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    this.waits.delete(this.wait);
    requestStarting(this.timeline);
    // The client left, or was answered 503, while the request waited in the queue.
    if (this.res.destroyed || this.res.writableEnded) controller.abort(CLIENT_GONE);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.res.destroyed) return controller.abort(CLIENT_GONE);
    if (statusCode < 200) return; // 1xx informational: the final response follows.
    if (statusCode === 401 && this.onUnauthorized !== undefined) {
      this.replay = this.onUnauthorized();
      if (this.replay !== undefined) return;
    }
    this.timeline.firstByteAt = performance.now();
    const audit = this.ctx.audit;
    if (audit !== undefined) {
      if (statusCode >= 400) audit.watchErrorBody();
      if (this.ctx.forwarded?.longRunning === true) audit.responseStarted(statusCode);
    }
    if (this.timeline.keepResponseHeaders) this.timeline.responseHeaders = { ...headers };
    if (this.serverTiming) headers['server-timing'] = appendTiming(headers['server-timing'], this.timeline.serverTiming());
    // kube-apiserver echoes the Audit-ID; another server may not, or may send another: the client
    // gets the ID that is in our log and went upstream. (A header set on `res` before writeHead
    // would send Node down its slow header-merging path on every response.)
    headers['audit-id'] = this.ctx.auditId;
    stripResponseHopHeaders(headers);
    replaceCorsHeaders(headers, this.ctx.forwarded?.responseHeaders);
    // No reason phrase: HTTP/2 has none, and Go's ReverseProxy sends the standard one too.
    this.res.writeHead(statusCode, headers);
    // A watch or a followed log has no length: send the headers now, not with the first event.
    if (headers['content-length'] === undefined) {
      this.res.flushHeaders();
      this.events.stream(this.res);
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.replay !== undefined) return;
    this.timeline.responseBytes += chunk.length;
    this.ctx.audit?.responseBody?.add(chunk);
    if (this.res.writableEnded) return controller.abort(CLIENT_GONE);
    if (this.chunks++ > 0 && !this.corked) {
      this.corked = true;
      this.res.cork();
      setImmediate(this.uncork);
    }
    if (!this.res.write(chunk) && this.res.writableLength >= MAX_BUFFERED_BYTES) {
      controller.pause();
      this.res.once('drain', this.resume);
    }
  }

  onResponseEnd(): void {
    this.done = true;
    if (this.replay !== undefined) return this.replay();
    this.timeline.endAt = performance.now();
    this.uncork();
    this.res.end();
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.done = true;
    this.waits.delete(this.wait);
    if (error === CLIENT_GONE || this.res.writableEnded) return;
    const failure = toProxyError(error, this.server);
    if (!this.res.headersSent) return this.events.fail(this.ctx, this.res, failure);
    // A watch whose API server died: no Status can follow its headers, so the response is cut
    // short as kubectl does (http.ErrAbortHandler); the client sees its stream fail, not end
    // cleanly, and re-lists.
    this.events.broken?.(this.ctx, this.res, failure);
    this.res.destroy(error);
  }
}
