// One request's audit: its level, decided once by the policy; the event fields every stage shares;
// the captured bodies; the proxy's own annotations. Writes RequestReceived when made,
// ResponseStarted when a long-running request's headers go out, and exactly one final event
// (ResponseComplete or Panic) whatever ends the request: its response, the client leaving, an
// error, a stop of the proxy.

import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LinkedEntry } from '../linked-set.js';
import type { RequestInfo } from '../observe/request-info.js';
import { BodyCapture } from './body-capture.js';
import { microTime, type AuditEvent, type AuditUser, type ObjectReference, type ResponseStatus } from './event.js';
import type { AuditStage, PolicyDecision } from './policy.js';
import { cleanObject } from './redact-object.js';

/** kube-apiserver's limit and marker (pkg/audit/request.go). */
const MAX_USER_AGENT = 1024;
const USER_AGENT_TRUNCATED = '...TRUNCATED';

/** Annotation keys: the proxy's decisions, under a prefix of its own. */
export const ANNOTATION = {
  answeredBy: 'kube-auth-proxy/answered-by',
  code: 'kube-auth-proxy/code',
  userSource: 'kube-auth-proxy/user-source',
  timeline: 'kube-auth-proxy/timeline',
  replayed: 'kube-auth-proxy/replayed-after-401',
  requestObject: 'kube-auth-proxy/request-object',
  responseObject: 'kube-auth-proxy/response-object',
  endedBy: 'kube-auth-proxy/ended-by',
} as const;

/** What every request audit of one proxy shares. */
export interface AuditSink {
  readonly bodyLimit: number;
  readonly redact: boolean;
  readonly user: AuditUser;
  readonly impersonatedUser?: AuditUser;
  readonly userSource: string;
  emit(event: AuditEvent): void;
  finished(audit: RequestAudit): void;
}

/** What the request itself tells: where it came from, as kube-apiserver's utilnet.SourceIPs reads it. */
function sourceIPs(req: IncomingMessage): string[] {
  const ips: string[] = [];
  const forwarded = req.headers['x-forwarded-for'];
  for (const part of (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',')) {
    const ip = part.trim();
    if (ip !== '') ips.push(ip);
  }
  const real = req.headers['x-real-ip'];
  if (typeof real === 'string' && real.trim() !== '' && !ips.includes(real.trim())) ips.push(real.trim());
  const remote = req.socket.remoteAddress?.replace(/^::ffff:/, '');
  if (remote !== undefined && ips.at(-1) !== remote) ips.push(remote);
  return ips;
}

function userAgentOf(req: IncomingMessage): string | undefined {
  const agent = req.headers['user-agent'];
  if (agent === undefined) return undefined;
  return agent.length > MAX_USER_AGENT ? agent.slice(0, MAX_USER_AGENT) + USER_AGENT_TRUNCATED : agent;
}

/** kube-apiserver fills objectRef for every resource request (name empty for a list). */
function objectRefOf(info: RequestInfo): ObjectReference | undefined {
  if (!info.isResourceRequest) return undefined;
  const ref: Record<string, string> = {};
  if (info.resource !== '') ref.resource = info.resource;
  if (info.namespace !== '') ref.namespace = info.namespace;
  if (info.name !== '') ref.name = info.name;
  if (info.apiGroup !== '') ref.apiGroup = info.apiGroup;
  if (info.apiVersion !== '') ref.apiVersion = info.apiVersion;
  if (info.subresource !== '') ref.subresource = info.subresource;
  return ref;
}

const LEVEL_RANK = { None: 0, Metadata: 1, Request: 2, RequestResponse: 3 } as const;

export class RequestAudit {
  /** Kept when the level is Request or above and the request names a resource (never for /healthz and the like). */
  readonly requestBody?: BodyCapture;
  /** Kept at RequestResponse; or made for an error answer, to read its Status message. */
  responseBody?: BodyCapture;
  /** The auditor's handle on this audit among the open ones (auditor.ts). */
  openEntry?: LinkedEntry<RequestAudit>;
  private readonly level: AuditEvent['level'];
  private readonly auditID: string;
  private readonly requestURI: string;
  private readonly verb: string;
  private readonly sourceIPs: readonly string[];
  private readonly userAgent: string | undefined;
  /** Completed with the name from the body of a create, as kube-apiserver does. */
  private objectRef: ObjectReference | undefined;
  /** Request or above: the request body is written; below, it is read for a create's name only. */
  private readonly keepsRequestObject: boolean;
  private readonly requestReceivedTimestamp: string;
  private readonly annotations: Record<string, string> = {};
  private status?: ResponseStatus;
  private started = false;
  private over = false;
  /** Wall-clock time of the request's arrival, from the monotonic clock the timeline uses. */
  private readonly receivedAt: number;

  constructor(
    private readonly sink: AuditSink,
    req: IncomingMessage,
    auditId: string,
    startedAt: number,
    info: RequestInfo,
    longRunning: boolean,
    private readonly decision: PolicyDecision,
  ) {
    const level = (this.level = decision.level as AuditEvent['level']);
    this.receivedAt = performance.timeOrigin + startedAt;
    this.auditID = auditId;
    this.requestURI = req.url ?? '';
    this.verb = info.verb;
    this.sourceIPs = sourceIPs(req);
    this.userAgent = userAgentOf(req);
    this.objectRef = objectRefOf(info);
    this.requestReceivedTimestamp = microTime(this.receivedAt);
    this.annotations[ANNOTATION.userSource] = sink.userSource;
    this.keepsRequestObject = info.isResourceRequest && LEVEL_RANK[level] >= LEVEL_RANK.Request;
    // kube-apiserver names a created object from its body (audit.LogRequestObject), at every level.
    const namesFromBody = info.isResourceRequest && info.verb === 'create' && info.name === '';
    if (this.keepsRequestObject || namesFromBody) this.requestBody = new BodyCapture(sink.bodyLimit);
    // A watch or a log stream is no object: kube-apiserver writes no responseObject for it either.
    if (info.isResourceRequest && level === 'RequestResponse' && !longRunning) this.responseBody = new BodyCapture(sink.bodyLimit);
    this.emit('RequestReceived');
  }

  annotate(key: string, value: string): void {
    this.annotations[key] = value;
  }

  /** The answer's status, with the message and reason of a Status the proxy wrote itself. */
  setStatus(code: number, message?: string, reason?: string): void {
    this.status = {
      metadata: {},
      ...(code >= 400 ? { status: 'Failure' as const } : {}),
      ...(message === undefined ? {} : { message }),
      ...(reason === undefined ? {} : { reason }),
      code,
    };
  }

  /** An error answer from the API server: keep its body (capped) to read the Status message from. */
  watchErrorBody(): void {
    this.responseBody ??= new BodyCapture(this.sink.bodyLimit);
  }

  /** Headers of a long-running request went out: kube-apiserver's ResponseStarted. */
  responseStarted(code: number): void {
    if (this.started || this.over) return;
    this.started = true;
    this.status ??= { metadata: {}, code };
    this.emit('ResponseStarted');
  }

  /** The final event; later calls do nothing. `code`: the status sent, if any was. */
  complete(code: number | undefined, timeline?: object): void {
    if (this.over) return;
    if (code !== undefined && this.status?.code !== code) this.setStatus(code);
    this.readErrorStatus();
    if (timeline !== undefined) this.annotations[ANNOTATION.timeline] = JSON.stringify(timeline);
    this.finish('ResponseComplete');
  }

  /** The request's handler threw: kube-apiserver's Panic stage. */
  panic(error: unknown): void {
    if (this.over) return;
    this.setStatus(500, `panic: ${error instanceof Error ? error.message : String(error)}`, 'InternalError');
    this.finish('Panic');
  }

  private finish(stage: AuditStage): void {
    this.over = true;
    this.emit(stage);
    this.sink.finished(this);
  }

  /** A Status body of an error answer gives the event its message and reason. */
  private readErrorStatus(): void {
    const status = this.status;
    if (status === undefined || status.code < 400 || status.message !== undefined || this.responseBody === undefined) return;
    const parsed = this.responseBody.json();
    if (!('value' in parsed)) return;
    const body = parsed.value as { kind?: unknown; message?: unknown; reason?: unknown };
    if (body.kind !== 'Status') return;
    this.setStatus(status.code, typeof body.message === 'string' ? body.message : undefined, typeof body.reason === 'string' ? body.reason : undefined);
  }

  private emit(stage: AuditStage): void {
    if (this.decision.omitStages.has(stage)) return;
    const final = stage === 'ResponseComplete' || stage === 'Panic';
    const objects = final ? this.objects() : undefined;
    // One literal in kube-apiserver's field order; absent fields are undefined, which JSON leaves out.
    const event: AuditEvent = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: this.level,
      auditID: this.auditID,
      stage,
      requestURI: this.requestURI,
      verb: this.verb,
      user: this.sink.user,
      impersonatedUser: this.sink.impersonatedUser,
      sourceIPs: this.sourceIPs,
      userAgent: this.userAgent,
      objectRef: this.objectRef,
      responseStatus: stage === 'RequestReceived' ? undefined : this.status,
      requestObject: objects?.requestObject,
      responseObject: objects?.responseObject,
      requestReceivedTimestamp: this.requestReceivedTimestamp,
      stageTimestamp: microTime(performance.timeOrigin + performance.now()),
      annotations: { ...this.annotations },
    };
    this.sink.emit(event);
  }

  /** requestObject and responseObject of the final event, cleaned; a body that cannot be written is named in an annotation. */
  private objects(): Pick<AuditEvent, 'requestObject' | 'responseObject'> {
    const out: { requestObject?: unknown; responseObject?: unknown } = {};
    const clean = { redact: this.sink.redact, omitManagedFields: this.decision.omitManagedFields };
    if (this.requestBody !== undefined) {
      const parsed = this.requestBody.json();
      const name = this.objectRef?.name === undefined ? this.requestBody.objectMeta(parsed)?.name : undefined;
      if (name !== undefined) this.objectRef = { ...this.objectRef, name };
      if (this.keepsRequestObject) {
        if ('value' in parsed) out.requestObject = cleanObject(parsed.value, clean);
        else if (parsed.reason !== 'empty') this.annotations[ANNOTATION.requestObject] = parsed.reason;
      }
    }
    if (this.decision.level === 'RequestResponse' && this.responseBody !== undefined) {
      const parsed = this.responseBody.json();
      if ('value' in parsed) out.responseObject = cleanObject(parsed.value, clean);
      else if (parsed.reason !== 'empty') this.annotations[ANNOTATION.responseObject] = parsed.reason;
    }
    return out;
  }
}
