// The proxy's own URL, as a client on this machine should call it: for the written kubeconfig and
// the login link. A wildcard address is called on loopback; over HTTPS a loopback listener is
// called `localhost`, the name its certificate carries and the one the start lines print.

import { stripsApiPrefix } from '../stages/api-prefix.js';

const WILDCARDS: Readonly<Record<string, string>> = { '0.0.0.0': '127.0.0.1', '[::]': '[::1]' };
const LOOPBACK = /^(127(\.\d{1,3}){3}|\[::1\]|localhost)$/i;

/** `http://127.0.0.1:8001`, `https://localhost:8001`: from the printed listening address (`host:port`, `[v6]:port`). */
export function ownOrigin(scheme: 'http' | 'https', address: string): string {
  const match = /^(.*):(\d+)$/.exec(address);
  if (match === null) throw new Error(`not a TCP address: ${address}`);
  const [, listened = '', port = ''] = match;
  let host = WILDCARDS[listened] ?? listened;
  if (scheme === 'https' && LOOPBACK.test(host)) host = 'localhost';
  return `${scheme}://${host}:${port}`;
}

/**
 * A kubeconfig's `server` for the proxy: the origin, plus the API prefix when the proxy strips it
 * (`/k8s/`); a prefix that begins with `/api` is forwarded whole, so clients must not add it.
 */
export function ownServer(origin: string, apiPrefix: string): string {
  return stripsApiPrefix(apiPrefix) ? origin + apiPrefix.replace(/\/+$/, '') : origin;
}
