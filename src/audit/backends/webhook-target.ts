// --audit-webhook-config-file: where audit events are POSTed, read as kube-apiserver reads it
// (k8s.io/apiserver pkg/util/webhook `LoadKubeconfig`: client-go loading rules with only the
// explicit path, no overrides): the current context's cluster `server`, its TLS settings and the
// user's client certificate, token or token file. Loading goes through the proxy's own kubeconfig
// loader, so paths, `*-data`, validation and messages are client-go's.

import { access, constants } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, messageOf } from '../../errors.js';
import { NO_CREDENTIALS, basicAuth, bearerToken, type Credentials } from '../../credentials/credentials.js';
import { hasIdentity } from '../../credentials/select-credentials.js';
import { loadUpstreamTls, type UpstreamTls } from '../../credentials/tls-material.js';
import { TOKEN_FILE_TTL_MS, tokenFile } from '../../credentials/token-file.js';
import { describeFsError } from '../../kubeconfig/fs-errors.js';
import { resolveKubeconfig, type ResolvedKubeconfig } from '../../kubeconfig/index.js';
import { NO_CONFIGURATION } from '../../kubeconfig/validate.js';

const FLAG = '--audit-webhook-config-file';

/** The receiver of audit events, checked at start. Holds no secret in any string field. */
export interface WebhookTarget {
  /** The cluster's `server`: events are POSTed to exactly this URL. */
  readonly url: URL;
  /** The URL for messages: scheme, host and path, without user info or query. */
  readonly displayUrl: string;
  /** For an https server: CA, client certificate and key, server name, verification. */
  readonly tls?: UpstreamTls;
  /**
   * What identifies the proxy to the receiver (nothing for a plain-HTTP server, as client-go).
   * `onWarning` hears of a token file that could not be re-read; the call does not throw.
   */
  readonly credentials: (onWarning: (message: string) => void) => Credentials;
  /** Non-fatal findings to print at start (client-go's "…-data will override", plain HTTP). */
  readonly warnings: readonly string[];
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ');
}

/**
 * Reads and checks the webhook kubeconfig (only this file: no $KUBECONFIG, no merging).
 * @throws ConfigError, one line: `--audit-webhook-config-file: FILE: what is wrong with which field`.
 */
export async function loadWebhookTarget(configFile: string): Promise<WebhookTarget> {
  const file = resolve(configFile);
  const fail = (detail: string, cause?: unknown): ConfigError => new ConfigError(`${FLAG}: ${file}: ${oneLine(detail)}`, { cause });
  try {
    await access(file, constants.R_OK);
  } catch (err) {
    throw new ConfigError(`${FLAG}: ${describeFsError('open', file, err)}`, { cause: err });
  }
  let kubeconfig: ResolvedKubeconfig;
  try {
    kubeconfig = await resolveKubeconfig({ explicitPath: file, homeDir: '' }, {});
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // client-go's words point at $KUBERNETES_MASTER, which plays no part for this flag.
    const detail = err.message === NO_CONFIGURATION ? 'no server: current-context must name a context whose cluster has a server' : err.message;
    throw fail(detail, err);
  }
  const { cluster, user } = kubeconfig;
  const unsupported = [
    ...(user.exec === undefined ? [] : ['exec']),
    ...(user.authProvider === undefined ? [] : ['auth-provider']),
    ...(user.impersonate === undefined ? [] : ['as (impersonation)']),
  ];
  if (unsupported.length > 0) {
    throw fail(`user ${JSON.stringify(user.name)}: ${unsupported.join(', ')} is not supported for the audit webhook; use client-certificate, token or tokenFile`);
  }
  if (cluster.proxyUrl !== undefined) throw fail(`cluster ${JSON.stringify(cluster.name)}: proxy-url is not supported for the audit webhook`);
  const url = new URL(cluster.server);
  const displayUrl = `${url.protocol}//${url.host}${url.pathname}`;
  const warnings = [...kubeconfig.warnings];
  if (url.protocol !== 'https:') {
    // client-go sends credentials and TLS settings to https servers only (rest.IsConfigTransportTLS).
    if (hasIdentity(user)) warnings.push(`${FLAG}: credentials of user "${user.name}" are not sent to the plain-HTTP audit webhook ${displayUrl}`);
    return { url, displayUrl, credentials: () => NO_CREDENTIALS, warnings };
  }
  let tls: UpstreamTls;
  try {
    tls = loadUpstreamTls(cluster, user, url);
  } catch (err) {
    throw fail(messageOf(err), err);
  }
  return { url, displayUrl, tls, credentials: credentialsFor(kubeconfig, fail), warnings };
}

// client-go's precedence: tokenFile (beats token) › token › basic auth.
function credentialsFor(
  { user }: ResolvedKubeconfig,
  fail: (detail: string, cause?: unknown) => ConfigError,
): WebhookTarget['credentials'] {
  if (user.tokenFile !== undefined) {
    // Read now, so that a missing file stops the start; later failures go to whoever uses it.
    let warn: (message: string) => void = () => undefined;
    let source: Credentials;
    try {
      source = tokenFile(user.tokenFile, TOKEN_FILE_TTL_MS, (message) => warn(`audit webhook: ${message}`));
    } catch (err) {
      throw fail(`user ${JSON.stringify(user.name)}: ${messageOf(err)}`, err);
    }
    return (onWarning) => {
      warn = onWarning;
      return source;
    };
  }
  if (user.token !== undefined && user.token !== '') {
    const source = bearerToken(user.token);
    return () => source;
  }
  if (user.username !== undefined && user.username !== '') {
    const source = basicAuth(user.username, user.password ?? '');
    return () => source;
  }
  return () => NO_CREDENTIALS;
}
