// The command line: kubectl proxy's 13 flags and kubectl's connection flags, with kubectl's names,
// short forms and defaults (pkg/cmd/proxy/proxy.go, genericclioptions/config_flags.go).

import type { Argv } from 'yargs';
import * as defaults from '../config/defaults.js';

/** Flags that may be given more than once and collect every value; for all others the last one wins (pflag). */
const REPEATABLE = new Set(['as-group']);

/** pflag semantics for repeated scalar flags: `--port 1 --port 2` means port 2. */
function lastValueWins(argv: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(argv)) {
    if (key !== '_' && !REPEATABLE.has(key) && Array.isArray(value)) argv[key] = value.at(-1);
  }
}

export function defineFlags<T>(cli: Argv<T>) {
  return cli
    .middleware(lastValueWins, true)
    .option('port', { alias: 'p', type: 'string', default: String(defaults.DEFAULT_PORT), describe: 'The port on which to run the proxy. Set to 0 to pick a random port.' })
    .option('address', { type: 'string', default: defaults.DEFAULT_ADDRESS, describe: 'The IP address on which to serve on (::1 and [::1] both work).' })
    .option('unix-socket', { alias: 'u', type: 'string', describe: 'Unix socket on which to run the proxy (created owner-only).' })
    .option('api-prefix', { type: 'string', default: defaults.DEFAULT_API_PREFIX, describe: 'Prefix to serve the proxied API under.' })
    .option('www', { alias: 'w', type: 'string', describe: 'Also serve static files from the given directory under the specified prefix.' })
    .option('www-prefix', { alias: 'P', type: 'string', default: defaults.DEFAULT_WWW_PREFIX, describe: 'Prefix to serve static files under, if static file directory is specified.' })
    .option('accept-hosts', { type: 'string', default: defaults.DEFAULT_ACCEPT_HOSTS, describe: 'Regular expressions for hosts that the proxy should accept (matched against the Host header).' })
    .option('accept-paths', { type: 'string', default: defaults.DEFAULT_ACCEPT_PATHS, describe: 'Regular expressions for paths that the proxy should accept.' })
    .option('reject-paths', { type: 'string', defaultDescription: defaults.DEFAULT_REJECT_PATHS, describe: 'Regular expressions for paths that the proxy should reject. Paths specified here will be rejected even if accepted by --accept-paths.' })
    .option('reject-methods', { type: 'string', default: defaults.DEFAULT_REJECT_METHODS, describe: "Regular expressions for HTTP methods that the proxy should reject (example --reject-methods='POST,PUT,PATCH')." })
    .option('allow-exec', { type: 'boolean', default: false, describe: 'Allow exec and attach, which the default --reject-paths rejects (port-forward is allowed either way). Cannot be combined with --reject-paths.' })
    .option('cors-allowed-origins', { type: 'string', default: '', describe: 'Origins a browser page may call the proxy from, with CORS: comma-separated regular expressions matched against the whole Origin, each pinned at its start (^ or //) and end ($ or :), e.g. ^https?://localhost:3000$ (kube-apiserver\'s flag and rule).' })
    .option('origin-guard', { type: 'boolean', default: true, describe: 'Refuse requests and upgrades from web pages of any origin but the proxy\'s own and --cors-allowed-origins (Origin, Sec-Fetch-Site); --origin-guard=false turns it off.' })
    .option('caller-token-file', { type: 'string', describe: 'Callers must prove who they are with the token in this file (Authorization: Bearer, Proxy-Authorization, or for --www pages a cookie from the one-time login link printed at start). A missing file is created with a random token, mode 0600; a file others can read is refused.' })
    .option('login-link-ttl', { type: 'string', default: defaults.DEFAULT_LOGIN_LINK_TTL, describe: 'How long a one-time login link for --www pages (with --caller-token-file) stays valid.' })
    .option('write-kubeconfig', { type: 'string', describe: 'Write a kubeconfig (mode 0600) for kubectl and client libraries that points at this proxy and carries the --caller-token-file token; rewritten at every start, before the start line.' })
    .option('read-only', { type: 'boolean', default: false, describe: 'Let only reads reach the API server: get, list and watch (as the API server names the request), never exec, attach, port-forward, proxy subresources or any other upgrade.' })
    .option('audit-policy-file', { type: 'string', describe: 'kube-apiserver\'s audit.k8s.io/v1 Policy deciding what is audited at which level; without it, Metadata for every request.' })
    .option('audit-log-path', { type: 'string', describe: 'Write audit events (audit.k8s.io/v1 Event, JSON lines) to this file, created 0600; - is stdout.' })
    .option('audit-log-maxage', { type: 'string', default: String(defaults.AUDIT_LOG.maxAgeDays), describe: 'Days to keep rotated audit log files (0: no limit).' })
    .option('audit-log-maxbackup', { type: 'string', default: String(defaults.AUDIT_LOG.maxBackups), describe: 'Rotated audit log files to keep (0: no limit).' })
    .option('audit-log-maxsize', { type: 'string', default: String(defaults.AUDIT_LOG.maxSizeMB), describe: 'Megabytes an audit log file may reach before it is rotated (0: never rotated).' })
    .option('audit-log-compress', { type: 'boolean', default: false, describe: 'Gzip rotated audit log files.' })
    .option('audit-webhook-config-file', { type: 'string', describe: 'A kubeconfig naming a webhook that receives audit events as EventList batches (kube-apiserver\'s format).' })
    .option('audit-webhook-mode', { type: 'string', choices: ['batch', 'blocking', 'blocking-strict'] as const, default: 'batch', describe: 'How events are sent to the webhook.' })
    .option('audit-webhook-batch-max-size', { type: 'string', default: String(defaults.AUDIT_WEBHOOK.batchMaxSize), describe: 'Events per webhook batch at most.' })
    .option('audit-webhook-batch-max-wait', { type: 'string', default: `${defaults.AUDIT_WEBHOOK.batchMaxWaitMs / 1000}s`, describe: 'How long a partial webhook batch waits before it is sent.' })
    .option('audit-webhook-initial-backoff', { type: 'string', default: `${defaults.AUDIT_WEBHOOK.initialBackoffMs / 1000}s`, describe: 'Wait before the first retry of a failed webhook request; doubled each time. Events that cannot be sent are kept in a spool file until they can.' })
    .option('audit-body-limit', { type: 'string', default: defaults.AUDIT_BODY_LIMIT, describe: 'Bytes of a request or response body kept for the audit event at the Request and RequestResponse levels; a longer body is marked truncated, never buffered.' })
    .option('audit-redact', { type: 'boolean', default: true, describe: 'Replace Secret data and credential fields (token, password…) in audited bodies; --audit-redact=false keeps them.' })
    .option('tls-cert-file', { type: 'string', describe: 'Serve HTTPS (HTTP/2, with HTTP/1.1 for older clients and upgrades) with this PEM certificate; needs --tls-private-key-file (kube-apiserver\'s flag names).' })
    .option('tls-private-key-file', { type: 'string', describe: 'The PEM private key of --tls-cert-file.' })
    .option('local-tls', { type: 'boolean', default: false, describe: 'Serve HTTPS with a certificate for localhost, 127.0.0.1 and ::1 from a local CA of your own, made on first use and kept in --certs-dir; the start lines say how to trust it.' })
    .option('certs-dir', { type: 'string', defaultDescription: '$XDG_STATE_HOME/kube-auth-proxy/certs', describe: 'Where --local-tls keeps its CA and certificate (created 0700, keys 0600).' })
    .option('disable-filter', { type: 'boolean', default: false, describe: 'If true, disable request filtering in the proxy. This is dangerous, and can leave you vulnerable to XSRF attacks, when used with an accessible port.' })
    .option('keepalive', { type: 'string', default: '0s', describe: 'TCP keep-alive period for upgraded connections (exec, attach, port-forward). Set to 0 to disable keep-alive.' })
    .option('append-server-path', { type: 'boolean', default: false, describe: 'If true, enables automatic path appending of the kube context server path to each request.' })
    .option('override-client-auth', { type: 'boolean', default: false, describe: "Drop the client's own Authorization and Impersonate-* headers and always send the kubeconfig identity (kubectl lets the client's win)." })
    .option('kubeconfig', { type: 'string', describe: 'Path to the kubeconfig file to use (only that file is read).' })
    .option('context', { type: 'string', describe: 'The name of the kubeconfig context to use.' })
    .option('cluster', { type: 'string', describe: 'The name of the kubeconfig cluster to use.' })
    .option('user', { type: 'string', describe: 'The name of the kubeconfig user to use.' })
    .option('server', { alias: 's', type: 'string', describe: 'The address and port of the Kubernetes API server.' })
    .option('token', { type: 'string', describe: 'Bearer token for authentication to the API server.' })
    .option('certificate-authority', { type: 'string', describe: 'Path to a cert file for the certificate authority.' })
    .option('client-certificate', { type: 'string', describe: 'Path to a client certificate file for TLS.' })
    .option('client-key', { type: 'string', describe: 'Path to a client key file for TLS.' })
    .option('insecure-skip-tls-verify', { type: 'boolean', describe: "If true, the server's certificate will not be checked for validity." })
    .option('tls-server-name', { type: 'string', describe: 'Server name to use for server certificate validation.' })
    .option('as', { type: 'string', describe: 'Username to impersonate for the operation. User could be a regular user or a service account in a namespace.' })
    .option('as-group', { type: 'string', array: true, describe: 'Group to impersonate for the operation, this flag can be repeated to specify multiple groups.' })
    .option('as-uid', { type: 'string', describe: 'UID to impersonate for the operation.' })
    .option('exec-plugin-timeout', { type: 'string', default: defaults.DEFAULT_EXEC_PLUGIN_TIMEOUT, describe: 'Kill an exec credential plugin that runs longer than this; the requests waiting for it get a 503.' })
    .option('verify-credentials', { type: 'boolean', default: false, describe: 'Fetch exec-plugin and OIDC credentials before serving, and exit with their error if that fails (kubectl fetches them on the first request).' })
    .option('metrics-address', { type: 'string', describe: 'Serve Prometheus /metrics and the proxy\'s own /healthz and /readyz on HOST:PORT (a listener of its own; off unless given).' })
    .option('ui', { type: 'boolean', default: false, describe: `Serve a live view of the traffic (requests with their timelines, open streams, charts) at /ui/ of the --metrics-address listener, or of ${defaults.DEFAULT_UI_ADDRESS} without it.` })
    .option('ui-history', { type: 'string', defaultDescription: String(defaults.DEFAULT_UI_HISTORY), describe: 'Finished requests the --ui view keeps for pages that open (a ring buffer).' })
    .option('server-timing', { type: 'boolean', default: true, describe: 'Add a Server-Timing header (credentials, queue, dns, tcp, tls, server) to proxied responses, for browser devtools; --server-timing=false turns it off.' })
    .option('request-timeout', { type: 'string', default: '0', describe: 'How long to wait for the API server to start answering (e.g. 1s, 2m). 0 means no limit.' })
    .option('upstream-connections', { type: 'string', default: String(defaults.DEFAULT_UPSTREAM_CONNECTIONS), describe: 'Connections to the API server shared by short requests. Watches, followed logs and proxy subresources get connections of their own and never wait for these.' })
    .option('upstream-queue-timeout', { type: 'string', default: defaults.DEFAULT_UPSTREAM_QUEUE_TIMEOUT, describe: 'A request that gets no connection to the API server within this is answered 503 with Retry-After.' })
    .option('headers-timeout', { type: 'string', default: defaults.DEFAULT_HEADERS_TIMEOUT, describe: 'A client that has not sent a request\'s line and headers within this is answered 408 and disconnected (slow-header attacks). Bodies, watches and upgrades are not limited.' })
    .option('log-format', { type: 'string', choices: ['json', 'text'] as const, defaultDescription: 'text on a terminal, else json', describe: 'Log as JSON lines or as one readable line per record.' })
    .option('log-file', { type: 'string', describe: 'Append logs to this file (created owner-only) instead of stderr.' })
    .option('v', { type: 'string', default: '0', describe: 'Log level: 6 logs one line per request.' });
}

export type ParsedFlags = Awaited<ReturnType<ReturnType<typeof defineFlags>['parseAsync']>>;
