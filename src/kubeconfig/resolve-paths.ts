// Makes file references inside kubeconfig entries absolute, relative to the file that defined the
// entry, as client-go's `ResolveLocalPaths` does (tools/clientcmd/loader.go).

import * as path from 'node:path';
import type { Located, RawCluster, RawUser } from './raw-types.js';

/** Resolves one path against a base directory; absolute and unset paths are unchanged. */
function resolveAgainst(base: string, file: string | undefined): string | undefined {
  return file === undefined ? undefined : path.resolve(base, file);
}

/** The absolute directory of the file an entry came from (`filepath.Abs(filepath.Dir(origin))`). */
function originDir(file: string): string {
  return path.resolve(path.dirname(file));
}

/** `certificate-authority`, resolved against the directory of the defining file. */
export function resolveClusterPaths(located: Located<RawCluster>): RawCluster {
  const base = originDir(located.file);
  const cluster = located.entry;
  return { ...cluster, certificateAuthority: resolveAgainst(base, cluster.certificateAuthority) };
}

/**
 * `client-certificate`, `client-key`, `tokenFile`, and `exec.command` when it holds a path
 * separator (a bare name is looked up on PATH), resolved against the directory of the defining file.
 */
export function resolveUserPaths(located: Located<RawUser>): RawUser {
  const base = originDir(located.file);
  const user = located.entry;
  return {
    ...user,
    clientCertificate: resolveAgainst(base, user.clientCertificate),
    clientKey: resolveAgainst(base, user.clientKey),
    tokenFile: resolveAgainst(base, user.tokenFile),
    ...(user.exec?.command?.includes(path.sep) === true ? { exec: { ...user.exec, command: path.resolve(base, user.exec.command) } } : {}),
  };
}

/** A path given on the command line: used as given, i.e. relative to the working directory. */
export function resolveFlagPath(file: string | undefined): string | undefined {
  return file ? path.resolve(file) : undefined;
}
