// Turns the effective cluster and user into the resolved result: `*-data` beats the file, and
// features this version cannot honour are listed rather than silently dropped.

import type { RawAuthProvider, RawCluster, RawExec, RawUser } from './raw-types.js';
import { restHost } from './server-url.js';
import type { AuthProviderConfig, ExecConfig, Impersonation, PemSource, ResolvedCluster, ResolvedUser } from './types.js';

/** Inline data wins over a file (transport/transport.go `dataFromSliceOrFile`). */
function pemSource(file: string | undefined, data: Buffer | undefined): PemSource | undefined {
  if (data !== undefined) return { data };
  return file === undefined ? undefined : { path: file };
}

/** The resolved cluster; `server` must already be validated. */
export function buildCluster(name: string, cluster: RawCluster): ResolvedCluster {
  return {
    name,
    server: restHost(cluster.server ?? ''),
    tlsServerName: cluster.tlsServerName,
    insecureSkipTlsVerify: cluster.insecureSkipTlsVerify === true,
    certificateAuthority: pemSource(cluster.certificateAuthority, cluster.certificateAuthorityData),
    proxyUrl: cluster.proxyUrl,
    disableCompression: cluster.disableCompression === true,
    ...(cluster.execExtension === undefined ? {} : { execExtension: cluster.execExtension }),
  };
}

/**
 * The resolved user, with what it asks for that this version cannot do in `unsupported`.
 * `file` is the kubeconfig file that defined the entry, if one did. The exec entry must already
 * be validated (validate.ts).
 */
export function buildUser(name: string, user: RawUser, file: string | undefined): ResolvedUser {
  return {
    name,
    clientCertificate: pemSource(user.clientCertificate, user.clientCertificateData),
    clientKey: pemSource(user.clientKey, user.clientKeyData),
    token: user.token,
    tokenFile: user.tokenFile,
    username: user.username,
    password: user.password,
    ...(user.impersonate === undefined ? {} : { impersonate: impersonation(user.impersonate, user) }),
    ...(user.authProvider === undefined ? {} : { authProvider: authProvider(name, user.authProvider, file) }),
    // exec.go `UpdateTransportConfig` never runs the plugin when a token, token file, username
    // (basic auth) or certificate and key are configured (e.g. with `--token`).
    ...(user.exec === undefined || hasStaticCredentials(user) ? {} : { exec: execConfig(user.exec) }),
    unsupported: unsupportedFeatures(user),
  };
}

function impersonation(asUser: string, user: RawUser): Impersonation {
  return {
    user: asUser,
    ...(user.impersonateUid === undefined ? {} : { uid: user.impersonateUid }),
    groups: user.impersonateGroups ?? [],
    extra: user.impersonateUserExtra ?? {},
  };
}

function authProvider(userName: string, raw: RawAuthProvider, file: string | undefined): AuthProviderConfig {
  return { name: raw.name ?? '', config: raw.config ?? {}, userName, ...(file === undefined ? {} : { file }) };
}

/** client-go defaults `interactiveMode` to IfAvailable for v1beta1 (conversion); v1 must say it. */
function execConfig(raw: RawExec): ExecConfig {
  return {
    command: raw.command ?? '',
    args: raw.args ?? [],
    env: (raw.env ?? []).map((entry) => ({ name: entry.name ?? '', value: entry.value ?? '' })),
    apiVersion: raw.apiVersion as ExecConfig['apiVersion'],
    ...(raw.installHint === undefined ? {} : { installHint: raw.installHint }),
    provideClusterInfo: raw.provideClusterInfo === true,
    interactiveMode: (raw.interactiveMode ?? 'IfAvailable') as ExecConfig['interactiveMode'],
  };
}

function unsupportedFeatures(user: RawUser): string[] {
  const found: string[] = [];
  // oidc is supported; gcp and azure fail at start with client-go's removal message; others are unknown.
  if (user.authProvider && user.authProvider.name !== 'oidc') {
    const provider = user.authProvider.name === undefined ? '' : ` ${JSON.stringify(user.authProvider.name)}`;
    found.push(`auth-provider${provider} (users[].user.auth-provider)`);
  }
  return found;
}

function hasStaticCredentials(user: RawUser): boolean {
  const hasCert = user.clientCertificate !== undefined || user.clientCertificateData !== undefined;
  const hasKey = user.clientKey !== undefined || user.clientKeyData !== undefined;
  return (
    user.token !== undefined ||
    user.tokenFile !== undefined ||
    user.username !== undefined ||
    (hasCert && hasKey)
  );
}

/** client-go's "both specified" messages; non-fatal here because the data simply wins. */
export function dataOverrideWarnings(clusterName: string, cluster: RawCluster, userName: string, user: RawUser): string[] {
  const warnings: string[] = [];
  if (cluster.certificateAuthority !== undefined && cluster.certificateAuthorityData !== undefined) {
    warnings.push(`certificate-authority-data and certificate-authority are both specified for ${clusterName}. certificate-authority-data will override.`);
  }
  if (user.clientCertificate !== undefined && user.clientCertificateData !== undefined) {
    warnings.push(`client-cert-data and client-cert are both specified for ${userName}. client-cert-data will override.`);
  }
  if (user.clientKey !== undefined && user.clientKeyData !== undefined) {
    warnings.push(`client-key-data and client-key are both specified for ${userName}; client-key-data will override`);
  }
  return warnings;
}
