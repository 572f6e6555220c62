// One line per request at -v=6 and above, written when the response is done, with the same fields
// whoever answered (the API server, or the proxy itself: a filter, a static file, an error): what
// was asked, how the API server names it, what came back, who answered and why, where the time
// went (observe/timeline.ts). -v=7 adds the request headers as sent upstream, -v=8 the API
// server's response headers, -v=9 the request as a curl command; headers sorted, every
// credential masked (observe/redact.ts), secrets in the query too.

import type { ServerResponse } from 'node:http';
import type { Logger } from '../observe/logger.js';
import type { RequestContext } from '../observe/request-context.js';
import { requestInfoOfUrl, type RequestInfo } from '../observe/request-info.js';
import { curlCommand, redactTarget, redactedHeaders } from '../observe/redact.js';
import type { RequestTimeline } from '../observe/timeline.js';
import { VERBOSITY } from '../observe/verbosity.js';
import { clientAddress } from '../upstream/headers.js';
import type { UpgradeReport } from '../upstream/upgrade.js';

export type RequestLog = (ctx: RequestContext, res: ServerResponse) => void;

const NO_LOG: RequestLog = () => undefined;

function timelineFields(method: string, timeline: RequestTimeline, verbosity: number, origin: string): Record<string, unknown> {
  const { connection, sent } = timeline;
  return {
    ...(connection === undefined ? {} : { connection: connection === 'reused' ? 'reused' : 'new' }),
    phases: timeline.phases(),
    requestBytes: timeline.requestBytes,
    responseBytes: timeline.responseBytes,
    ...(sent === undefined ? {} : { requestHeaders: redactedHeaders(sent.headers) }),
    ...(timeline.responseHeaders === undefined ? {} : { responseHeaders: redactedHeaders(timeline.responseHeaders) }),
    ...(sent === undefined || verbosity < VERBOSITY.curl ? {} : { curl: curlCommand(method, origin + sent.target, sent.headers) }),
  };
}

/** The request as the API server names it (its RBAC verb, resource and object). */
function apiFields(info: RequestInfo): Record<string, string> {
  if (!info.isResourceRequest) return { verb: info.verb };
  const fields: Record<string, string> = { verb: info.verb, resource: info.subresource === '' ? info.resource : `${info.resource}/${info.subresource}` };
  if (info.namespace !== '') fields.namespace = info.namespace;
  if (info.name !== '') fields.name = info.name;
  return fields;
}

/** Fields every line about a request starts with, forwarded or answered by the proxy. */
export function requestFields(ctx: RequestContext): Record<string, unknown> {
  const { req } = ctx;
  // Forwarded: named by the path that went upstream. Otherwise by the path as received.
  const info = ctx.forwarded?.info ?? requestInfoOfUrl(req.method ?? '', req.url ?? '');
  return {
    method: req.method,
    url: redactTarget(req.url ?? ''),
    auditID: ctx.auditId,
    ...apiFields(info),
    answeredBy: ctx.answeredBy,
    ...(ctx.code === undefined ? {} : { code: ctx.code }),
  };
}

export function createRequestLog(logger: Logger, verbosity: number, origin: string): RequestLog {
  if (!logger.isLevelEnabled('debug')) return NO_LOG;
  return (ctx, res) => {
    const { req, timeline } = ctx;
    // Read now: by 'close' the socket may be detached from the request.
    const client = clientAddress(req.socket.remoteAddress);
    res.once('close', () => {
      const { method, url, auditID, ...named } = requestFields(ctx);
      logger.debug(
        {
          method,
          url,
          status: res.statusCode,
          completed: res.writableFinished,
          ms: timeline.phases().total,
          // Joins this line to the API server's audit event (its auditID).
          auditID,
          ...named,
          client,
          userAgent: req.headers['user-agent'],
          ...(ctx.forwarded === undefined ? {} : timelineFields(String(method), timeline, verbosity, origin)),
        },
        'request completed',
      );
    });
  };
}

export type UpgradeLog = (ctx: RequestContext, report: UpgradeReport) => void;

/**
 * One line per upgrade request (exec, attach, port-forward) when it is over, at -v=6 and above:
 * the API server's 101 or refusal (or our own answer), the protocol, the phases up to the
 * response head, then for a 101 the session: its duration, bytes each way and who closed first.
 */
export function createUpgradeLog(logger: Logger, verbosity: number, origin: string): UpgradeLog | undefined {
  if (!logger.isLevelEnabled('debug')) return undefined;
  return (ctx, report) => {
    const { session, sent } = report;
    const { method, url, auditID, ...named } = requestFields(ctx);
    logger.debug(
      {
        method,
        url,
        status: report.status,
        protocol: ctx.req.headers.upgrade,
        ms: report.ms,
        auditID,
        ...named,
        connection: report.connection,
        phases: report.phases,
        ...(session === undefined
          ? {}
          : { sessionMs: session.ms, bytesToUpstream: session.bytesToUpstream, bytesToClient: session.bytesToClient }),
        closedBy: session?.closedBy ?? report.closedBy,
        ...(sent === undefined ? {} : { requestHeaders: redactedHeaders(sent.headers) }),
        ...(report.responseHeaders === undefined ? {} : { responseHeaders: redactedHeaders(report.responseHeaders) }),
        ...(sent === undefined || verbosity < VERBOSITY.curl ? {} : { curl: curlCommand(ctx.req.method ?? 'GET', origin + sent.target, sent.headers) }),
      },
      'upgrade completed',
    );
  };
}
