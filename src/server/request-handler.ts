// One request's path: canonical target → stages (host check, static files, API prefix, filters)
// → forward. Each stage either answers and stops, or passes the request on.

import { isLongRunning, requestInfo } from '../observe/request-info.js';
import { RequestTimeline } from '../observe/timeline.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyError } from '../errors.js';
import type { Forwarder } from '../upstream/forward.js';
import { movedPermanently, statusAnswer } from '../stages/answers.js';
import { hostWithoutPort } from '../stages/host-filter.js';
import { encodePath, parseRequestTarget } from '../stages/request-target.js';
import type { Answer, RequestState, Stage, StageResult } from '../stages/stage.js';

/** What happens to a request that every stage passed. */
export type Pass = (state: RequestState) => void;

/** Runs the stages in order; the first one with a result ends the walk. */
export function runStages(stages: readonly Stage[], state: RequestState): StageResult {
  for (const stage of stages) {
    const result = stage.run(state);
    if (result !== undefined) return result;
  }
  return undefined;
}

/** Builds the request state, or the answer when the request target itself is unusable. */
export function readRequest(req: IncomingMessage, isUpgrade: boolean): RequestState | Answer {
  const target = parseRequestTarget(req.url ?? '');
  if (target.kind === 'invalid') return statusAnswer(400, 'BadRequest', target.message);
  if (target.kind === 'redirect') return movedPermanently(target.location);
  return {
    req,
    method: req.method ?? '',
    host: hostWithoutPort(req.headers.host),
    path: target.path,
    query: target.query,
    isUpgrade,
  };
}

export function writeAnswer(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.statusCode, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(res.req.method === 'HEAD' ? undefined : answer.body);
}

/** Answers a request that could not be forwarded with a Kubernetes Status body. */
export function writeProxyError(res: ServerResponse, error: ProxyError): void {
  // The client may have left while credentials were fetched.
  if (res.destroyed || res.headersSent) return;
  const auditId = RequestTimeline.of(res)?.auditId;
  if (auditId) res.setHeader('Audit-Id', auditId);
  writeAnswer(res, statusAnswer(error.statusCode, error.reason, error.message, error.details));
}

export function createRequestHandler(stages: readonly Stage[], forwarder: Forwarder) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const state = readRequest(req, false);
    if (!('req' in state)) return writeAnswer(res, state);
    const result = runStages(stages, state);
    if (result === undefined) return forwarder.forward(req, res, encodePath(state.path), state.query, isLongRunning(requestInfo(state.method, state.path, state.query)));
    if ('serve' in result) return result.serve(res);
    writeAnswer(res, result);
  };
}
