// Decodes the text of one kubeconfig file (YAML or JSON) into named entries, following client-go's
// `clientcmd.Load` and the v1 conversion (tools/clientcmd/loader.go, tools/clientcmd/api/v1/conversion.go).

import { parseAllDocuments } from 'yaml';
import { KUBECONFIG_PARSE_OPTIONS, KUBECONFIG_TO_JS_OPTIONS } from './yaml-options.js';
import {
  DecodeProblem,
  asObject,
  optBase64,
  optList,
  optString,
  optStringList,
  optStringListMap,
  optTrue,
  type YamlObject,
} from './fields.js';
import type { DecodedConfig, RawAuthProvider, RawCluster, RawContext, RawExec, RawUser } from './raw-types.js';

/**
 * Decodes one kubeconfig document. Empty text is an empty config; unknown fields are ignored.
 * @throws DecodeProblem with a one-line reason that never quotes a field's value.
 */
export function decodeKubeconfig(text: string): DecodedConfig {
  const top = asTopLevel(parseYaml(text));
  checkTypeMeta(top);
  return {
    clusters: decodeNamedList(top, 'clusters', 'cluster', decodeCluster),
    users: decodeNamedList(top, 'users', 'user', decodeUser),
    contexts: decodeNamedList(top, 'contexts', 'context', decodeContext),
    currentContext: optString(top, 'current-context', ''),
  };
}

// client-go decodes with sigs.k8s.io/yaml (go-yaml v2), i.e. YAML 1.1 (`yes`/`on` are booleans),
// duplicate keys allowed (last wins) and only the first document read.
function parseYaml(text: string): unknown {
  const docs = parseAllDocuments(text, KUBECONFIG_PARSE_OPTIONS);
  const doc = docs[0];
  if (doc === undefined) return undefined;
  const error = doc.errors[0];
  // The first line of a `yaml` error is "<what> at line L, column C:"; the lines after it quote
  // the source, which may hold a secret, so they are dropped.
  if (error !== undefined) throw new DecodeProblem(`yaml: ${firstLine(error.message)}`);
  try {
    return doc.toJS(KUBECONFIG_TO_JS_OPTIONS);
  } catch (err) {
    throw new DecodeProblem(`yaml: ${firstLine(err instanceof Error ? err.message : String(err))}`);
  }
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/:$/, '').slice(0, 200);
}

function asTopLevel(value: unknown): YamlObject | undefined {
  if (Array.isArray(value) || (value !== undefined && value !== null && typeof value !== 'object')) {
    throw new DecodeProblem('expected a kubeconfig mapping (apiVersion, kind, clusters, …) at the top level');
  }
  return asObject(value, 'top level');
}

// The codec only knows `Config` in version `v1`; both default when missing.
function checkTypeMeta(top: YamlObject | undefined): void {
  const apiVersion = optString(top, 'apiVersion', '') ?? 'v1';
  const kind = optString(top, 'kind', '') ?? 'Config';
  if (apiVersion !== 'v1' || kind !== 'Config') {
    throw new DecodeProblem(`no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)}`);
  }
}

type ListKey = 'clusters' | 'users' | 'contexts';

// conversion.go turns each `[]Named*` list into a map and fails on a repeated name.
function decodeNamedList<T>(
  top: YamlObject | undefined,
  key: ListKey,
  itemKey: string,
  decode: (obj: YamlObject | undefined, path: string) => T,
): Map<string, T> {
  const out = new Map<string, T>();
  optList(top, key, '').forEach((item, index) => {
    const named = asObject(item, `${key}[${index}]`);
    const name = optString(named, 'name', `${key}[${index}].`) ?? '';
    if (out.has(name)) throw new DecodeProblem(`${key}: duplicate name ${JSON.stringify(name)} in list`);
    const path = `${key}[${JSON.stringify(name)}].${itemKey}`;
    out.set(name, decode(asObject(named?.[itemKey], path), `${path}.`));
  });
  return out;
}

function decodeCluster(obj: YamlObject | undefined, path: string): RawCluster {
  return {
    server: optString(obj, 'server', path),
    tlsServerName: optString(obj, 'tls-server-name', path),
    insecureSkipTlsVerify: optTrue(obj, 'insecure-skip-tls-verify', path),
    certificateAuthority: optString(obj, 'certificate-authority', path),
    certificateAuthorityData: optBase64(obj, 'certificate-authority-data', path),
    proxyUrl: optString(obj, 'proxy-url', path),
    disableCompression: optTrue(obj, 'disable-compression', path),
    execExtension: execExtension(obj, path),
  };
}

/** The name client-go looks for among a cluster's `extensions` to hand to exec plugins. */
export const EXEC_EXTENSION_NAME = 'client.authentication.k8s.io/exec';

function execExtension(obj: YamlObject | undefined, path: string): unknown {
  for (const [index, item] of optList(obj, 'extensions', path).entries()) {
    const named = asObject(item, `${path}extensions[${index}]`);
    if (optString(named, 'name', `${path}extensions[${index}].`) === EXEC_EXTENSION_NAME) return named?.extension ?? undefined;
  }
  return undefined;
}

function decodeExec(obj: YamlObject | undefined, path: string): RawExec | undefined {
  if (obj === undefined) return undefined;
  const env = optList(obj, 'env', path).map((item, index) => {
    const entry = asObject(item, `${path}env[${index}]`);
    return { name: optString(entry, 'name', `${path}env[${index}].`), value: optString(entry, 'value', `${path}env[${index}].`) };
  });
  return {
    command: optString(obj, 'command', path),
    args: optStringList(obj, 'args', path),
    env: env.length === 0 ? undefined : env,
    apiVersion: optString(obj, 'apiVersion', path),
    installHint: optString(obj, 'installHint', path),
    provideClusterInfo: optTrue(obj, 'provideClusterInfo', path),
    interactiveMode: optString(obj, 'interactiveMode', path),
  };
}

function decodeAuthProvider(obj: YamlObject | undefined, path: string): RawAuthProvider | undefined {
  if (obj === undefined) return undefined;
  const config = asObject(obj.config, `${path}config`);
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  const entries = Object.keys(config ?? {}).map((key) => [key, optString(config, key, `${path}config.`) ?? '']);
  return {
    name: optString(obj, 'name', path),
    ...(entries.length === 0 ? {} : { config: Object.fromEntries(entries) as Record<string, string> }),
  };
}

function decodeUser(obj: YamlObject | undefined, path: string): RawUser {
  return {
    clientCertificate: optString(obj, 'client-certificate', path),
    clientCertificateData: optBase64(obj, 'client-certificate-data', path),
    clientKey: optString(obj, 'client-key', path),
    clientKeyData: optBase64(obj, 'client-key-data', path),
    token: optString(obj, 'token', path),
    tokenFile: optString(obj, 'tokenFile', path),
    impersonate: optString(obj, 'as', path),
    impersonateUid: optString(obj, 'as-uid', path),
    impersonateGroups: optStringList(obj, 'as-groups', path),
    impersonateUserExtra: optStringListMap(obj, 'as-user-extra', path),
    username: optString(obj, 'username', path),
    password: optString(obj, 'password', path),
    authProvider: decodeAuthProvider(asObject(obj?.['auth-provider'], `${path}auth-provider`), `${path}auth-provider.`),
    exec: decodeExec(asObject(obj?.exec, `${path}exec`), `${path}exec.`),
  };
}

function decodeContext(obj: YamlObject | undefined, path: string): RawContext {
  return {
    cluster: optString(obj, 'cluster', path),
    user: optString(obj, 'user', path),
    namespace: optString(obj, 'namespace', path),
  };
}
