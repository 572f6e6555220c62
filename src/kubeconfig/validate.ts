// The checks client-go runs before using a cluster and user (tools/clientcmd/validation.go
// `validateClusterInfo`, `validateAuthInfo`), plus the transport's insecure-with-CA check.

import { access, constants } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { describeFsError } from './fs-errors.js';
import type { RawCluster, RawExec, RawUser } from './raw-types.js';
import { quote } from './select.js';
import { serverUrlProblem, type ServerSource } from './server-url.js';

/** A file client-go opens during validation; `undefined` if it can be read. */
async function unreadable(file: string): Promise<string | undefined> {
  try {
    await access(file, constants.R_OK);
    return undefined;
  } catch (err) {
    return describeFsError('open', file, err);
  }
}

/** Problems with the effective cluster, in client-go's order. */
export async function validateCluster(name: string, cluster: RawCluster, source: ServerSource): Promise<string[]> {
  const problems: string[] = [];
  if (cluster.server === undefined) {
    problems.push(name === '' ? 'default cluster has no server defined' : `no server found for cluster ${quote(name)}`);
  } else {
    problems.push(...optional(serverUrlProblem(cluster.server, name, source)));
  }
  problems.push(...optional(proxyUrlProblem(cluster.proxyUrl, name)));
  if (cluster.certificateAuthority !== undefined) {
    const reason = await unreadable(cluster.certificateAuthority);
    if (reason) problems.push(`unable to read certificate-authority ${cluster.certificateAuthority} for ${name} due to ${reason}`);
  }
  // transport/transport.go refuses a CA with the insecure flag; it only applies TLS settings to an
  // https server (rest.IsConfigTransportTLS), so neither do we.
  const hasCa = cluster.certificateAuthority !== undefined || cluster.certificateAuthorityData !== undefined;
  if (cluster.insecureSkipTlsVerify && hasCa && /^https:/i.test(cluster.server ?? '')) {
    problems.push(`specifying a root certificates file with the insecure flag is not allowed for cluster ${quote(name)}`);
  }
  return problems;
}

function optional(problem: string | undefined): string[] {
  return problem === undefined ? [] : [problem];
}

// validation.go `parseProxyURL`. The URL is left out of the message: it may carry a password.
function proxyUrlProblem(proxyUrl: string | undefined, clusterName: string): string | undefined {
  if (proxyUrl === undefined) return undefined;
  const prefix = `invalid 'proxy-url' for cluster ${quote(clusterName)}`;
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    return `${prefix}: not a valid URL`;
  }
  const scheme = url.protocol.replace(/:$/, '');
  return ['http', 'https', 'socks5'].includes(scheme)
    ? undefined
    : `${prefix}: unsupported scheme ${quote(scheme)}, must be http, https, or socks5`;
}

/** Problems with the effective user, in client-go's order. */
export async function validateUser(name: string, user: RawUser): Promise<string[]> {
  const problems = await clientCertProblems(name, user);
  if (user.exec) problems.push(...execProblems(name, user.exec, user.authProvider !== undefined));
  const methods = [
    ...(user.token !== undefined ? ['token'] : []),
    ...(user.username !== undefined || user.password !== undefined ? ['basicAuth'] : []),
  ];
  if (methods.length > 1) {
    problems.push(`more than one authentication method found for ${name}; found [${methods.join(' ')}], only one is allowed`);
  }
  const impersonatesExtras = user.impersonateUid ?? user.impersonateGroups ?? user.impersonateUserExtra;
  if (impersonatesExtras !== undefined && user.impersonate === undefined) {
    problems.push(`requesting uid, groups or user-extra for ${name} without impersonating a user`);
  }
  return problems;
}

const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
const INTERACTIVE_MODES = ['Never', 'IfAvailable', 'Always'];

// validation.go `validateAuthInfo` for exec, then exec.go's apiVersion check (v1alpha1 is gone).
function execProblems(name: string, exec: RawExec, hasAuthProvider: boolean): string[] {
  const problems: string[] = [];
  if (hasAuthProvider) problems.push(`authProvider cannot be provided in combination with an exec plugin for ${name}`);
  if (exec.command === undefined) problems.push(`command must be specified for ${name} to use exec authentication plugin`);
  if (exec.apiVersion === undefined) problems.push(`apiVersion must be specified for ${name} to use exec authentication plugin`);
  else if (!EXEC_API_VERSIONS.includes(exec.apiVersion)) problems.push(`exec plugin: invalid apiVersion ${quote(exec.apiVersion)}`);
  if (exec.env?.some((entry) => entry.name === undefined)) {
    problems.push(`env variable name must be specified for ${name} to use exec authentication plugin`);
  }
  // v1beta1 defaults the mode to IfAvailable (conversion.go); v1 requires it.
  const mode = exec.interactiveMode ?? (exec.apiVersion === 'client.authentication.k8s.io/v1beta1' ? 'IfAvailable' : undefined);
  if (mode === undefined) problems.push(`interactiveMode must be specified for ${name} to use exec authentication plugin`);
  else if (!INTERACTIVE_MODES.includes(mode)) problems.push(`invalid interactiveMode for ${name}: ${quote(mode)}`);
  return problems;
}

// A certificate needs a key and a key needs a certificate; files must be readable.
async function clientCertProblems(name: string, user: RawUser): Promise<string[]> {
  const problems: string[] = [];
  const hasCert = user.clientCertificate !== undefined || user.clientCertificateData !== undefined;
  const hasKey = user.clientKey !== undefined || user.clientKeyData !== undefined;
  if (hasCert && !hasKey) {
    problems.push(`client-key-data or client-key must be specified for ${name} to use the clientCert authentication method.`);
  }
  if (user.clientCertificate !== undefined) {
    const reason = await unreadable(user.clientCertificate);
    if (reason) problems.push(`unable to read client-cert ${user.clientCertificate} for ${name} due to ${reason}`);
  }
  if (hasKey && !hasCert) {
    problems.push(`client-cert-data or client-cert must be specified for ${name} to use the clientCert authentication method.`);
  }
  if (user.clientKey !== undefined) {
    const reason = await unreadable(user.clientKey);
    if (reason) problems.push(`unable to read client-key ${user.clientKey} for ${name} due to ${reason}`);
  }
  return problems;
}

/** validation.go `ErrEmptyConfig`, as kubectl prints it. */
export const NO_CONFIGURATION =
  'invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable';

/**
 * client_config.go `ConfirmUsable` plus the context checks of `validateContext`: collects every
 * problem and throws them as one line, `invalid configuration: a; b`.
 * @param fromKubeconfig whether a kubeconfig cluster entry was selected (client-go's non-empty `LocationOfOrigin`).
 */
export async function confirmUsable(options: {
  readonly contextProblems: readonly string[];
  readonly clusterName: string;
  readonly cluster: RawCluster;
  readonly fromKubeconfig: boolean;
  readonly userName: string;
  readonly user: RawUser;
  readonly serverSource: ServerSource;
}): Promise<void> {
  const { cluster, contextProblems } = options;
  const problems = [...contextProblems, ...(await validateUser(options.userName, options.user))];
  const emptyCluster = !options.fromKubeconfig && Object.values(cluster).every((value) => value === undefined);
  if (emptyCluster) {
    // validation.go: an empty cluster alone means "no configuration"; with context problems it is
    // just their consequence, so it is not repeated.
    if (problems.length === 0) throw new ConfigError(NO_CONFIGURATION);
    if (contextProblems.length === 0) problems.push('cluster has no server defined');
  } else {
    problems.push(...(await validateCluster(options.clusterName, cluster, options.serverSource)));
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}
