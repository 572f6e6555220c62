// One line per request at -v=6 and above, written when the response is done: what was asked,
// what came back, and where the time went (observe/timeline.ts). -v=7 adds the request headers
// as sent upstream, -v=8 the API server's response headers, -v=9 the request as a curl command;
// headers sorted, every credential masked (observe/redact.ts), secrets in the query too.

import { requestInfoOfUrl } from '../observe/request-info.js';
import { clientAddress } from '../upstream/headers.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observe/logger.js';
import { curlCommand, redactTarget, redactedHeaders } from '../observe/redact.js';
import { RequestTimeline } from '../observe/timeline.js';
import type { UpgradeReport } from '../upstream/upgrade.js';

export type RequestLog = (req: IncomingMessage, res: ServerResponse) => void;

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
    ...(sent === undefined || verbosity < 9 ? {} : { curl: curlCommand(method, origin + sent.target, sent.headers) }),
  };
}

/** The request as the API server will name it (its RBAC verb, resource and object), for forwarded requests. */
function apiFields(req: IncomingMessage): Record<string, string> {
  const info = requestInfoOfUrl(req.method ?? '', req.url ?? '');
  if (!info.isResourceRequest) return { verb: info.verb };
  const fields: Record<string, string> = { verb: info.verb, resource: info.subresource === '' ? info.resource : `${info.resource}/${info.subresource}` };
  if (info.namespace !== '') fields.namespace = info.namespace;
  if (info.name !== '') fields.name = info.name;
  return fields;
}

export function createRequestLog(logger: Logger, verbosity: number, origin: string): RequestLog {
  if (!logger.isLevelEnabled('debug')) return NO_LOG;
  return (req, res) => {
    const start = process.hrtime.bigint();
    // Read now: by 'close' the socket may be detached from the request.
    const client = clientAddress(req.socket.remoteAddress);
    res.once('close', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const timeline = RequestTimeline.of(res);
      logger.debug(
        {
          method: req.method,
          url: redactTarget(req.url ?? ''),
          status: res.statusCode,
          completed: res.writableFinished,
          ms: Math.round(ms * 1000) / 1000,
          // Joins this line to the API server's audit event (its auditID).
          auditID: timeline?.auditId,
          ...(timeline === undefined ? {} : apiFields(req)),
          client,
          userAgent: req.headers['user-agent'],
          ...(timeline === undefined ? {} : timelineFields(req.method ?? '', timeline, verbosity, origin)),
        },
        'request completed',
      );
    });
  };
}

export type UpgradeLog = (req: IncomingMessage, report: UpgradeReport) => void;

/**
 * One line per upgrade request (exec, attach, port-forward) when it is over, at -v=6 and above:
 * the API server's 101 or refusal (or our own error status), the protocol, the phases up to the
 * response head, then for a 101 the session: its duration, bytes each way and who closed first.
 */
export function createUpgradeLog(logger: Logger, verbosity: number, origin: string): UpgradeLog | undefined {
  if (!logger.isLevelEnabled('debug')) return undefined;
  return (req, report) => {
    const { session, sent } = report;
    logger.debug(
      {
        method: req.method,
        url: redactTarget(req.url ?? ''),
        status: report.status,
        protocol: req.headers.upgrade,
        ms: report.ms,
        auditID: report.auditId,
        connection: report.connection,
        phases: report.phases,
        ...(session === undefined
          ? {}
          : { sessionMs: session.ms, bytesToUpstream: session.bytesToUpstream, bytesToClient: session.bytesToClient }),
        closedBy: session?.closedBy ?? report.closedBy,
        ...(sent === undefined ? {} : { requestHeaders: redactedHeaders(sent.headers) }),
        ...(report.responseHeaders === undefined ? {} : { responseHeaders: redactedHeaders(report.responseHeaders) }),
        ...(sent === undefined || verbosity < 9 ? {} : { curl: curlCommand(req.method ?? 'GET', origin + sent.target, sent.headers) }),
      },
      'upgrade completed',
    );
  };
}
