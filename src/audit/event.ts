// The audit.k8s.io/v1 Event, as kube-apiserver writes it (k8s.io/apiserver pkg/apis/audit/v1
// types.go), so that every consumer of the API server's own audit log (Falco's k8saudit, Datadog,
// Elastic, Azure Monitor…) reads the proxy's unchanged. Field names and optionality follow the Go
// struct tags: absent fields are left out, never written as null.

import type { AuditLevel, AuditStage } from './policy.js';

/** authentication/v1 UserInfo. */
export interface AuditUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

export interface ObjectReference {
  readonly resource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly apiGroup?: string;
  readonly apiVersion?: string;
  readonly resourceVersion?: string;
  readonly subresource?: string;
}

/** metav1.Status as kube-apiserver puts it in `responseStatus`. */
export interface ResponseStatus {
  readonly metadata: Record<string, never>;
  readonly status?: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: string;
  readonly code: number;
}

export interface AuditEvent {
  readonly kind: 'Event';
  readonly apiVersion: 'audit.k8s.io/v1';
  readonly level: Exclude<AuditLevel, 'None'>;
  readonly auditID: string;
  readonly stage: AuditStage;
  readonly requestURI: string;
  readonly verb: string;
  readonly user: AuditUser;
  readonly impersonatedUser?: AuditUser;
  readonly sourceIPs?: readonly string[];
  readonly userAgent?: string;
  readonly objectRef?: ObjectReference;
  readonly responseStatus?: ResponseStatus;
  /** JSON (runtime.Unknown), at the Request and RequestResponse levels. */
  readonly requestObject?: unknown;
  /** JSON (runtime.Unknown), at the RequestResponse level. */
  readonly responseObject?: unknown;
  /** metav1.MicroTime: RFC 3339 with six fractional digits, UTC. */
  readonly requestReceivedTimestamp: string;
  readonly stageTimestamp: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Where events go: the log file, the webhook. Each owns its delivery; none may throw at the caller. */
export interface AuditBackend {
  /** Takes one event. Returns at once; the backend writes or sends it in order. */
  write(event: AuditEvent): void;
  /** Resolves once every event taken so far is written (or, for the webhook, delivered or spooled). */
  close(): Promise<void>;
}

/** metav1.MicroTime of an epoch time in milliseconds (fractional allowed). */
export function microTime(epochMs: number): string {
  const whole = Math.floor(epochMs);
  const micros = Math.floor((epochMs - whole) * 1000);
  const iso = new Date(whole).toISOString(); // 2026-12-02T08:23:29.123Z
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}
