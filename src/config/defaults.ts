// Defaults, defined once: used by the CLI help, the README and the tests.
// Values follow kubectl's pkg/proxy/proxy_server.go and pkg/cmd/proxy/proxy.go.

export const DEFAULT_PORT = 8001;
export const DEFAULT_ADDRESS = '127.0.0.1';
export const DEFAULT_API_PREFIX = '/';
export const DEFAULT_WWW_PREFIX = '/static/';
export const DEFAULT_ACCEPT_PATHS = '^.*';
export const DEFAULT_REJECT_PATHS = '^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach';
export const DEFAULT_ACCEPT_HOSTS = '^localhost$,^127\\.0\\.0\\.1$,^\\[::1\\]$';
export const DEFAULT_REJECT_METHODS = '^$';

/** kube-apiserver's audit log rotation defaults since 2026-02 (apiserver 385343a): 100 MB, 366 days, 100 files. */
export const AUDIT_LOG = { maxSizeMB: 100, maxAgeDays: 366, maxBackups: 100 } as const;
/** kube-apiserver's webhook batching defaults (pkg/server/options/audit.go). */
export const AUDIT_WEBHOOK = { batchMaxSize: 400, batchMaxWaitMs: 30_000, initialBackoffMs: 10_000 } as const;
/** Body bytes kept per audited request or response. */
export const AUDIT_BODY_LIMIT = '64Ki';

/** How long in-flight requests may run after SIGINT/SIGTERM before their sockets are closed. */
export const SHUTDOWN_GRACE_MS = 5_000;
/**
 * Pooled upstream connections for short requests (16–32 measured no slower than unbounded on
 * small GETs; long-running requests have an uncapped pool of their own).
 */
export const DEFAULT_UPSTREAM_CONNECTIONS = 32;
/** A request that gets no upstream connection within this is answered 503 with Retry-After. */
export const DEFAULT_UPSTREAM_QUEUE_TIMEOUT = '10s';
/** client-go's dial and TLS handshake timeouts (transport/cache.go: 30 s dial, 10 s TLS). */
export const UPSTREAM_CONNECT_TIMEOUT_MS = 30_000;
/** An exec credential plugin still running after this long is killed (client-go waits forever). */
export const DEFAULT_EXEC_PLUGIN_TIMEOUT = '30s';

/** A one-time login link for --www pages (--caller-token-file) works once, within this. */
export const DEFAULT_LOGIN_LINK_TTL = '5m';

/**
 * A request's line and headers must arrive within this. Node's own limit (60 s) is off when
 * requestTimeout is 0, as here; kube-apiserver's is 32 s, kubectl proxy has none.
 */
export const DEFAULT_HEADERS_TIMEOUT = '10s';

/** --ui without --metrics-address: the listener of /metrics and the live view (kubectl proxy's port plus one). */
export const DEFAULT_UI_ADDRESS = '127.0.0.1:8002';
/** --ui-history: finished requests the live view keeps (its ring buffer). */
export const DEFAULT_UI_HISTORY = 1000;
/** --ui-history's upper bound: the whole buffer is sent to each page that opens (about 0.5 KB a row). */
export const MAX_UI_HISTORY = 10_000;
