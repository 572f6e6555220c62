// Builds the effective cluster and user: defaults, then the kubeconfig entry, then the flags, with
// client-go's special cases (tools/clientcmd/client_config.go `getCluster`, `getAuthInfo`).

import { resolveClusterPaths, resolveFlagPath, resolveUserPaths } from './resolve-paths.js';
import type { Located, RawCluster, RawUser } from './raw-types.js';
import type { KubeconfigOverrides } from './types.js';

/** Copies the fields of `top` that are set over `base` (mergo.Merge WithOverride: non-zero wins). */
function overlay<T extends object>(base: T, top: T): T {
  const set = Object.entries(top).filter(([, value]) => value !== undefined);
  return { ...base, ...Object.fromEntries(set) };
}

/**
 * The cluster to use: `ClusterDefaults`, then the kubeconfig entry with its paths made absolute,
 * then the flags. The defaults hold only `$KUBERNETES_MASTER`: unlike client-go there is no
 * `http://localhost:8080` fallback, so an empty config is reported instead of dialling port 8080.
 */
export function effectiveCluster(
  selected: Located<RawCluster> | undefined,
  defaultServer: string | undefined,
  overrides: KubeconfigOverrides,
): RawCluster {
  const defaults: RawCluster = { server: defaultServer || undefined };
  const fromFile = selected ? overlay(defaults, resolveClusterPaths(selected)) : defaults;
  const caFlag = resolveFlagPath(overrides.certificateAuthority);
  const insecureFlag = overrides.insecureSkipTlsVerify === true ? true : undefined;
  let cluster = overlay(fromFile, {
    server: overrides.server || undefined,
    disableCompression: overrides.disableCompression === true ? true : undefined,
  });
  // An insecure or CA flag takes all three trust fields from the flags, so a kubeconfig CA cannot
  // clash with --insecure-skip-tls-verify, and --certificate-authority beats kubeconfig CA data.
  if (insecureFlag || caFlag) {
    cluster = { ...cluster, insecureSkipTlsVerify: insecureFlag, certificateAuthority: caFlag, certificateAuthorityData: undefined };
  }
  // --server or --tls-server-name: the name comes from the flag, so --server alone clears the
  // kubeconfig's tls-server-name, which usually belonged to the old server.
  if (overrides.server || overrides.tlsServerName) {
    cluster = { ...cluster, tlsServerName: overrides.tlsServerName || undefined };
  }
  return cluster;
}

/**
 * The user to use: the kubeconfig entry with its paths made absolute, then the flags field by field.
 * A certificate or key flag also drops the matching `*-data` (client-go HEAD; v0.32 let data win),
 * and `--token` drops a kubeconfig `tokenFile`.
 */
export function effectiveUser(selected: Located<RawUser> | undefined, overrides: KubeconfigOverrides): RawUser {
  const fromFile: RawUser = selected ? resolveUserPaths(selected) : {};
  const certFlag = resolveFlagPath(overrides.clientCertificate);
  const keyFlag = resolveFlagPath(overrides.clientKey);
  let user = overlay(fromFile, {
    clientCertificate: certFlag,
    clientKey: keyFlag,
    token: overrides.token || undefined,
    impersonate: overrides.as || undefined,
    impersonateUid: overrides.asUid || undefined,
    impersonateGroups: overrides.asGroups?.length ? overrides.asGroups : undefined,
  });
  if (certFlag) user = { ...user, clientCertificateData: undefined };
  if (keyFlag) user = { ...user, clientKeyData: undefined };
  // client-go keeps a kubeconfig tokenFile under --token, and the file then wins: the flag the user
  // typed would be ignored. We let the flag win instead (a deliberate difference, see README).
  if (overrides.token) user = { ...user, tokenFile: undefined };
  return user;
}
