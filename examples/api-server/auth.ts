// Authentication like kube-apiserver's union authenticator: a client certificate chained to the
// CA wins, then a bearer token, then basic auth; anonymous only when no credential was offered.
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';

/** How a request proved who it is. */
export type AuthKind = 'certificate' | 'token' | 'basic';

/** Who the server decided a request comes from. */
export interface Identity {
  user: string;
  authKind?: AuthKind;
}

/** Credentials the server accepts. */
export interface AuthConfig {
  tokens: Map<string, string>;
  /** Asked for bearer tokens not in `tokens` (e.g. OIDC ID tokens): the user name, or undefined. */
  authenticateToken?: (token: string) => string | undefined;
  basicAuth: ReadonlyMap<string, string>;
  allowAnonymous: boolean;
}

/** kube-apiserver's name for requests without credentials (`--anonymous-auth`). */
export const ANONYMOUS_USER = 'system:anonymous';

interface PeerInfo {
  subject?: string;
  commonName?: string;
  authorized: boolean;
}

/** The peer certificate is fixed for a connection, so it is read once per socket. */
const peers = new WeakMap<TLSSocket, PeerInfo>();

function formatSubject(subject: PeerCertificate['subject']): string {
  return Object.entries(subject)
    .flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${key}=${String(v)}`))
    .join(',');
}

/** The client certificate a connection presented, valid or not. */
export function peerOf(socket: TLSSocket): PeerInfo {
  let peer = peers.get(socket);
  if (!peer) {
    const cert = socket.getPeerCertificate();
    // An empty object means no certificate was presented.
    const presented = cert !== null && typeof cert === 'object' && 'subject' in cert && cert.subject !== undefined;
    const cn: unknown = presented ? cert.subject.CN : undefined;
    peer = {
      authorized: presented && socket.authorized,
      subject: presented ? formatSubject(cert.subject) : undefined,
      commonName: Array.isArray(cn) ? String(cn[0]) : typeof cn === 'string' ? cn : undefined,
    };
    peers.set(socket, peer);
  }
  return peer;
}

function fromAuthorization(header: string, config: AuthConfig): Identity | undefined {
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') {
    const user = config.tokens.get(value) ?? config.authenticateToken?.(value);
    return user === undefined ? undefined : { user, authKind: 'token' };
  }
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    const ok = colon > 0 && config.basicAuth.get(user) === decoded.slice(colon + 1);
    return ok ? { user, authKind: 'basic' } : undefined;
  }
  return undefined;
}

/**
 * Decides who sent a request.
 * @returns undefined when the request must get 401: credentials that do not check out are
 * rejected even when anonymous requests are allowed, as kube-apiserver does.
 */
export function authenticate(req: IncomingMessage, config: AuthConfig): Identity | undefined {
  const peer = peerOf(req.socket as TLSSocket);
  if (peer.authorized && peer.commonName !== undefined) return { user: peer.commonName, authKind: 'certificate' };
  const authorization = req.headers.authorization;
  if (authorization !== undefined) return fromAuthorization(authorization, config);
  // kube-apiserver refuses an unverifiable certificate in the handshake; here it is a 401.
  if (peer.subject !== undefined) return undefined;
  return config.allowAnonymous ? { user: ANONYMOUS_USER } : undefined;
}
