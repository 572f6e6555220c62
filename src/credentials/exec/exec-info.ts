// The `KUBERNETES_EXEC_INFO` value a plugin reads (client-go exec.go `newExecInfo`): the API
// version, whether it may talk to the user, and with `provideClusterInfo` the cluster it is for.

import { readFileSync } from 'node:fs';
import type { ExecConfig, ResolvedCluster } from '../../kubeconfig/types.js';

/** `spec.cluster`, keys in the order Go's encoder writes them, empty values left out (omitempty). */
function clusterInfo(cluster: ResolvedCluster): Record<string, unknown> {
  const ca = cluster.certificateAuthority;
  // A CA file is handed over as its contents; a missing file was already refused at start.
  const caData = ca === undefined ? undefined : 'path' in ca ? readFileSync(ca.path) : ca.data;
  const info: Record<string, unknown> = { server: cluster.server };
  if (cluster.tlsServerName !== undefined) info['tls-server-name'] = cluster.tlsServerName;
  if (cluster.insecureSkipTlsVerify) info['insecure-skip-tls-verify'] = true;
  if (caData !== undefined && caData.length > 0) info['certificate-authority-data'] = caData.toString('base64');
  if (cluster.proxyUrl !== undefined) info['proxy-url'] = cluster.proxyUrl;
  if (cluster.disableCompression) info['disable-compression'] = true;
  if (cluster.execExtension !== undefined) info.config = cluster.execExtension;
  return info;
}

export function execInfo(config: ExecConfig, cluster: ResolvedCluster, interactive: boolean): string {
  const spec = config.provideClusterInfo ? { cluster: clusterInfo(cluster), interactive } : { interactive };
  return JSON.stringify({ kind: 'ExecCredential', apiVersion: config.apiVersion, spec });
}
