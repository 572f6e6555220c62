// Turns the effective cluster and user into the resolved result: `*-data` beats the file, and
// features this version cannot honour are listed rather than silently dropped.

import type { RawCluster, RawUser } from './raw-types.js';
import { restHost } from './server-url.js';
import type { Impersonation, PemSource, ResolvedCluster, ResolvedUser } from './types.js';

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
  };
}

/** The resolved user, with what it asks for that this version cannot do in `unsupported`. */
export function buildUser(name: string, user: RawUser, cluster: RawCluster): ResolvedUser {
  return {
    name,
    clientCertificate: pemSource(user.clientCertificate, user.clientCertificateData),
    clientKey: pemSource(user.clientKey, user.clientKeyData),
    token: user.token,
    tokenFile: user.tokenFile,
    username: user.username,
    password: user.password,
    ...(user.impersonate === undefined ? {} : { impersonate: impersonation(user.impersonate, user) }),
    ...(user.authProvider?.name === undefined ? {} : { authProviderName: user.authProvider.name }),
    unsupported: unsupportedFeatures(user, cluster),
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

function unsupportedFeatures(user: RawUser, cluster: RawCluster): string[] {
  const found: string[] = [];
  // plugin/pkg/client/auth/exec/exec.go `UpdateTransportConfig` never runs the plugin when a
  // token, token file, username (basic auth) or certificate and key are configured (e.g. `--token`).
  if (user.exec && !hasStaticCredentials(user)) found.push('exec plugin (users[].user.exec)');
  if (user.authProvider) {
    const provider = user.authProvider.name === undefined ? '' : ` ${JSON.stringify(user.authProvider.name)}`;
    found.push(`auth-provider${provider} (users[].user.auth-provider)`);
  }
  if (cluster.proxyUrl !== undefined) found.push('proxy-url (clusters[].cluster.proxy-url)');
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
