// Maps parsed flags to ProxyOptions, turning duration strings into milliseconds.

import { parseDuration } from '../config/duration.js';
import type { ProxyOptions } from '../config/options.js';
import type { ParsedFlags } from './flags.js';

function duration(flag: string, value: string, problems: string[]): number {
  const ms = parseDuration(value);
  if (ms === undefined) problems.push(`--${flag}: invalid duration ${JSON.stringify(value)} (use e.g. 30s, 1m, 0)`);
  return ms ?? 0;
}

/** kubectl's int flags: digits only, so `--port abc` is named rather than turned into NaN. */
function integer(flag: string, value: string, problems: string[]): number {
  if (/^\d+$/.test(value.trim())) return Number(value);
  problems.push(`--${flag}: ${JSON.stringify(value)} is not a whole number`);
  return 0;
}

const BYTE_UNITS: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 * 1024 };

/** A byte count as Kubernetes quantities write it: `65536`, `64Ki`, `1Mi`. */
function bytes(flag: string, value: string, problems: string[]): number {
  const match = /^(\d+)(Ki|Mi)?$/.exec(value.trim());
  if (match !== null) return Number(match[1]) * BYTE_UNITS[match[2] ?? '']!;
  problems.push(`--${flag}: ${JSON.stringify(value)} is not a byte count (e.g. 65536, 64Ki, 1Mi)`);
  return 0;
}

/** Drops keys whose value is undefined, so optional fields stay absent. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function optionsFromFlags(flags: ParsedFlags, problems: string[]): ProxyOptions {
  return defined({
    port: integer('port', flags.port, problems),
    address: flags.address,
    unixSocket: flags['unix-socket'],
    apiPrefix: flags['api-prefix'],
    www: flags.www,
    wwwPrefix: flags['www-prefix'],
    acceptHosts: flags['accept-hosts'],
    acceptPaths: flags['accept-paths'],
    rejectPaths: flags['reject-paths'],
    rejectMethods: flags['reject-methods'],
    disableFilter: flags['disable-filter'],
    corsAllowedOrigins: flags['cors-allowed-origins'],
    originGuard: flags['origin-guard'],
    callerTokenFile: flags['caller-token-file'],
    loginLinkTtlMs: duration('login-link-ttl', flags['login-link-ttl'], problems),
    writeKubeconfig: flags['write-kubeconfig'],
    readOnly: flags['read-only'],
    auditPolicyFile: flags['audit-policy-file'],
    auditLogPath: flags['audit-log-path'],
    auditLogMaxAge: integer('audit-log-maxage', flags['audit-log-maxage'], problems),
    auditLogMaxBackup: integer('audit-log-maxbackup', flags['audit-log-maxbackup'], problems),
    auditLogMaxSize: integer('audit-log-maxsize', flags['audit-log-maxsize'], problems),
    auditLogCompress: flags['audit-log-compress'],
    auditWebhookConfigFile: flags['audit-webhook-config-file'],
    auditWebhookMode: flags['audit-webhook-mode'],
    auditWebhookBatchMaxSize: integer('audit-webhook-batch-max-size', flags['audit-webhook-batch-max-size'], problems),
    auditWebhookBatchMaxWaitMs: duration('audit-webhook-batch-max-wait', flags['audit-webhook-batch-max-wait'], problems),
    auditWebhookInitialBackoffMs: duration('audit-webhook-initial-backoff', flags['audit-webhook-initial-backoff'], problems),
    auditBodyLimit: bytes('audit-body-limit', flags['audit-body-limit'], problems),
    auditRedact: flags['audit-redact'],
    tlsCertFile: flags['tls-cert-file'],
    tlsPrivateKeyFile: flags['tls-private-key-file'],
    localTls: flags['local-tls'],
    certsDir: flags['certs-dir'],
    allowExec: flags['allow-exec'],
    keepaliveMs: duration('keepalive', flags.keepalive, problems),
    appendServerPath: flags['append-server-path'],
    overrideClientAuth: flags['override-client-auth'],
    requestTimeoutMs: duration('request-timeout', flags['request-timeout'], problems),
    upstreamConnections: integer('upstream-connections', flags['upstream-connections'], problems),
    upstreamQueueTimeoutMs: duration('upstream-queue-timeout', flags['upstream-queue-timeout'], problems),
    headersTimeoutMs: duration('headers-timeout', flags['headers-timeout'], problems),
    execPluginTimeoutMs: duration('exec-plugin-timeout', flags['exec-plugin-timeout'], problems),
    verifyCredentials: flags['verify-credentials'],
    serverTiming: flags['server-timing'],
    metricsAddress: flags['metrics-address'],
    ui: flags.ui,
    uiHistory: flags['ui-history'] === undefined ? undefined : integer('ui-history', flags['ui-history'], problems),
    verbosity: integer('v', flags.v, problems),
    logFormat: flags['log-format'],
    logFile: flags['log-file'],
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    cluster: flags.cluster,
    user: flags.user,
    server: flags.server,
    token: flags.token,
    certificateAuthority: flags['certificate-authority'],
    clientCertificate: flags['client-certificate'],
    clientKey: flags['client-key'],
    insecureSkipTlsVerify: flags['insecure-skip-tls-verify'],
    tlsServerName: flags['tls-server-name'],
    as: flags.as,
    asGroups: flags['as-group'],
    asUid: flags['as-uid'],
  });
}
