// Kubeconfig entries as decoded from one file, before merging, path resolution and overrides.
// Mirrors client-go's internal `clientcmdapi` types (tools/clientcmd/api/types.go), with one
// simplification: Go's zero values ("" / false / empty bytes) are stored as `undefined`, because
// client-go tests every field with `len(x) != 0` and never tells "empty" from "absent".

/** A `clusters[].cluster` entry. */
export interface RawCluster {
  readonly server?: string;
  readonly tlsServerName?: string;
  readonly insecureSkipTlsVerify?: true;
  readonly certificateAuthority?: string;
  readonly certificateAuthorityData?: Buffer;
  readonly proxyUrl?: string;
  readonly disableCompression?: true;
  /** The `client.authentication.k8s.io/exec` entry of `extensions`, handed to exec plugins. */
  readonly execExtension?: unknown;
}

/** `users[].user.exec` (client-go `ExecConfig`). */
export interface RawExec {
  readonly command?: string;
  readonly args?: readonly string[];
  readonly env?: readonly { readonly name?: string; readonly value?: string }[];
  readonly apiVersion?: string;
  readonly installHint?: string;
  readonly provideClusterInfo?: true;
  readonly interactiveMode?: string;
}

/** `users[].user.auth-provider` (client-go `AuthProviderConfig`). */
export interface RawAuthProvider {
  readonly name?: string;
  readonly config?: Readonly<Record<string, string>>;
}

/** A `users[].user` entry (client-go calls it AuthInfo). */
export interface RawUser {
  readonly clientCertificate?: string;
  readonly clientCertificateData?: Buffer;
  readonly clientKey?: string;
  readonly clientKeyData?: Buffer;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly impersonate?: string;
  readonly impersonateUid?: string;
  readonly impersonateGroups?: readonly string[];
  readonly impersonateUserExtra?: Readonly<Record<string, readonly string[]>>;
  readonly username?: string;
  readonly password?: string;
  readonly authProvider?: RawAuthProvider;
  readonly exec?: RawExec;
}

/** A `contexts[].context` entry. */
export interface RawContext {
  readonly cluster?: string;
  readonly user?: string;
  readonly namespace?: string;
}

/** One decoded file: named entries (names unique within the file) and `current-context`. */
export interface DecodedConfig {
  readonly clusters: ReadonlyMap<string, RawCluster>;
  readonly users: ReadonlyMap<string, RawUser>;
  readonly contexts: ReadonlyMap<string, RawContext>;
  readonly currentContext?: string;
}

/** An entry together with the file that supplied it (client-go's `LocationOfOrigin`). */
export interface Located<T> {
  readonly entry: T;
  readonly file: string;
}

/** All files merged: first file wins per name (tools/clientcmd/loader.go `Load`). */
export interface MergedConfig {
  readonly clusters: ReadonlyMap<string, Located<RawCluster>>;
  readonly users: ReadonlyMap<string, Located<RawUser>>;
  readonly contexts: ReadonlyMap<string, Located<RawContext>>;
  readonly currentContext?: string;
}
