// Relays one upstream response into the client's response, streaming with backpressure. Built on
// undici's dispatch() handler API, the fastest Node forwarding core measured (`npm run bench`).

import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { ProxyError } from '../errors.js';
import type { RequestContext } from '../observe/request-context.js';
import { requestStarting, type RequestTimeline } from '../observe/timeline.js';
import type { LinkedEntry } from '../linked-set.js';
import type { Abandoned, ConnectionWaits, QueuedCount, WaitEntry, Waiter } from './connection-waits.js';
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
  /** A short request's client left before its answer ended; `outcome` says what became of the upstream request (metrics). */
  abandoned?(outcome: AbandonedOutcome): void;
}

/**
 * unsent: it was still waiting for a connection, and never went out. kept: its answer was read to
 * the end and dropped, and the connection kept. closed: it was cut off, closing its connection.
 */
export type AbandonedOutcome = 'unsent' | 'kept' | 'closed';

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
 * When the client of a short request leaves, the rest of its answer is still read, up to this
 * many bytes and for up to this long, and dropped, so that the pooled connection survives: an
 * HTTP/1.1 request cannot be cancelled without closing its connection, and the next request
 * would pay a new TLS handshake for it (nginx's proxy_ignore_client_abort, bounded). Reading
 * 256 KiB costs about what a handshake costs. Longer answers, slower ones and streams are
 * aborted, and so is an abandoned request whose connection another request waits for.
 */
const ABANDONED_MAX_BYTES = 256 * 1024;
const ABANDONED_MAX_MS = 2_000;

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
 * Relays one upstream response into `res`. When the client is gone, the upstream request is
 * dropped unsent if it was still queued, its short answer is read and dropped (within bounds),
 * and otherwise it is aborted. Never left paused: a paused handler whose response was destroyed
 * pins a pooled connection forever (a trap of undici's dispatch() that a capped pool turns into a
 * proxy that answers nothing; test/proxy/streaming.test.ts).
 */
export class ResponseRelay implements Dispatcher.DispatchHandler, Waiter, Abandoned {
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
  /** The answer's Content-Length, once its headers are in. */
  private length: number | undefined;
  /** Set when the client left and the rest of the answer is read and dropped. */
  private abandoned: { bytesLeft: number; readonly timer: NodeJS.Timeout; readonly entry: LinkedEntry<Abandoned> } | undefined;

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
    // 'close' also follows a response we ended early (a stream at shutdown).
    res.once('close', () => this.clientLeft());
  }

  /** The response can no longer reach the client: abort the upstream request, or read and drop the rest of a short answer. */
  private clientLeft(): void {
    this.waits.delete(this.wait);
    const controller = this.controller;
    // Still queued: dropped unsent when undici reaches it (onRequestStart).
    if (this.done || this.abandoned !== undefined || controller === undefined) return;
    // A stream ends when its client leaves; that is not an abandoned request.
    if (this.ctx.forwarded?.longRunning === true) return controller.abort(CLIENT_GONE);
    const bodyLeft = this.length === undefined ? 0 : this.length - this.timeline.responseBytes;
    // A body still streaming from the client is cut with it; undici cannot finish that request.
    if (!this.ctx.req.complete || this.replay !== undefined || bodyLeft > ABANDONED_MAX_BYTES) {
      this.events.abandoned?.('closed');
      return controller.abort(CLIENT_GONE);
    }
    const timer = setTimeout(() => this.giveUp(), ABANDONED_MAX_MS).unref();
    this.abandoned = { bytesLeft: ABANDONED_MAX_BYTES, timer, entry: this.waits.abandon(this) };
    controller.resume(); // paused for a client that will never drain
  }

  /** Stops reading an abandoned answer: its connection is closed. */
  giveUp(): void {
    this.controller?.abort(CLIENT_GONE);
  }

  /** Called once `pool` has the request. If it must wait for a connection, one held for a client that left is freed for it. */
  dispatched(pool: QueuedCount): void {
    if (this.controller === undefined && !this.done) this.waits.reclaim(pool);
  }

  /** The upstream request is over: nothing to abort, and no longer abandoned. */
  private finished(outcome: AbandonedOutcome): void {
    this.done = true;
    if (this.abandoned === undefined) return;
    clearTimeout(this.abandoned.timer);
    this.waits.release(this.abandoned.entry);
    this.events.abandoned?.(outcome);
  }

  /** False once the client is gone; the answer is then dropped (or the request already aborted). */
  private clientStillThere(): boolean {
    if (this.abandoned === undefined && !this.res.destroyed) return true;
    this.clientLeft();
    return false;
  }

  /** Still queued at the deadline: the client gets a 503 now, and the request is dropped when undici reaches it. */
  expire(): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.events.fail(this.ctx, this.res, noConnectionWithin(this.waits, this.server));
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    this.waits.delete(this.wait);
    // The client left, or was answered 503, while the request waited in the queue. Nothing has
    // been written yet: undici drops a request whose onRequestStart throws and keeps the
    // connection, where abort() here would close it (test/proxy/streaming.test.ts).
    if (this.res.destroyed || this.res.writableEnded) {
      if (this.ctx.forwarded?.longRunning !== true) this.events.abandoned?.('unsent');
      throw CLIENT_GONE;
    }
    requestStarting(this.timeline);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // 1xx informational: the final response follows.
    const length = headers['content-length'];
    this.length = typeof length === 'string' ? Number(length) : undefined;
    if (!this.clientStillThere()) {
      if (this.abandoned !== undefined && (this.length ?? 0) > this.abandoned.bytesLeft) controller.abort(CLIENT_GONE);
      return;
    }
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
    if (!this.clientStillThere()) {
      if (this.abandoned !== undefined && (this.abandoned.bytesLeft -= chunk.length) < 0) controller.abort(CLIENT_GONE);
      return;
    }
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
    this.finished('kept');
    if (this.abandoned !== undefined) return;
    if (this.replay !== undefined) return this.replay();
    this.timeline.endAt = performance.now();
    this.uncork();
    this.res.end();
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.finished('closed');
    this.waits.delete(this.wait);
    if (error === CLIENT_GONE || this.abandoned !== undefined || this.res.writableEnded) return;
    const failure = toProxyError(error, this.server);
    if (!this.res.headersSent) return this.events.fail(this.ctx, this.res, failure);
    // A watch whose API server died: no Status can follow its headers, so the response is cut
    // short as kubectl does (http.ErrAbortHandler); the client sees its stream fail, not end
    // cleanly, and re-lists.
    this.events.broken?.(this.ctx, this.res, failure);
    this.res.destroy(error);
  }
}
