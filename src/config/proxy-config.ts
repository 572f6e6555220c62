// The completed configuration: everything start-up needed to read or compile is done, so the
// server only wires it together. A different type from ProxyOptions, so "complete" is checked
// by the compiler (kubectl's Complete/Validate/Run).

import type { RequestFilterRules } from '../stages/request-filter.js';
import type { RuleList } from '../stages/rules.js';
import type { Credentials } from '../credentials/credentials.js';
import type { UpstreamTls } from '../credentials/tls-material.js';
import type { ListenerTls } from '../credentials/certificates/listener-tls.js';
import type { AuditConfig } from './audit-config.js';
import type { CallerToken } from '../credentials/caller-token-file.js';
import type { CallerSecrets } from '../stages/caller-secrets.js';
import type { HeaderRecording } from '../observe/verbosity.js';
import type { UiConfig } from './ui-options.js';

export type ListenTarget =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export interface UpstreamConfig {
  /** `cluster.server` as a URL. */
  readonly server: URL;
  /** Path of the server URL without its trailing slash, prepended with --append-server-path; else ''. */
  readonly pathPrefix: string;
  readonly tls?: UpstreamTls;
  /**
   * The forward proxy every connection to the server goes through, upgrades included: the
   * cluster's `proxy-url`, else HTTPS_PROXY / HTTP_PROXY unless NO_PROXY excludes the server.
   * Its userinfo is a secret: show it with describeProxy() only.
   */
  readonly proxy?: URL;
  readonly credentials: Credentials;
  /** Impersonate-* headers as `[name, value, …]`, computed once. */
  readonly impersonation: readonly string[];
  readonly overrideClientAuth: boolean;
  readonly requestTimeoutMs: number;
  /** Pooled connections for short requests; streams have a pool of their own without a cap. */
  readonly connections: number;
  /** How long a request may wait for an upstream connection before it is answered 503. */
  readonly queueTimeoutMs: number;
  readonly keepaliveMs: number;
  readonly userAgent: string;
  /** What to keep of each request for the log (-v=7: request headers, -v=8: response headers). */
  readonly record: HeaderRecording;
  /** Add a `Server-Timing` header with our phases to each proxied response. */
  readonly serverTiming: boolean;
}

export interface ProxyConfig {
  readonly listen: ListenTarget;
  /** --headers-timeout: how long a client may take to send a request's line and headers. */
  readonly headersTimeoutMs: number;
  /** Serve HTTPS with HTTP/2 (--tls-cert-file, --local-tls); absent: plain HTTP, as kubectl proxy. */
  readonly tls?: ListenerTls;
  /** Ends with `/`. */
  readonly apiPrefix: string;
  readonly staticFiles?: { readonly directory: string; readonly prefix: string };
  /** --cors-allowed-origins, compiled (empty: no CORS). */
  readonly corsAllowedOrigins: RuleList;
  /** Refuse requests from web pages of other origins. */
  readonly originGuard: boolean;
  /** With --caller-token-file: the token (for --write-kubeconfig) and what checks each caller. */
  readonly callers?: { readonly token: CallerToken; readonly secrets: CallerSecrets };
  /** --write-kubeconfig, absolute: written once the listener is up. */
  readonly writeKubeconfig?: string;
  /** --read-only: only get, list and watch reach the API server. */
  readonly readOnly: boolean;
  /** Absent with --disable-filter. */
  readonly filter?: { readonly acceptHosts: RuleList } & RequestFilterRules;
  readonly upstream: UpstreamConfig;
  readonly verbosity: number;
  /** Where /metrics, /healthz and /readyz are served; absent: nowhere. */
  readonly metrics?: { readonly host: string; readonly port: number };
  /** --ui: the live traffic view, served at /ui/ of the metrics listener. */
  readonly ui?: UiConfig;
  /** The audit log, with --audit-log-path or --audit-webhook-config-file. */
  readonly audit?: AuditConfig;
  /** Who the proxy acts as, for the start-up log: never a secret. */
  readonly identity: string;
  /** Messages to print at start, kubectl's wording where it has one. */
  readonly warnings: readonly string[];
}
