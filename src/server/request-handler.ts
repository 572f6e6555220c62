// One request's path: canonical target → stages (host check, Origin guard, CORS, static files, API prefix, filters)
// → forward. Each stage either answers and stops, or passes the request on. Plain requests and
// upgrades take the same route (routeRequest); only what follows differs.

import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { ProxyError } from '../errors.js';
import type { Forwarded, RequestContext } from '../observe/request-context.js';
import { isLongRunning, requestInfo, type RequestInfo } from '../observe/request-info.js';
import type { Auditor } from '../audit/auditor.js';
import type { Forwarder } from '../upstream/forward.js';
import { auditAnswer, beginAudit } from './audit-hooks.js';
import { errorAnswer, movedPermanently } from '../stages/answers.js';
import { hostWithoutPort } from '../stages/host-filter.js';
import { requestHeadProblem } from '../stages/request-head.js';
import { encodePath, parseRequestTarget } from '../stages/request-target.js';
import type { Answer, RequestState, Serve, Stage, StageResult } from '../stages/stage.js';

/** Runs the stages in order; the first one with a result ends the walk. */
export function runStages(stages: readonly Stage[], state: RequestState): StageResult {
  for (const stage of stages) {
    const result = stage.run(state);
    if (result !== undefined) return result;
  }
  return undefined;
}

/** The methods the proxy passes on, for `Allow`. */
export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/**
 * `OPTIONS *` asks about the server, not a resource (RFC 9110 §9.3.7): answered here, as Go's
 * server answers it for kubectl proxy and kube-apiserver (200, empty), never forwarded.
 */
const SERVER_OPTIONS: Answer = { statusCode: 200, headers: { allow: ALLOWED_METHODS }, body: '' };

/** Builds the request state, or the answer when the request head or target itself is unusable. */
export function readRequest(req: IncomingMessage, isUpgrade: boolean): RequestState | Answer {
  const problem = requestHeadProblem(req, isUpgrade);
  if (problem !== undefined) return errorAnswer(problem);
  if (req.url === '*' && req.method === 'OPTIONS') return SERVER_OPTIONS;
  const target = parseRequestTarget(req.url ?? '');
  if (target.kind === 'invalid') return errorAnswer(new ProxyError('KAP_BAD_REQUEST_TARGET', target.message));
  if (target.kind === 'redirect') return movedPermanently(target.location);
  return {
    req,
    method: req.method ?? '',
    // An absolute-form target names the host itself, and the Host header is ignored (RFC 9112 §3.2.2).
    host: hostWithoutPort(target.authority ?? req.headers.host),
    path: target.path,
    query: target.query,
    isUpgrade,
  };
}

/** Where a request goes: an answer of the proxy's own, a static file, or upstream as `Forwarded`. */
export function routeRequest(stages: readonly Stage[], req: IncomingMessage, isUpgrade: boolean): Answer | Serve | Forwarded {
  const state = readRequest(req, isUpgrade);
  if (!('req' in state)) return state;
  const result = runStages(stages, state);
  const extra = state.responseHeaders;
  if (result !== undefined) return extra === undefined ? result : withHeaders(result, extra);
  return new ForwardedRoute(state, extra);
}

/** Words without which no request is long-running: most requests skip the full parse. */
const LONG_RUNNING_HINT = /watch|proxy|log|exec|attach|portforward/;

/**
 * What goes upstream, named by the path that goes upstream (with --api-prefix=/custom/,
 * /custom/api/v1/pods is a pod list). The request info is parsed when first asked for (the log,
 * the metrics), or at once when the request may be long-running: that decides its pool.
 *
 * A class, so that `info` is one getter on the prototype: a getter in an object literal made per
 * request gives each object a property dictionary with an accessor pair, which V8 allocates in the
 * old generation; its young getter closure, and what that holds, were then promoted with it.
 */
class ForwardedRoute implements Forwarded {
  readonly path: string;
  readonly query: string;
  readonly longRunning: boolean;
  readonly responseHeaders: Readonly<Record<string, string>> | undefined;
  readonly #method: string;
  /** The decoded path, as the request info reads it. */
  readonly #decodedPath: string;
  #info: RequestInfo | undefined;

  constructor(state: RequestState, extra: Readonly<Record<string, string>> | undefined) {
    const { method, path, query } = state;
    this.#method = method;
    this.#decodedPath = path;
    this.path = encodePath(path);
    this.query = query;
    this.longRunning = LONG_RUNNING_HINT.test(path) || LONG_RUNNING_HINT.test(query) ? isLongRunning(this.info) : false;
    this.responseHeaders = extra;
  }

  get info(): RequestInfo {
    return (this.#info ??= requestInfo(this.#method, this.#decodedPath, this.query));
  }
}

/** A stage's answer or file with the headers earlier stages asked for (CORS), so a browser can read a refusal too. */
function withHeaders(result: Answer | Serve, extra: Readonly<Record<string, string>>): Answer | Serve {
  if ('serve' in result) {
    return {
      serve: (res) => {
        for (const [name, value] of Object.entries(extra)) res.setHeader(name, value);
        result.serve(res);
      },
    };
  }
  return { ...result, headers: { ...result.headers, ...extra } };
}

/** HTTP/1.1 connections that got an answer closing them: a request pipelined behind it is not served. */
const closing = new WeakSet<Socket>();

/** Whether the connection was answered with `Connection: close`, so that what follows on it is dropped unread. */
export function isClosing(socket: Socket): boolean {
  return closing.has(socket);
}

/**
 * After a 400, 414 or 431 of its own the proxy closes an HTTP/1.1 connection: the request was
 * malformed, so where the next one starts is a guess. (HTTP/2 frames each stream itself.)
 */
function closesConnection(res: ServerResponse, statusCode: number): boolean {
  return res instanceof ServerResponse && (statusCode === 400 || statusCode === 414 || statusCode === 431);
}

/** Writes one of the proxy's own answers, with the request's Audit-ID. */
export function writeAnswer(ctx: RequestContext, res: ServerResponse, answer: Answer): void {
  if (answer.code !== undefined) ctx.code = answer.code;
  auditAnswer(ctx, answer);
  const close = closesConnection(res, answer.statusCode);
  if (close && res.socket !== null) closing.add(res.socket);
  res.writeHead(answer.statusCode, { ...answer.headers, 'audit-id': ctx.auditId, 'content-length': Buffer.byteLength(answer.body), ...(close ? { connection: 'close' } : {}) });
  res.end(res.req.method === 'HEAD' ? undefined : answer.body);
}

/** Answers a request that could not be forwarded with a Kubernetes Status body. */
export function writeProxyError(ctx: RequestContext, res: ServerResponse, error: ProxyError): void {
  // The client may have left while credentials were fetched.
  if (res.destroyed || res.headersSent) return;
  writeAnswer(ctx, res, errorAnswer(error));
}

export type RequestHandler = (ctx: RequestContext, res: ServerResponse) => void;

export function createRequestHandler(stages: readonly Stage[], forwarder: Forwarder, auditor?: Auditor): RequestHandler {
  return (ctx, res) => {
    const route = routeRequest(stages, ctx.req, false);
    beginAudit(auditor, ctx, route);
    if ('info' in route) {
      ctx.forwarded = route;
      return forwarder.forward(ctx, res);
    }
    if ('serve' in route) {
      res.setHeader('audit-id', ctx.auditId);
      return route.serve(res);
    }
    writeAnswer(ctx, res, route);
  };
}
