// --write-kubeconfig: a kubeconfig that points kubectl, client-go and @kubernetes/client-node at
// the proxy with the caller token, so that they work unchanged. How the token travels depends on
// the listener:
// - plain HTTP: client-go sends no credentials of a kubeconfig user to an http:// server
//   (clientcmd reads them only when the transport is TLS), so the token rides in the userinfo of
//   a `proxy-url` that names the proxy itself. Go then sends `Proxy-Authorization: Basic` with
//   absolute-form requests (`GET http://127.0.0.1:8001/api/… HTTP/1.1`), and a CONNECT for exec,
//   attach and port-forward; @kubernetes/client-node (hpagent) sends a CONNECT for everything.
//   The proxy accepts both when they name its own listener (server/own-tunnel.ts).
// - HTTPS: `token` (sent as `Authorization: Bearer`) and, with --local-tls, the local CA.
// The file is the proxy's own: it is rewritten at every start, and any other file is never
// overwritten (it could be the user's real kubeconfig).

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError } from '../errors.js';

/** The first line of every file we write: what marks it as ours to rewrite. */
const MARK = '# Written by kube-auth-proxy';
const NAME = 'kube-auth-proxy';

export interface ProxyKubeconfig {
  /** The proxy's URL as clients should call it (with the API prefix), e.g. `http://127.0.0.1:8001`. */
  readonly server: string;
  readonly token: string;
  /** The local CA of --local-tls, for an HTTPS listener. */
  readonly certificateAuthority?: string;
}

/** Refuses, at start, to overwrite a file that kube-auth-proxy did not write. */
export function checkKubeconfigTarget(path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ConfigError(`--write-kubeconfig: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  if (text !== '' && !text.startsWith(MARK)) {
    throw new ConfigError(`--write-kubeconfig: ${path} exists and was not written by kube-auth-proxy; refusing to overwrite it (remove it or choose another path)`);
  }
}

/** The kubeconfig text: one cluster, user and context, all named kube-auth-proxy. */
export function proxyKubeconfigText(config: ProxyKubeconfig): string {
  const server = new URL(config.server);
  const https = server.protocol === 'https:';
  const cluster: Record<string, string> = { server: config.server };
  if (!https) cluster['proxy-url'] = `http://caller:${encodeURIComponent(config.token)}@${server.host}`;
  if (config.certificateAuthority !== undefined) cluster['certificate-authority'] = config.certificateAuthority;
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: NAME, cluster }],
    users: [{ name: NAME, user: https ? { token: config.token } : {} }],
    contexts: [{ name: NAME, context: { cluster: NAME, user: NAME } }],
    'current-context': NAME,
  };
  const how = https ? 'the caller token as a bearer token' : 'the caller token in proxy-url (sent as Proxy-Authorization)';
  return `${MARK} for ${config.server}, with ${how}; rewritten at every start.\n${stringify(document)}`;
}

/** Writes the file owner-only (its directory 0700 when made now), atomically. */
export function writeProxyKubeconfig(path: string, config: ProxyKubeconfig): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(temporary, proxyKubeconfigText(config), { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } catch (err) {
    throw new ConfigError(`--write-kubeconfig: cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}
