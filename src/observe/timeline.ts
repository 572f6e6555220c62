// Where one proxied request's time went, measured from the events of the parts that do the work:
// our own stages (credentials), undici's handler callbacks (request written, first and last
// response byte), undici's `undici:client:sendHeaders` diagnostics channel (which connection),
// and the new connection's socket events (DNS, TCP, TLS). Nothing is estimated.

import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** When a connection to the API server was made; times are `performance.now()` milliseconds. */
export interface ConnectionTiming {
  readonly startedAt: number;
  lookupAt?: number;
  connectAt?: number;
  /** TLS handshake done (https), or TCP connected (http). */
  readyAt?: number;
  /** Whether a request has been sent on it: only the first one is charged the connect time. */
  used: boolean;
}

/** Phases in milliseconds, absent when they did not happen (a reused connection has no tls). */
export interface Phases {
  credentials?: number;
  /** Waiting for a free connection, without the time spent opening a new one. */
  queue?: number;
  dns?: number;
  tcp?: number;
  tls?: number;
  /** Request headers written → request body written (0 without a body). */
  upload?: number;
  /** Request fully written → first response byte. */
  server?: number;
  /** First response byte → last. */
  transfer?: number;
  total: number;
}

const connectionTimings = new WeakMap<Socket, ConnectionTiming>();
/**
 * undici's request objects, as seen on its channels, to the timelines they belong to: requests
 * with a body only, the ones the body channels report on. An entry for every request, GETs too,
 * made V8 promote requests' objects to the old generation (src/linked-set.ts says more).
 */
const requestTimelines = new WeakMap<object, RequestTimeline>();

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export class RequestTimeline {
  readonly startedAt = performance.now();
  credentialsAt?: number;
  sentAt?: number;
  /** The request body, if any, was written too (undici:request:bodySent). */
  bodySentAt?: number;
  /** Request body bytes written upstream (undici:request:bodyChunkSent). */
  requestBytes = 0;
  firstByteAt?: number;
  endAt?: number;
  /** Set by the channel subscriber: the connection's timing, or `reused`. */
  connection?: ConnectionTiming | 'reused';
  responseBytes = 0;
  /** Set by the forwarder: a request body goes up, so the body channels are followed for this request. */
  hasBody = false;
  /** Kept only at -v=7 and above: the request as sent upstream (target and headers, unredacted). */
  sent?: { readonly target: string; readonly headers: readonly string[] };
  /** Set to keep the API server's response headers (-v=8 and above). */
  keepResponseHeaders = false;
  responseHeaders?: Readonly<Record<string, string | string[] | undefined>>;

  phases(now = performance.now()): Phases {
    const phases: Phases = { total: round((this.endAt ?? now) - this.startedAt) };
    const ready = this.credentialsAt ?? this.startedAt;
    if (this.credentialsAt !== undefined) phases.credentials = round(this.credentialsAt - this.startedAt);
    const connection = this.connection;
    let connectMs = 0;
    if (connection !== undefined && connection !== 'reused') {
      const { startedAt, lookupAt, connectAt, readyAt } = connection;
      if (lookupAt !== undefined) phases.dns = round(lookupAt - startedAt);
      if (connectAt !== undefined) phases.tcp = round(connectAt - (lookupAt ?? startedAt));
      if (readyAt !== undefined && connectAt !== undefined && readyAt > connectAt) phases.tls = round(readyAt - connectAt);
      connectMs = (readyAt ?? startedAt) - startedAt;
    }
    if (this.sentAt !== undefined) phases.queue = round(Math.max(0, this.sentAt - ready - connectMs));
    if (this.sentAt !== undefined && this.bodySentAt !== undefined && this.requestBytes > 0) phases.upload = round(this.bodySentAt - this.sentAt);
    const written = this.bodySentAt ?? this.sentAt;
    if (written !== undefined && this.firstByteAt !== undefined) phases.server = round(this.firstByteAt - written);
    if (this.firstByteAt !== undefined && this.endAt !== undefined) phases.transfer = round(this.endAt - this.firstByteAt);
    return phases;
  }

  /**
   * `Server-Timing` (W3C) for the phases known when the response headers go out. Sent on every
   * response, so built straight from the fields rather than through phases(); the same figures.
   */
  serverTiming(): string {
    const { connection, credentialsAt, startedAt, sentAt, bodySentAt, firstByteAt } = this;
    let header = credentialsAt === undefined ? '' : `credentials;dur=${round(credentialsAt - startedAt)}`;
    const ready = credentialsAt ?? startedAt;
    let connectMs = 0;
    let connectParts = '';
    if (connection !== undefined && connection !== 'reused') {
      const { lookupAt, connectAt, readyAt } = connection;
      if (lookupAt !== undefined) connectParts += `, dns;dur=${round(lookupAt - connection.startedAt)}`;
      if (connectAt !== undefined) connectParts += `, tcp;dur=${round(connectAt - (lookupAt ?? connection.startedAt))}`;
      if (readyAt !== undefined && connectAt !== undefined && readyAt > connectAt) connectParts += `, tls;dur=${round(readyAt - connectAt)}`;
      connectMs = (readyAt ?? connection.startedAt) - connection.startedAt;
    }
    if (sentAt !== undefined) header += `, queue;dur=${round(Math.max(0, sentAt - ready - connectMs))}`;
    header += connectParts;
    if (sentAt !== undefined && bodySentAt !== undefined && this.requestBytes > 0) header += `, upload;dur=${round(bodySentAt - sentAt)}`;
    const written = bodySentAt ?? sentAt;
    if (written !== undefined && firstByteAt !== undefined) header += `, server;dur=${round(firstByteAt - written)}`;
    return header.startsWith(', ') ? header.slice(2) : header;
  }
}

/** Records when a new connection looked up, connected and finished its handshake. */
export function recordConnection(socket: Socket, https: boolean): ConnectionTiming {
  const timing: ConnectionTiming = { startedAt: performance.now(), used: false };
  connectionTimings.set(socket, timing);
  socket.once('lookup', () => (timing.lookupAt = performance.now()));
  socket.once('connect', () => {
    timing.connectAt = performance.now();
    if (!https) timing.readyAt = timing.connectAt;
  });
  if (https) socket.once('secureConnect', () => (timing.readyAt = performance.now()));
  return timing;
}

/** For connectors that hand the socket over only when it is ready (through a forward proxy). */
export function recordReadyConnection(socket: Socket, startedAt: number): ConnectionTiming {
  const timing: ConnectionTiming = { startedAt, connectAt: startedAt, readyAt: performance.now(), used: false };
  connectionTimings.set(socket, timing);
  return timing;
}

/**
 * The timeline whose request undici is about to write. undici calls the handler's
 * onRequestStart and then, synchronously, publishes `undici:client:sendHeaders` with the socket.
 */
let starting: RequestTimeline | undefined;

export function requestStarting(timeline: RequestTimeline): void {
  timeline.sentAt = performance.now();
  starting = timeline;
}

let subscribed = false;

/**
 * Subscribes once to undici's channels: which connection carries a request (sendHeaders), how
 * many body bytes went out (bodyChunkSent) and when the whole request was written (bodySent).
 */
export function watchUndiciConnections(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe('undici:request:bodyChunkSent', (message) => {
    const { request, chunk } = message as { request: object; chunk: Uint8Array | string };
    const timeline = requestTimelines.get(request);
    if (timeline !== undefined) timeline.requestBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
  });
  subscribe('undici:request:bodySent', (message) => {
    const timeline = requestTimelines.get((message as { request: object }).request);
    if (timeline !== undefined) timeline.bodySentAt = performance.now();
  });
  subscribe('undici:client:sendHeaders', (message) => {
    const timeline = starting;
    starting = undefined;
    if (timeline === undefined) return;
    if (timeline.hasBody) requestTimelines.set((message as { request: object }).request, timeline);
    const socket = (message as { socket: Socket }).socket;
    const timing = connectionTimings.get(socket);
    if (timing === undefined || timing.used) timeline.connection = 'reused';
    else {
      timing.used = true;
      timeline.connection = timing;
    }
  });
}
