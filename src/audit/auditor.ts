// The audit log's front: decides each request's level by the policy and starts its RequestAudit,
// hands events to the backends (file, webhook), counts them, and at a stop ends every audit still
// open before the backends are flushed, so that every request that reached the proxy has exactly
// one final event.

import type { IncomingMessage } from 'node:http';
import { LinkedSet } from '../linked-set.js';
import type { ActingUser } from '../credentials/identity.js';
import type { RequestInfo } from '../observe/request-info.js';
import type { AuditBackend, AuditEvent, AuditUser } from './event.js';
import { decide, type AuditPolicy } from './policy.js';
import { ANNOTATION, RequestAudit, type AuditSink } from './request-audit.js';

export interface AuditSettings {
  readonly policy: AuditPolicy;
  /** Bytes of a body kept for requestObject / responseObject (--audit-body-limit). */
  readonly bodyLimit: number;
  /** Replace Secret data and credential fields in bodies (--audit-redact). */
  readonly redact: boolean;
  readonly user: ActingUser;
  readonly impersonated?: ActingUser;
}

function auditUser(user: ActingUser): AuditUser {
  return { username: user.username, ...(user.uid === undefined ? {} : { uid: user.uid }), ...(user.groups.length === 0 ? {} : { groups: user.groups }) };
}

export class Auditor implements AuditSink {
  readonly bodyLimit: number;
  readonly redact: boolean;
  user: AuditUser;
  readonly impersonatedUser?: AuditUser;
  userSource: string;
  private policyUser: { readonly name: string; readonly groups: readonly string[] };
  /** A list, not a Set: linked-set.ts says why. */
  private readonly open = new LinkedSet<RequestAudit>();
  /** Events handed to the backends, by stage. */
  readonly counts = new Map<string, number>();

  constructor(
    private readonly settings: AuditSettings,
    private readonly backends: readonly AuditBackend[],
    private readonly onEvent?: (event: AuditEvent) => void,
  ) {
    this.bodyLimit = settings.bodyLimit;
    this.redact = settings.redact;
    this.user = auditUser(settings.user);
    if (settings.impersonated !== undefined) this.impersonatedUser = auditUser(settings.impersonated);
    this.userSource = settings.user.source;
    // kube-apiserver evaluates its policy in WithAudit, before impersonation: the real user.
    this.policyUser = { name: settings.user.username, groups: settings.user.groups };
  }

  /** The API server named the user (SelfSubjectReview): events and policy use that from now on. */
  identify(user: AuditUser): void {
    this.user = user;
    this.userSource = 'self-subject-review';
    this.policyUser = { name: user.username, groups: user.groups ?? [] };
  }

  /** Starts the audit of a request named `info`; undefined when the policy says None. */
  begin(req: IncomingMessage, auditId: string, startedAt: number, path: string, info: RequestInfo, longRunning: boolean): RequestAudit | undefined {
    const decision = decide(this.settings.policy, { user: this.policyUser, path, info });
    if (decision.level === 'None') return undefined;
    const audit = new RequestAudit(this, req, auditId, startedAt, info, longRunning, decision);
    audit.openEntry = this.open.add(audit);
    return audit;
  }

  emit(event: AuditEvent): void {
    this.counts.set(event.stage, (this.counts.get(event.stage) ?? 0) + 1);
    this.onEvent?.(event);
    for (const backend of this.backends) backend.write(event);
  }

  finished(audit: RequestAudit): void {
    if (audit.openEntry !== undefined) this.open.delete(audit.openEntry);
  }

  /** Ends what is still open (a final event each, marked as ended by the stop), then flushes every backend. */
  async close(): Promise<void> {
    for (const audit of [...this.open]) {
      audit.annotate(ANNOTATION.endedBy, 'proxy-stop');
      audit.complete(undefined);
    }
    await Promise.all(this.backends.map((backend) => backend.close()));
  }
}
