// What every route of the example API server gets: the parsed request, who sent it, its body
// (already read and hashed) and the server's pod store.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Identity } from './auth.js';
import type { ExecSession } from './exec-websocket.js';
import type { PodStore } from './pods.js';
import type { PortForwardStream } from './portforward.js';
import type { BodyInfo } from './respond.js';

/** One request, as routes see it. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** The path split on `/` without the leading empty segment, not decoded: `/api/v1` → `['api', 'v1']`. */
  segments: string[];
  query: URLSearchParams;
  body: BodyInfo;
  identity: Identity;
  store: PodStore;
  /** `host:port` the server listens on, for discovery documents. */
  serverAddress: string;
  /** Exec sessions so far, in start order. */
  execSessions: ExecSession[];
  /** Port-forwarded connections so far, in start order. */
  portForwards: PortForwardStream[];
  /** Set for upgrade requests: `res` writes to this socket until a route takes it over. */
  upgrade?: UpgradeRequest;
  /** The record of this request (absent when recording is off), for routes that stream to add to. */
  seen?: { bytesServed: number };
}

/** The connection of an upgrade request and the bytes that came after its head. */
export interface UpgradeRequest {
  socket: Socket;
  head: Buffer;
}

/** A route answers and returns true, or returns false to let the next route try. */
export type Route = (ctx: RequestContext) => boolean;

/** Splits a request target into path segments and query, keeping the path as the client sent it. */
export function parseTarget(target: string): { segments: string[]; query: URLSearchParams } {
  // An absolute-form target (`https://host/path`, RFC 9112 §3.2.2) still names a path.
  const relative = /^https?:\/\//i.test(target) ? target.replace(/^https?:\/\/[^/?]*/i, '') : target;
  const mark = relative.indexOf('?');
  const path = mark === -1 ? relative : relative.slice(0, mark);
  const query = new URLSearchParams(mark === -1 ? '' : relative.slice(mark + 1));
  return { segments: path.split('/').slice(1), query };
}

/** Whether segments equal `pattern`, where `*` matches any one non-empty segment. */
export function matches(segments: string[], ...pattern: string[]): boolean {
  return segments.length === pattern.length && pattern.every((p, i) => (p === '*' ? segments[i] !== '' : p === segments[i]));
}
