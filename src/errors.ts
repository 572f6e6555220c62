// Typed, coded errors and the one place that maps them to HTTP status and a Kubernetes `Status` body.

/** A problem with the user's input: flags, kubeconfig, files. Printed as one line, exit code 1. */
export class ConfigError extends Error {
  readonly code = 'KAP_CONFIG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Kubernetes `metav1.StatusReason` values we answer with. */
export type StatusReason =
  | 'BadRequest'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'BadGateway';

/** `metav1.StatusDetails` fields we fill in. */
export interface StatusDetails {
  /** Sent as `Retry-After` too, as the API server does for 429 and 503. */
  readonly retryAfterSeconds?: number;
}

/** A failure to answer a proxied request, carrying what the client should be told. */
export class ProxyError extends Error {
  readonly details: StatusDetails | undefined;

  constructor(
    readonly statusCode: number,
    readonly reason: StatusReason,
    message: string,
    options?: { cause?: unknown; details?: StatusDetails },
  ) {
    super(message, options);
    this.name = 'ProxyError';
    this.details = options?.details;
  }
}

/** The JSON body the API server itself would send for a failure (`kind: Status`). */
export function statusBody(code: number, reason: StatusReason, message: string, details?: StatusDetails): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details === undefined ? {} : { details }),
    code,
  });
}
