// Where the audit log meets a request's path: started once the route is known (so the event names
// what goes upstream), told the proxy's own answers, and finished once, whoever ends the request.

import type { Auditor } from '../audit/auditor.js';
import { ANNOTATION } from '../audit/request-audit.js';
import type { Forwarded, RequestContext } from '../observe/request-context.js';
import { requestInfoOfUrl } from '../observe/request-info.js';
import type { Answer, Serve } from '../stages/stage.js';

/** Decides the request's audit level and writes RequestReceived; nothing when the policy says None. */
export function beginAudit(auditor: Auditor | undefined, ctx: RequestContext, route: Answer | Serve | Forwarded): void {
  if (auditor === undefined) return;
  const { req } = ctx;
  const forwarded = 'info' in route ? route : undefined;
  // Forwarded: named by what goes upstream, as the API server will name it; else as received.
  const info = forwarded?.info ?? requestInfoOfUrl(req.method ?? '', req.url ?? '');
  const path = forwarded?.path ?? (req.url ?? '').split('?', 1)[0]!;
  ctx.audit = auditor.begin(req, ctx.auditId, ctx.timeline.startedAt, path, info, forwarded?.longRunning ?? false);
}

/** One of the proxy's own answers (a refusal, a failure): its Status message and reason go into the event. */
export function auditAnswer(ctx: RequestContext, answer: Answer): void {
  const audit = ctx.audit;
  if (audit === undefined || answer.code === undefined) return;
  let status: { message?: unknown; reason?: unknown } = {};
  try {
    status = JSON.parse(answer.body) as typeof status;
  } catch {
    // not a Status: the code alone
  }
  audit.setStatus(answer.statusCode, typeof status.message === 'string' ? status.message : undefined, typeof status.reason === 'string' ? status.reason : undefined);
}

/**
 * The final event: `status` is what was sent (undefined if nothing was), `finished` whether the
 * answer was sent whole (false: the client left, or the stream was cut), `stopping` whether the
 * proxy is stopping (it ends streams and, after the grace period, cuts what still runs).
 */
export function finishAudit(ctx: RequestContext, status: number | undefined, finished: boolean, stopping: boolean): void {
  const audit = ctx.audit;
  if (audit === undefined) return;
  audit.annotate(ANNOTATION.answeredBy, ctx.answeredBy);
  if (ctx.code !== undefined) audit.annotate(ANNOTATION.code, ctx.code);
  if (stopping && (!finished || ctx.forwarded?.longRunning === true)) audit.annotate(ANNOTATION.endedBy, 'proxy-stop');
  else if (!finished) audit.annotate(ANNOTATION.endedBy, 'client');
  audit.complete(status, ctx.timeline.phases());
}
