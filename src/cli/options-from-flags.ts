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
    execPluginTimeoutMs: duration('exec-plugin-timeout', flags['exec-plugin-timeout'], problems),
    verifyCredentials: flags['verify-credentials'],
    serverTiming: flags['server-timing'],
    metricsAddress: flags['metrics-address'],
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
