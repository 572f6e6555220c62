// Pure validation of the parsed flags: returns every problem at once, in flag language.

import { unpinnedCorsOrigins } from '../stages/cors.js';
import { compileRuleList } from '../stages/rules.js';
import { DEFAULT_PORT, DEFAULT_REJECT_PATHS } from './defaults.js';
import type { ProxyOptions } from './options.js';
import { uiProblems } from './ui-options.js';

/** kubectl appends the trailing slash to both prefixes (pkg/cmd/proxy/proxy.go). */
export function withTrailingSlash(prefix: string): string {
  return prefix.endsWith('/') ? prefix : prefix + '/';
}

/**
 * The --reject-paths list in force: the user's, else kubectl's default (exec and attach), which
 * --allow-exec empties. The default holds nothing else, so no other protection is dropped.
 */
export function effectiveRejectPaths(options: ProxyOptions): string {
  return options.rejectPaths ?? (options.allowExec ? '' : DEFAULT_REJECT_PATHS);
}

function regexProblems(options: ProxyOptions): string[] {
  const filterLists: [string, string][] = options.disableFilter
    ? []
    : [
        ['--accept-hosts', options.acceptHosts],
        ['--accept-paths', options.acceptPaths],
        ['--reject-paths', effectiveRejectPaths(options)],
        ['--reject-methods', options.rejectMethods],
      ];
  const lists: [string, string][] = [...filterLists, ['--cors-allowed-origins', options.corsAllowedOrigins]];
  const problems: string[] = [];
  for (const [flag, value] of lists) {
    try {
      compileRuleList(flag, value);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  return problems;
}

export function validateOptions(options: ProxyOptions): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    problems.push(`--port: ${options.port} is not a port number (0-65535; 0 picks a free port)`);
  }
  // kubectl's check is `port != 8001 && unixSocket != ""`, so an explicit --port=8001 passes.
  if (options.unixSocket !== undefined && options.port !== DEFAULT_PORT) {
    problems.push('cannot set --unix-socket and --port at the same time');
  }
  if (options.unixSocket === '') problems.push('--unix-socket: the path is empty');
  if (options.logFile === '') problems.push('--log-file: the path is empty');
  if (options.address.trim() === '') problems.push('--address: the address is empty');
  if (!options.apiPrefix.startsWith('/')) problems.push(`--api-prefix: ${JSON.stringify(options.apiPrefix)} must begin with /`);
  if (!options.wwwPrefix.startsWith('/')) problems.push(`--www-prefix: ${JSON.stringify(options.wwwPrefix)} must begin with /`);
  if (options.www !== undefined && withTrailingSlash(options.wwwPrefix) === withTrailingSlash(options.apiPrefix)) {
    problems.push(`--www-prefix and --api-prefix cannot be the same (${withTrailingSlash(options.apiPrefix)})`);
  }
  // Which of the user's own rules would --allow-exec drop? Asking them to choose is clearer.
  if (options.allowExec && options.rejectPaths !== undefined) {
    problems.push('--allow-exec and --reject-paths cannot be used together: --allow-exec only drops the default exec and attach rules; leave them out of your --reject-paths instead');
  }
  if (options.keepaliveMs < 0) problems.push('--keepalive: must not be negative');
  if (options.requestTimeoutMs < 0) problems.push('--request-timeout: must not be negative');
  if (options.upstreamConnections < 1) problems.push('--upstream-connections: must be at least 1');
  if (options.upstreamQueueTimeoutMs <= 0) problems.push('--upstream-queue-timeout: must be positive');
  if (options.headersTimeoutMs <= 0) problems.push('--headers-timeout: must be positive');
  if (options.execPluginTimeoutMs <= 0) problems.push('--exec-plugin-timeout: must be positive');
  for (const expression of unpinnedCorsOrigins(options.corsAllowedOrigins)) {
    problems.push(`--cors-allowed-origins: ${JSON.stringify(expression)} is not pinned: begin it with ^ or // and end it with $ or : (e.g. ^http://localhost:3000$), or it also matches other origins that contain it`);
  }
  if ((options.tlsCertFile === undefined) !== (options.tlsPrivateKeyFile === undefined)) {
    problems.push(`${options.tlsCertFile === undefined ? '--tls-private-key-file' : '--tls-cert-file'}: needs ${options.tlsCertFile === undefined ? '--tls-cert-file' : '--tls-private-key-file'} too`);
  }
  if (options.localTls && options.tlsCertFile !== undefined) problems.push('--local-tls and --tls-cert-file cannot be used together: choose the local CA or your own certificate');
  if (options.auditWebhookBatchMaxSize < 1) problems.push('--audit-webhook-batch-max-size: must be at least 1');
  if (options.auditWebhookBatchMaxWaitMs <= 0) problems.push('--audit-webhook-batch-max-wait: must be positive');
  if (options.auditWebhookInitialBackoffMs <= 0) problems.push('--audit-webhook-initial-backoff: must be positive');
  if (options.auditLogPath === '') problems.push('--audit-log-path: the path is empty (use - for stdout)');
  if (options.certsDir !== undefined && !options.localTls) problems.push('--certs-dir: only used with --local-tls');
  problems.push(...callerProblems(options));
  problems.push(...uiProblems(options));
  if (options.metricsAddress !== undefined && parseHostPort(options.metricsAddress) === undefined) {
    problems.push(`--metrics-address: ${JSON.stringify(options.metricsAddress)} is not HOST:PORT (e.g. 127.0.0.1:9090, [::1]:0)`);
  }
  return [...problems, ...regexProblems(options)];
}

/** --caller-token-file, --login-link-ttl and --write-kubeconfig. */
function callerProblems(options: ProxyOptions): string[] {
  const problems: string[] = [];
  if (options.callerTokenFile === '') problems.push('--caller-token-file: the path is empty');
  if (options.loginLinkTtlMs <= 0) problems.push('--login-link-ttl: must be positive');
  if (options.writeKubeconfig === '') problems.push('--write-kubeconfig: the path is empty');
  if (options.writeKubeconfig !== undefined && options.callerTokenFile === undefined) {
    problems.push('--write-kubeconfig needs --caller-token-file: the kubeconfig carries its token');
  }
  // kubectl and client-go cannot dial a unix socket; its own mode 0600 already keeps other users out.
  if (options.writeKubeconfig !== undefined && options.unixSocket !== undefined) {
    problems.push('--write-kubeconfig cannot be used with --unix-socket: kubectl cannot connect to a unix socket (the socket, mode 0600, already admits only you)');
  }
  return problems;
}

/** `host:port` or `[v6]:port`, port 0–65535. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  return host === undefined || port > 65535 ? undefined : { host, port };
}
