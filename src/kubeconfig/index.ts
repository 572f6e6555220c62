// Loads kubeconfig the way client-go v0.32 / kubectl 1.32 do: which files, merge, path
// resolution, selection, flag overrides, validation (tools/clientcmd/loader.go, client_config.go).

import { buildCluster, buildUser, dataOverrideWarnings } from './build.js';
import { loadKubeconfigFiles } from './load-files.js';
import { mergeKubeconfigs } from './merge.js';
import { effectiveCluster, effectiveUser } from './overrides.js';
import { selectEntries, type Selection } from './select.js';
import type { ServerSource } from './server-url.js';
import type { KubeconfigOverrides, LoadingRules, ResolvedKubeconfig } from './types.js';
import { confirmUsable } from './validate.js';
import { inClusterConfig, isEmptyConfig } from './in-cluster.js';

export type * from './types.js';

/**
 * Reads the kubeconfig files chosen by `rules`, merges them, picks the context, cluster and user,
 * applies the flag `overrides` and validates the result.
 *
 * Auth providers this version cannot honour (any but oidc) are
 * listed in `user.unsupported`, for the caller to refuse.
 * @throws ConfigError with a one-line message naming the file, flag or entry at fault (never a secret).
 */
export async function resolveKubeconfig(
  rules: LoadingRules,
  overrides: KubeconfigOverrides,
): Promise<ResolvedKubeconfig> {
  const loaded = await loadKubeconfigFiles(rules);
  const merged = mergeKubeconfigs(loaded.files);
  if (rules.explicitPath === undefined && rules.inCluster !== undefined && isEmptyConfig(merged)) {
    const inCluster = inClusterConfig(rules.inCluster, overrides);
    if (inCluster !== undefined) return inCluster;
  }
  const selection = selectEntries(merged, overrides);
  const cluster = effectiveCluster(selection.cluster, rules.defaultServer, overrides);
  const user = effectiveUser(selection.user, overrides);
  await confirmUsable({
    contextProblems: selection.contextProblems,
    clusterName: selection.clusterName,
    cluster,
    fromKubeconfig: selection.cluster !== undefined,
    userName: selection.userName,
    user,
    serverSource: serverSource(selection, overrides),
  });
  return {
    contextName: selection.contextName,
    cluster: buildCluster(selection.clusterName, cluster),
    user: buildUser(selection.userName, user, selection.user?.file),
    files: loaded.files.map((file) => file.path),
    warnings: [
      ...loaded.warnings,
      ...dataOverrideWarnings(selection.clusterName, cluster, selection.userName, user),
    ],
  };
}

function serverSource(selection: Selection, overrides: KubeconfigOverrides): ServerSource {
  if (overrides.server) return '--server';
  const located = selection.cluster;
  return located?.entry.server !== undefined ? { file: located.file } : '$KUBERNETES_MASTER';
}
