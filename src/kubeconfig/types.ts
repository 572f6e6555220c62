// The result of loading kubeconfig the way client-go does: one chosen cluster and user, paths
// already absolute. What the user entry *means* (TLS, tokens) is decided in credentials/.


/** Where a PEM value comes from: a file (absolute path) or inline `*-data` (decoded bytes). */
export type PemSource = { readonly path: string } | { readonly data: Buffer };

/** Flags that override kubeconfig values (kubectl's global connection flags). */
export interface KubeconfigOverrides {
  readonly context?: string;
  readonly cluster?: string;
  readonly user?: string;
  readonly server?: string;
  readonly tlsServerName?: string;
  readonly certificateAuthority?: string;
  readonly insecureSkipTlsVerify?: boolean;
  /** `--disable-compression`: like the other booleans, only `true` changes anything. */
  readonly disableCompression?: boolean;
  readonly clientCertificate?: string;
  readonly clientKey?: string;
  readonly token?: string;
  /** `--as`, `--as-group` (repeatable), `--as-uid`. */
  readonly as?: string;
  readonly asGroups?: readonly string[];
  readonly asUid?: string;
}

/** Which files to read (client-go's `ClientConfigLoadingRules`). */
export interface LoadingRules {
  /** `--kubeconfig`: only this file, which must exist. */
  readonly explicitPath?: string;
  /** The value of `$KUBECONFIG`, a list separated by `path.delimiter`. */
  readonly kubeconfigEnv?: string;
  /** Home directory for the default `~/.kube/config`. */
  readonly homeDir: string;
  /** `$KUBERNETES_MASTER`, client-go's default server when the cluster has none. */
  readonly defaultServer?: string;
  /** Inside a pod: used when no kubeconfig file says anything (client-go's in-cluster config). */
  readonly inCluster?: InClusterEnvironment;
}

export interface ResolvedCluster {
  readonly name: string;
  readonly server: string;
  readonly tlsServerName?: string;
  readonly insecureSkipTlsVerify: boolean;
  readonly certificateAuthority?: PemSource;
  readonly proxyUrl?: string;
  readonly disableCompression: boolean;
  /** The cluster's `client.authentication.k8s.io/exec` extension, for exec plugins' `spec.cluster.config`. */
  readonly execExtension?: unknown;
}

/** The exec plugin of a user entry, validated, defaults applied (client-go `ExecConfig`). */
export interface ExecConfig {
  /** Absolute when the kubeconfig gave a path with a separator; else a name looked up on PATH. */
  readonly command: string;
  readonly args: readonly string[];
  readonly env: readonly { readonly name: string; readonly value: string }[];
  readonly apiVersion: 'client.authentication.k8s.io/v1' | 'client.authentication.k8s.io/v1beta1';
  readonly installHint?: string;
  readonly provideClusterInfo: boolean;
  readonly interactiveMode: 'Never' | 'IfAvailable' | 'Always';
}

/** An `auth-provider` entry and the file it came from (OIDC writes refreshed tokens back there). */
export interface AuthProviderConfig {
  readonly name: string;
  readonly config: Readonly<Record<string, string>>;
  /** The kubeconfig file that defined the user entry; undefined when it came from flags only. */
  readonly file?: string;
  /** The user entry's name in that file. */
  readonly userName: string;
}

export interface ResolvedUser {
  readonly name: string;
  readonly clientCertificate?: PemSource;
  readonly clientKey?: PemSource;
  readonly token?: string;
  /** Absolute path; its contents beat `token` (client-go). */
  readonly tokenFile?: string;
  readonly username?: string;
  readonly password?: string;
  /** The `auth-provider` entry, if any (`oidc`, or the removed `gcp` / `azure`). */
  readonly authProvider?: AuthProviderConfig;
  /** The exec plugin, when the entry has one and no static credential that would win over it. */
  readonly exec?: ExecConfig;
  /** `as`, `as-uid`, `as-groups`, `as-user-extra`, flags applied: who the requests act as. */
  readonly impersonate?: Impersonation;
  /** Present when the entry uses a feature this version cannot honour yet (exec, auth-provider). */
  readonly unsupported: readonly string[];
}

export interface ResolvedKubeconfig {
  readonly contextName: string;
  readonly cluster: ResolvedCluster;
  readonly user: ResolvedUser;
  /** Files that were read, in precedence order (for the V(6) "Config loaded from file" line). */
  readonly files: readonly string[];
  /** client-go's non-fatal validation messages (e.g. "certificate-authority-data will override"). */
  readonly warnings: readonly string[];
}

/** Impersonation requested by the user entry (client-go `rest.ImpersonationConfig`). */
export interface Impersonation {
  readonly user: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/** What in-cluster configuration reads from the environment. */
export interface InClusterEnvironment {
  /** `$KUBERNETES_SERVICE_HOST` */
  readonly host?: string;
  /** `$KUBERNETES_SERVICE_PORT` */
  readonly port?: string;
  /** The service-account directory (token, ca.crt); configurable so tests can use their own. */
  readonly serviceAccountDir: string;
}
