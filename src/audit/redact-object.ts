// --audit-redact (on by default): what a body may not carry into the audit log. A Secret's `data`
// and `stringData` values, and fields whose name says they hold a credential (a TokenRequest's
// `status.token`, a kubeconfig's `client-key-data`, a `password`), are replaced before anything is
// written, in requests and responses, in single objects and in lists. managedFields are dropped
// when the policy says omitManagedFields, as kube-apiserver does.

const REDACTED = '<redacted>';
/** Field names whose string values are credentials wherever they appear. */
const SECRET_FIELD = /^(token|password|passwd|secret|client-key-data|clientKeyData|privateKey|private-key|id-token|refresh-token|access-token|accessToken|refreshToken|idToken|bearerToken)$/i;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function maskValues(map: Json): Json {
  if (!isObject(map)) return map;
  return Object.fromEntries(Object.keys(map).map((key) => [key, REDACTED]));
}

/** A copy of `value` with credentials replaced (`redact`) and managedFields dropped (`omitManagedFields`). */
export function cleanObject(value: unknown, options: { readonly redact: boolean; readonly omitManagedFields: boolean }): unknown {
  /** `inSecretList`: the node is an item of a SecretList, a Secret even without a kind of its own. */
  const visit = (node: Json, inSecretList: boolean): Json => {
    if (Array.isArray(node)) return node.map((item) => visit(item, inSecretList));
    if (!isObject(node)) return node;
    const isSecret = options.redact && (node.kind === 'Secret' || inSecretList);
    const out: Record<string, Json> = {};
    for (const [key, child] of Object.entries(node)) {
      if (options.omitManagedFields && key === 'managedFields') continue;
      if (isSecret && (key === 'data' || key === 'stringData')) out[key] = maskValues(child);
      else if (options.redact && typeof child === 'string' && SECRET_FIELD.test(key)) out[key] = REDACTED;
      else out[key] = visit(child, key === 'items' && node.kind === 'SecretList');
    }
    return out;
  };
  return visit(value as Json, false);
}
