// Completes validated options into a frozen ProxyConfig: reads kubeconfig, loads TLS material,
// compiles the filters. It does the I/O start-up needs and nothing else (no sockets).

import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { hasIdentity, selectCredentials, type CredentialRuntime } from '../credentials/select-credentials.js';
import { NO_CREDENTIALS } from '../credentials/credentials.js';
import { actingUsers, describeIdentity } from '../credentials/identity.js';
import { auditConfig } from './audit-config.js';
import { impersonationHeaders } from '../credentials/impersonation.js';
import { removedAuthProviderMessage } from '../credentials/removed-auth-providers.js';
import { loadUpstreamTls } from '../credentials/tls-material.js';
import { loadCallerToken } from '../credentials/caller-token-file.js';
import { checkKubeconfigTarget } from '../kubeconfig/proxy-kubeconfig.js';
import { CallerSecrets } from '../stages/caller-secrets.js';
import { loadLocalTls, loadTlsFiles, type ListenerTls } from '../credentials/certificates/listener-tls.js';
import { ConfigError } from '../errors.js';
import { SERVICE_ACCOUNT_DIR } from '../kubeconfig/in-cluster.js';
import { resolveKubeconfig } from '../kubeconfig/index.js';
import type { ResolvedCluster, ResolvedKubeconfig } from '../kubeconfig/types.js';
import { headerRecording } from '../observe/verbosity.js';
import { compileRuleList } from '../stages/rules.js';
import { chooseProxy, describeProxy, PROXY_SCHEMES, type ProxyEnvironment } from '../dial/choose-proxy.js';
import type { ProxyOptions } from './options.js';
import type { ListenTarget, ProxyConfig, UpstreamConfig } from './proxy-config.js';
import { userAgent } from './user-agent.js';
import { observeAddress, uiConfig } from './ui-options.js';
import { effectiveRejectPaths, parseHostPort, withTrailingSlash } from './validate.js';

/** The parts of the environment start-up reads, passed in so tests can set them. */
export interface Environment extends ProxyEnvironment {
  readonly KUBECONFIG?: string | undefined;
  readonly HOME?: string | undefined;
  /** The base of the proxy's state directory (local CA); default `$HOME/.local/state`. */
  readonly XDG_STATE_HOME?: string | undefined;
  readonly KUBERNETES_MASTER?: string | undefined;
  readonly KUBERNETES_SERVICE_HOST?: string | undefined;
  readonly KUBERNETES_SERVICE_PORT?: string | undefined;
  /** Where the pod's service account is mounted; tests point it at a folder of their own. */
  readonly KUBE_AUTH_PROXY_SERVICE_ACCOUNT_DIR?: string | undefined;
}

function listenTarget(options: ProxyOptions): ListenTarget {
  if (options.unixSocket !== undefined) return { kind: 'unix', path: resolve(options.unixSocket) };
  // kubectl needs `[::1]`; `::1` is accepted too.
  const host = options.address.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'tcp', host, port: options.port };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1)$/i;

/** kubectl stays silent here; we say what binding beyond loopback means (kubernetes/kubernetes#8871). */
function exposureWarnings(listen: ListenTarget): string[] {
  if (listen.kind === 'unix' || LOOPBACK.test(listen.host)) return [];
  return [`listening on ${listen.host}, not loopback: anyone who can reach this address can use your cluster credentials`];
}

function staticWarnings(options: ProxyOptions): string[] {
  if (options.www === undefined) return [];
  try {
    if (!statSync(options.www).isDirectory()) return [`Static file directory ${options.www} is not a directory`];
  } catch (err) {
    return [`Failed to stat static file directory ${options.www}: ${err instanceof Error ? err.message : String(err)}`];
  }
  return [];
}

/** Where the proxy keeps what outlives a run (the local CA), by the XDG base directory rules. */
export function stateDirectory(env: Environment): string {
  const base = env.XDG_STATE_HOME?.startsWith('/') ? env.XDG_STATE_HOME : join(env.HOME ?? homedir(), '.local', 'state');
  return join(base, 'kube-auth-proxy');
}

function listenerTls(options: ProxyOptions, env: Environment): ListenerTls | undefined {
  if (options.tlsCertFile !== undefined && options.tlsPrivateKeyFile !== undefined) return loadTlsFiles(resolve(options.tlsCertFile), resolve(options.tlsPrivateKeyFile));
  if (!options.localTls) return undefined;
  return loadLocalTls(options.certsDir === undefined ? join(stateDirectory(env), 'certs') : resolve(options.certsDir));
}

/** A certificate of the user's own that has expired, or soon will: browsers will refuse it. */
function expiryWarnings(tls: ListenerTls | undefined, now = Date.now()): string[] {
  if (tls === undefined || tls.local !== undefined) return [];
  const days = Math.floor((tls.validTo - now) / 86_400_000);
  if (days < 0) return [`--tls-cert-file: the certificate expired on ${new Date(tls.validTo).toISOString()}; clients will refuse it`];
  return days < 7 ? [`--tls-cert-file: the certificate expires in ${days} day(s), on ${new Date(tls.validTo).toISOString()}`] : [];
}

function parseServer(kubeconfig: ResolvedKubeconfig): URL {
  const { server, name } = kubeconfig.cluster;
  try {
    const url = new URL(server);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url;
  } catch {
    // reported below
  }
  throw new ConfigError(`invalid server ${JSON.stringify(server)} for cluster "${name}": must be an http:// or https:// URL`);
}

function upstreamConfig(
  options: ProxyOptions,
  kubeconfig: ResolvedKubeconfig,
  warnings: string[],
  runtime: CredentialRuntime,
): UpstreamConfig {
  const { cluster, user } = kubeconfig;
  const removed = removedAuthProviderMessage(user.authProvider?.name);
  if (removed !== undefined) throw new ConfigError(removed);
  if (user.unsupported.length > 0) {
    throw new ConfigError(
      `user "${user.name}" needs ${user.unsupported.join(', ')}, which this version of kube-auth-proxy does not support yet`,
    );
  }
  const server = parseServer(kubeconfig);
  const https = server.protocol === 'https:';
  // client-go applies credentials and TLS only to https servers (rest.IsConfigTransportTLS).
  if (!https && hasIdentity(user)) warnings.push(`credentials of user "${user.name}" are not sent to the plain-HTTP server ${server.origin}`);
  const serverPath = server.pathname.replace(/\/+$/, '');
  if (serverPath !== '' && !options.appendServerPath) {
    warnings.push(`Your kube context contains a server path ${serverPath}, use --append-server-path to automatically append the path to each request`);
  }
  return {
    server,
    pathPrefix: options.appendServerPath ? serverPath : '',
    ...(https ? { tls: loadUpstreamTls(cluster, user, server) } : {}),
    credentials: https ? selectCredentials(user, cluster, runtime) : NO_CREDENTIALS,
    // Impersonation is part of client-go's user identification, applied only to https servers too.
    impersonation: https ? impersonationHeaders(user.impersonate) : [],
    overrideClientAuth: options.overrideClientAuth,
    requestTimeoutMs: options.requestTimeoutMs,
    connections: options.upstreamConnections,
    queueTimeoutMs: options.upstreamQueueTimeoutMs,
    keepaliveMs: options.keepaliveMs,
    userAgent: userAgent(),
    serverTiming: options.serverTiming,
    record: headerRecording(options.verbosity),
  };
}

/** Adds the proxy for the server (see chooseProxy); one from the environment must be one Go can dial. */
function withProxy(upstream: UpstreamConfig, cluster: ResolvedCluster, env: ProxyEnvironment): UpstreamConfig {
  const proxy = chooseProxy(upstream.server, cluster.proxyUrl, env);
  if (proxy === undefined) return upstream;
  // proxy-url's scheme was checked with the kubeconfig; the value itself may hold a password.
  if (!PROXY_SCHEMES.includes(proxy.protocol)) {
    const variable = upstream.server.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
    throw new ConfigError(`unsupported proxy scheme ${JSON.stringify(proxy.protocol.slice(0, -1))} in ${variable}, must be http, https, or socks5`);
  }
  return { ...upstream, proxy };
}

function filterRules(options: ProxyOptions): ProxyConfig['filter'] {
  if (options.disableFilter) return undefined;
  return {
    acceptHosts: compileRuleList('--accept-hosts', options.acceptHosts),
    acceptPaths: compileRuleList('--accept-paths', options.acceptPaths),
    rejectPaths: compileRuleList('--reject-paths', effectiveRejectPaths(options)),
    rejectMethods: compileRuleList('--reject-methods', options.rejectMethods),
  };
}

/** --caller-token-file and --write-kubeconfig: the token read or made, the target checked, before anything listens. */
function callerSettings(options: ProxyOptions): Pick<ProxyConfig, 'callers' | 'writeKubeconfig'> {
  if (options.callerTokenFile === undefined) return {};
  const token = loadCallerToken(resolve(options.callerTokenFile));
  const writeKubeconfig = options.writeKubeconfig === undefined ? undefined : resolve(options.writeKubeconfig);
  if (writeKubeconfig !== undefined) checkKubeconfigTarget(writeKubeconfig);
  return {
    callers: { token, secrets: new CallerSecrets(token.token, options.loginLinkTtlMs) },
    ...(writeKubeconfig === undefined ? {} : { writeKubeconfig }),
  };
}

/** What the running process offers credential sources, besides the options. */
export type Runtime = Omit<CredentialRuntime, 'execPluginTimeoutMs'>;

/**
 * Reads everything start-up needs. Throws ConfigError with a one-line message on bad input.
 * `runtime.onWarning` receives problems found later, such as a token file that can't be re-read.
 */
export async function completeConfig(options: ProxyOptions, env: Environment, runtime: Runtime): Promise<ProxyConfig> {
  const kubeconfig = await resolveKubeconfig(
    {
      ...(options.kubeconfig === undefined ? {} : { explicitPath: resolve(options.kubeconfig) }),
      ...(env.KUBECONFIG === undefined ? {} : { kubeconfigEnv: env.KUBECONFIG }),
      homeDir: env.HOME ?? homedir(),
      ...(env.KUBERNETES_MASTER ? { defaultServer: env.KUBERNETES_MASTER } : {}),
      inCluster: {
        host: env.KUBERNETES_SERVICE_HOST,
        port: env.KUBERNETES_SERVICE_PORT,
        serviceAccountDir: env.KUBE_AUTH_PROXY_SERVICE_ACCOUNT_DIR ?? SERVICE_ACCOUNT_DIR,
      },
    },
    {
      context: options.context,
      cluster: options.cluster,
      user: options.user,
      server: options.server,
      tlsServerName: options.tlsServerName,
      certificateAuthority: options.certificateAuthority && resolve(options.certificateAuthority),
      insecureSkipTlsVerify: options.insecureSkipTlsVerify,
      clientCertificate: options.clientCertificate && resolve(options.clientCertificate),
      clientKey: options.clientKey && resolve(options.clientKey),
      token: options.token,
      as: options.as,
      asGroups: options.asGroups,
      asUid: options.asUid,
    },
  );
  const warnings = [...kubeconfig.warnings];
  const upstream = withProxy(upstreamConfig(options, kubeconfig, warnings, { ...runtime, execPluginTimeoutMs: options.execPluginTimeoutMs, proxyEnvironment: env }), kubeconfig.cluster, env);
  const identity = describeIdentity(upstream.tls?.cert, upstream.credentials, upstream.impersonation.length > 0 ? kubeconfig.user.impersonate : undefined);
  warnings.push(...identity.warnings);
  if (options.disableFilter && options.unixSocket === undefined) {
    warnings.push('Request filter disabled, your proxy is vulnerable to XSRF attacks, please be cautious');
  }
  if (!options.originGuard) {
    warnings.push('Origin guard disabled (--origin-guard=false): any web page open in a browser on this machine can send requests through the proxy with your credentials');
  }
  warnings.push(...staticWarnings(options));
  const listen = listenTarget(options);
  warnings.push(...exposureWarnings(listen));
  const tls = listenerTls(options, env);
  warnings.push(...expiryWarnings(tls));
  const impersonate = upstream.impersonation.length > 0 ? kubeconfig.user.impersonate : undefined;
  const audit = await auditConfig(options, stateDirectory(env), actingUsers(upstream.tls?.cert, kubeconfig.user.name, impersonate), warnings);
  const apiPrefix = withTrailingSlash(options.apiPrefix);
  return Object.freeze({
    listen,
    headersTimeoutMs: options.headersTimeoutMs,
    ...(tls === undefined ? {} : { tls }),
    apiPrefix,
    ...(options.www === undefined ? {} : { staticFiles: { directory: resolve(options.www), prefix: withTrailingSlash(options.wwwPrefix) } }),
    filter: filterRules(options),
    corsAllowedOrigins: compileRuleList('--cors-allowed-origins', options.corsAllowedOrigins),
    originGuard: options.originGuard,
    ...callerSettings(options),
    readOnly: options.readOnly,
    upstream,
    verbosity: options.verbosity,
    ...(observeAddress(options) === undefined ? {} : { metrics: parseHostPort(observeAddress(options)!) }),
    ...(uiConfig(options) === undefined ? {} : { ui: uiConfig(options) }),
    ...(audit === undefined ? {} : { audit }),
    identity: `${identity.summary} against ${upstream.server.origin}${upstream.proxy === undefined ? '' : ` through proxy ${describeProxy(upstream.proxy)}`}`,
    warnings,
  });
}
