// One request's context, made at the listener for plain requests and upgrades alike, and handed
// to every step that follows (stages' outcome, forwarder or upgrader, log line, metrics, the
// audit log): its Audit-ID, its clock, what was forwarded and how the API server names it, a
// child logger bound to the ID, and who answered.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestAudit } from '../audit/request-audit.js';
import type { ErrorCode } from '../errors.js';
import type { Logger } from './logger.js';
import type { RequestInfo } from './request-info.js';
import { RequestTimeline } from './timeline.js';

/** The request as it goes upstream, once every stage passed it. */
export interface Forwarded {
  /** Encoded path after --api-prefix handling. */
  readonly path: string;
  /** Raw query with its `?`, or ''. */
  readonly query: string;
  /** How the API server will name the forwarded path (not the path as received). */
  readonly info: RequestInfo;
  /** kube-apiserver's long-running classification: rides the stream pools. */
  readonly longRunning: boolean;
  /** Headers the answer must carry (CORS for an allowed origin); the API server's own CORS headers never pass. */
  readonly responseHeaders?: Readonly<Record<string, string>>;
}

/** The client's Audit-ID, or a new UUID; kube-apiserver adopts it for its own audit event. */
function auditIdOf(req: IncomingMessage): string {
  const own = req.headers['audit-id'];
  return typeof own === 'string' && own !== '' ? own : randomUUID();
}

export class RequestContext {
  readonly auditId: string;
  readonly timeline = new RequestTimeline();
  /** Set when the stages passed the request on. */
  forwarded?: Forwarded;
  /** Set when the answer is the proxy's own refusal or failure (errors.ts). */
  code?: ErrorCode;
  /** Set when the audit policy records this request (--audit-log-path, --audit-webhook-config-file). */
  audit?: RequestAudit;
  private child?: Logger;

  constructor(
    readonly req: IncomingMessage,
    private readonly root: Logger,
  ) {
    this.auditId = auditIdOf(req);
  }

  /** A logger whose every line carries this request's Audit-ID; made on first use only. */
  get log(): Logger {
    return (this.child ??= this.root.child({ auditID: this.auditId }));
  }

  /** Who gave the answer: the API server, or the proxy itself (a stage, a static file, an error). */
  get answeredBy(): 'upstream' | 'proxy' {
    return this.forwarded !== undefined && this.code === undefined ? 'upstream' : 'proxy';
  }
}
