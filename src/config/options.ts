// The raw options as the CLI parsed them: kubectl proxy's flags plus kubectl's connection flags.

/** Everything the user can say on the command line, before validation. */
export interface ProxyOptions {
  /** kubectl only rejects --port with --unix-socket when it differs from 8001. */
  readonly port: number;
  readonly address: string;
  readonly unixSocket?: string;
  readonly apiPrefix: string;
  readonly www?: string;
  readonly wwwPrefix: string;
  readonly acceptHosts: string;
  readonly acceptPaths: string;
  /** Undefined when not given: kubectl's default rules, or none with `allowExec`. */
  readonly rejectPaths?: string;
  readonly rejectMethods: string;
  readonly disableFilter: boolean;
  /** kube-apiserver's --cors-allowed-origins: comma-separated regular expressions, each pinned. */
  readonly corsAllowedOrigins: string;
  /** Refuse requests from web pages of other origins (on unless turned off). */
  readonly originGuard: boolean;
  /** Callers must present the token in this file (created with a random token when missing). */
  readonly callerTokenFile?: string;
  /** How long a one-time login link for --www pages stays valid, in milliseconds. */
  readonly loginLinkTtlMs: number;
  /** After the listener is up, write a kubeconfig for the proxy (carrying the caller token) here. */
  readonly writeKubeconfig?: string;
  /** Only get, list and watch reach the API server. */
  readonly readOnly: boolean;
  /** kube-apiserver's audit flags, same names and meanings; audit is on with a log path or a webhook. */
  readonly auditPolicyFile?: string;
  readonly auditLogPath?: string;
  readonly auditLogMaxAge: number;
  readonly auditLogMaxBackup: number;
  readonly auditLogMaxSize: number;
  readonly auditLogCompress: boolean;
  readonly auditWebhookConfigFile?: string;
  readonly auditWebhookMode: string;
  readonly auditWebhookBatchMaxSize: number;
  readonly auditWebhookBatchMaxWaitMs: number;
  readonly auditWebhookInitialBackoffMs: number;
  /** Bytes of a request or response body kept for the audit event. */
  readonly auditBodyLimit: number;
  /** Replace Secret data and credential fields in audited bodies. */
  readonly auditRedact: boolean;
  /** Serve HTTPS (HTTP/2 and HTTP/1.1) with this certificate and key, both PEM files. */
  readonly tlsCertFile?: string;
  readonly tlsPrivateKeyFile?: string;
  /** Serve HTTPS with a certificate from a local CA kept in `certsDir`. */
  readonly localTls: boolean;
  /** Where --local-tls keeps its CA; default `$XDG_STATE_HOME/kube-auth-proxy/certs`. */
  readonly certsDir?: string;
  /** Drop kubectl's default exec and attach rules from --reject-paths. */
  readonly allowExec: boolean;
  /** Milliseconds; 0 = keep-alive off. Applies to upgraded connections (kubectl's meaning). */
  readonly keepaliveMs: number;
  readonly appendServerPath: boolean;
  /** Strip the client's Authorization / Impersonate-* headers and always inject ours. */
  readonly overrideClientAuth: boolean;
  /** Milliseconds until response headers; 0 = no limit. */
  readonly requestTimeoutMs: number;
  /** Pooled upstream connections for short requests. */
  readonly upstreamConnections: number;
  /** Milliseconds a request may wait for an upstream connection. */
  readonly upstreamQueueTimeoutMs: number;
  /** Milliseconds a client may take to send a request's line and headers. */
  readonly headersTimeoutMs: number;
  /** Milliseconds an exec credential plugin may run. */
  readonly execPluginTimeoutMs: number;
  /** Fetch lazily-fetched credentials (exec, OIDC) at start and fail fast. */
  readonly verifyCredentials: boolean;
  /** `HOST:PORT` for /metrics, /healthz and /readyz; off unless given. */
  readonly metricsAddress?: string;
  /** Serve the live traffic view at /ui/ of the metrics listener (127.0.0.1:8002 without --metrics-address). */
  readonly ui?: boolean;
  /** Finished requests the live view keeps; undefined when not given. */
  readonly uiHistory?: number;
  /** Add our phases as a `Server-Timing` response header. */
  readonly serverTiming: boolean;
  readonly verbosity: number;
  /** Undefined: text on a terminal, else JSON lines. */
  readonly logFormat?: 'json' | 'text';
  /** Append logs to this file instead of stderr. */
  readonly logFile?: string;

  readonly kubeconfig?: string;
  readonly context?: string;
  readonly cluster?: string;
  readonly user?: string;
  readonly server?: string;
  readonly token?: string;
  readonly certificateAuthority?: string;
  readonly clientCertificate?: string;
  readonly clientKey?: string;
  readonly insecureSkipTlsVerify?: boolean;
  readonly tlsServerName?: string;
  readonly as?: string;
  readonly asGroups?: readonly string[];
  readonly asUid?: string;
}
