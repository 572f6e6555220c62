// Typed, coded errors and the one place that maps them to HTTP status and a Kubernetes `Status`
// body. Every error the proxy answers or logs has a stable code (undici's UND_ERR_* habit); the
// README lists them with what to do about each.

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
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'RequestEntityTooLarge'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'BadGateway';

/** Each code's HTTP status and Kubernetes reason: the only table of them. */
export const ERROR_CODES = {
  KAP_BAD_REQUEST_TARGET: [400, 'BadRequest'],
  KAP_BAD_REQUEST: [400, 'BadRequest'],
  KAP_URI_TOO_LONG: [414, 'BadRequest'],
  KAP_HEADERS_TOO_LARGE: [431, 'BadRequest'],
  KAP_CHUNK_EXTENSIONS_TOO_LARGE: [413, 'RequestEntityTooLarge'],
  KAP_REQUEST_HEADERS_TIMEOUT: [408, 'Timeout'],
  KAP_CONNECT_NOT_ALLOWED: [405, 'MethodNotAllowed'],
  KAP_OUTSIDE_API_PREFIX: [404, 'NotFound'],
  KAP_HOST_REJECTED: [403, 'Forbidden'],
  KAP_CALLER_UNAUTHORIZED: [401, 'Unauthorized'],
  KAP_READ_ONLY: [403, 'Forbidden'],
  KAP_FILTER_REJECTED: [403, 'Forbidden'],
  KAP_ORIGIN_REJECTED: [403, 'Forbidden'],
  KAP_CORS_PREFLIGHT_REJECTED: [403, 'Forbidden'],
  KAP_UPGRADE_WITH_BODY: [400, 'BadRequest'],
  KAP_UPGRADE_OF_STATIC_FILE: [400, 'BadRequest'],
  KAP_STATIC_METHOD_NOT_ALLOWED: [405, 'MethodNotAllowed'],
  KAP_CREDENTIALS_FAILED: [502, 'BadGateway'],
  KAP_CREDENTIAL_PLUGIN_TIMEOUT: [503, 'ServiceUnavailable'],
  KAP_QUEUE_TIMEOUT: [503, 'ServiceUnavailable'],
  KAP_UPSTREAM_UNKNOWN_AUTHORITY: [502, 'BadGateway'],
  KAP_UPSTREAM_CERT_EXPIRED: [502, 'BadGateway'],
  KAP_UPSTREAM_CERT_NAME: [502, 'BadGateway'],
  KAP_UPSTREAM_TLS: [502, 'BadGateway'],
  KAP_UPSTREAM_TLS_TIMEOUT: [504, 'Timeout'],
  KAP_UPSTREAM_REFUSED: [503, 'ServiceUnavailable'],
  KAP_UPSTREAM_DNS: [503, 'ServiceUnavailable'],
  KAP_UPSTREAM_UNREACHABLE: [503, 'ServiceUnavailable'],
  KAP_UPSTREAM_CONNECT_TIMEOUT: [504, 'Timeout'],
  KAP_UPSTREAM_HEADERS_TIMEOUT: [504, 'Timeout'],
  KAP_UPSTREAM_RESET: [502, 'BadGateway'],
  KAP_UPSTREAM_FAILED: [502, 'BadGateway'],
  KAP_UPGRADE_NO_ANSWER: [502, 'BadGateway'],
  KAP_UPGRADE_INVALID_ANSWER: [502, 'BadGateway'],
  KAP_UPGRADE_TIMEOUT: [504, 'Timeout'],
  KAP_PROXY_UNREACHABLE: [503, 'ServiceUnavailable'],
  KAP_PROXY_TIMEOUT: [504, 'Timeout'],
  KAP_PROXY_FAILED: [502, 'BadGateway'],
  KAP_INTERNAL_ERROR: [500, 'InternalError'],
} as const satisfies Record<string, readonly [number, StatusReason]>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** `metav1.StatusDetails` fields we fill in. */
export interface StatusDetails {
  /** Sent as `Retry-After` too, as the API server does for 429 and 503. */
  readonly retryAfterSeconds?: number;
  /** `[{ reason: code }]`: the proxy's error code, where clients and people can read it. */
  readonly causes?: readonly { readonly reason: string }[];
}

/** A failure to answer a request, carrying its code and what the client should be told. */
export class ProxyError extends Error {
  readonly statusCode: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.name = 'ProxyError';
    [this.statusCode, this.reason] = ERROR_CODES[code];
    const retry = options?.retryAfterSeconds;
    this.details = { ...(retry === undefined ? {} : { retryAfterSeconds: retry }), causes: [{ reason: code }] };
  }
}

/** The message of anything thrown: an Error's own, else its string form. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
