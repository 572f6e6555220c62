// Chooses the context, cluster and user from the merged config and the flags, with client-go's
// messages for names that do not exist (tools/clientcmd/client_config.go, validation.go).

import { ConfigError } from '../errors.js';
import type { Located, MergedConfig, RawCluster, RawContext, RawUser } from './raw-types.js';
import type { KubeconfigOverrides } from './types.js';

/** The names chosen and the kubeconfig entries they refer to (absent when not defined). */
export interface Selection {
  readonly contextName: string;
  readonly clusterName: string;
  readonly userName: string;
  readonly cluster?: Located<RawCluster>;
  readonly user?: Located<RawUser>;
  /** Problems with the chosen context, reported together with the other validation errors. */
  readonly contextProblems: readonly string[];
}

/**
 * Picks context = `--context` or `current-context`; cluster = `--cluster` or the context's;
 * user = `--user` or the context's. Go's `len(x) != 0` tests mean an empty flag counts as unset.
 * @throws ConfigError when a name given by flag does not exist (client-go checks the user first).
 */
export function selectEntries(config: MergedConfig, overrides: KubeconfigOverrides): Selection {
  const contextName = overrides.context || config.currentContext || '';
  const context = config.contexts.get(contextName)?.entry;
  const userName = overrides.user || context?.user || '';
  const clusterName = overrides.cluster || context?.cluster || '';
  const user = config.users.get(userName);
  const cluster = config.clusters.get(clusterName);
  // Same order as client_config.go `ClientConfig`: getAuthInfo, getContext, getCluster.
  if (overrides.user && !user) throw new ConfigError(`auth info ${quote(userName)} does not exist`);
  if (overrides.context && !context) throw new ConfigError(`context ${quote(contextName)} does not exist`);
  if (overrides.cluster && !cluster) throw new ConfigError(`cluster ${quote(clusterName)} does not exist`);
  return {
    contextName,
    clusterName,
    userName,
    cluster,
    user,
    contextProblems: contextProblems(config, contextName, context, overrides),
  };
}

/** Go's `%q` for the plain names kubeconfig uses. */
export function quote(name: string): string {
  return JSON.stringify(name);
}

// validation.go: errContextNotFound, then `validateContext` (user, cluster, namespace). A name that
// a flag replaced is not checked, because the context's own value is not used.
function contextProblems(
  config: MergedConfig,
  contextName: string,
  context: RawContext | undefined,
  overrides: KubeconfigOverrides,
): string[] {
  if (context === undefined) {
    return contextName === '' ? [] : [`context was not found for specified context: ${contextName}`];
  }
  const problems: string[] = [];
  const forContext = `for context ${quote(contextName)}`;
  if (!overrides.user && context.user !== undefined && !config.users.has(context.user)) {
    problems.push(`user ${quote(context.user)} was not found ${forContext}`);
  }
  if (!overrides.cluster && context.cluster !== undefined && !config.clusters.has(context.cluster)) {
    problems.push(`cluster ${quote(context.cluster)} was not found ${forContext}`);
  }
  if (context.namespace !== undefined && !isDns1123Label(context.namespace)) {
    problems.push(`namespace ${quote(context.namespace)} ${forContext} does not conform to the kubernetes DNS_LABEL rules`);
  }
  return problems;
}

/** apimachinery `validation.IsDNS1123Label`: lower-case alphanumerics and '-', at most 63. */
function isDns1123Label(value: string): boolean {
  return value.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value);
}
