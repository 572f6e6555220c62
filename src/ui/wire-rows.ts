// Recorded traffic as the page receives it: the target redacted as the log redacts it
// (observe/redact.ts), the request named as the API server names it, and nothing else of the
// request: no header but the user agent, so no credential can reach the page.

import { redactTarget } from '../observe/redact.js';
import { requestInfoOfUrl, type RequestInfo } from '../observe/request-info.js';
import type { Phases } from '../observe/timeline.js';
import type { OpenStream, Recorded } from './traffic-recorder.js';
import type { RequestRow, StreamRow, WirePhases } from './wire-types.js';

/** A user agent longer than this is cut: it is a label, and any client can send one. */
const MAX_USER_AGENT = 200;

function apiFields(method: string, target: string, info: RequestInfo, auditId: string) {
  return {
    method,
    url: redactTarget(target),
    verb: info.verb,
    resource: info.subresource === '' ? info.resource : `${info.resource}/${info.subresource}`,
    namespace: info.namespace,
    name: info.name,
    auditId,
  };
}

function clientFields(userAgent: string | undefined, address: string | undefined) {
  return { userAgent: (userAgent ?? '').slice(0, MAX_USER_AGENT), address: address ?? '' };
}

/** Only the phases that happened, as the log line has them. */
function wirePhases(phases: Phases): WirePhases {
  const out: Record<string, number> = {};
  for (const [name, ms] of Object.entries(phases) as [string, number | undefined][]) if (ms !== undefined) out[name] = ms;
  return out as WirePhases;
}

export function toRequestRow(id: number, recorded: Recorded): RequestRow {
  const { method, target, forwarded, session } = recorded;
  // Forwarded: named by the path that went upstream, as the log names it. Otherwise as received.
  const info = forwarded?.info ?? requestInfoOfUrl(method, target);
  return {
    id,
    kind: recorded.kind,
    at: recorded.at,
    ...apiFields(method, target, info, recorded.auditId),
    ...clientFields(recorded.userAgent, recorded.address),
    status: recorded.status,
    completed: recorded.completed,
    ms: recorded.ms,
    phases: wirePhases(recorded.phases),
    requestBytes: recorded.requestBytes,
    responseBytes: recorded.responseBytes,
    answeredBy: recorded.answeredBy,
    ...(recorded.code === undefined ? {} : { code: recorded.code }),
    ...(recorded.protocol === undefined ? {} : { protocol: recorded.protocol }),
    ...(session === undefined ? {} : { session: { ms: session.ms, bytesToUpstream: session.bytesToUpstream, bytesToClient: session.bytesToClient, closedBy: session.closedBy } }),
  };
}

export function toStreamRow(stream: OpenStream): StreamRow {
  const { ctx } = stream;
  const { req } = ctx;
  const method = req.method ?? '';
  const target = req.url ?? '';
  const bytes = stream.bytes();
  const protocol = req.headers.upgrade;
  return {
    id: stream.id,
    kind: stream.kind,
    ...(stream.kind === 'upgrade' && protocol !== undefined ? { protocol } : {}),
    at: stream.at,
    ...apiFields(method, target, ctx.forwarded?.info ?? requestInfoOfUrl(method, target), ctx.auditId),
    ...clientFields(req.headers['user-agent'], stream.address),
    bytesToUpstream: bytes.toUpstream,
    bytesToClient: bytes.toClient,
  };
}
