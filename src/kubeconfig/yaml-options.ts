// How kubeconfig YAML is read, for loading and for editing in place alike: YAML 1.1 as Go's
// sigs.k8s.io/yaml reads it, duplicate keys allowed (the last wins), aliases bounded.

/** Options for the yaml package's parsers. */
export const KUBECONFIG_PARSE_OPTIONS = { version: '1.1', uniqueKeys: false } as const;

/** Options for turning a parsed document into plain values: a bound on alias expansion (billion laughs). */
export const KUBECONFIG_TO_JS_OPTIONS = { maxAliasCount: 100 } as const;
