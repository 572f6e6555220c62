// In-cluster configuration (client-go rest/config.go InClusterConfig, clientcmd
// inClusterClientConfig): inside a pod with no kubeconfig, the API server is the kubernetes
// service from the environment and the identity is the pod's service-account token, re-read
// like a tokenFile. --server, --token and --certificate-authority override each value.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { MergedConfig } from './raw-types.js';
import type { InClusterEnvironment, KubeconfigOverrides, ResolvedKubeconfig } from './types.js';

/** Where a pod's service account is mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';


function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** client-go uses in-cluster config only when no kubeconfig said anything at all. */
export function isEmptyConfig(config: MergedConfig): boolean {
  return config.clusters.size === 0 && config.users.size === 0 && config.contexts.size === 0 && !config.currentContext;
}

/** The in-cluster result, or undefined when this is not a pod (client-go's `Possible()`). */
export function inClusterConfig(env: InClusterEnvironment, overrides: KubeconfigOverrides): ResolvedKubeconfig | undefined {
  const tokenFile = join(env.serviceAccountDir, 'token');
  if (!env.host || !env.port || !isFile(tokenFile)) return undefined;
  const host = env.host.includes(':') ? `[${env.host}]` : env.host;
  const caFile = join(env.serviceAccountDir, 'ca.crt');
  const ca = overrides.certificateAuthority ?? (isFile(caFile) ? caFile : undefined);
  return {
    contextName: '',
    cluster: {
      name: 'in-cluster',
      server: overrides.server || `https://${host}:${env.port}`,
      insecureSkipTlsVerify: overrides.insecureSkipTlsVerify === true,
      ...(ca === undefined || overrides.insecureSkipTlsVerify === true ? {} : { certificateAuthority: { path: ca } }),
      ...(overrides.tlsServerName ? { tlsServerName: overrides.tlsServerName } : {}),
      disableCompression: false,
    },
    user: {
      name: 'in-cluster',
      ...(overrides.token ? { token: overrides.token } : { tokenFile }),
      unsupported: [],
    },
    files: [],
    warnings: [`using in-cluster configuration: service ${host}:${env.port}, token from ${tokenFile}`],
  };
}
