// What proves a caller (--caller-token-file): the caller token itself, the session cookie that a
// one-time login link hands a browser, and CONNECT tunnels to the proxy's own listener that showed
// the token when they were opened. Every comparison is constant-time on SHA-256 digests, so
// neither the content nor the length of the token shows in response times.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { LoginLinks } from './login-links.js';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export class CallerSecrets {
  private readonly tokenDigest: Buffer;
  /**
   * The login cookie's value: random for this run, not derived from the token. The cookie is
   * therefore never accepted as the token (Authorization, Proxy-Authorization), it tells nothing
   * about the token, and it is worthless once the process ends, bounding how long a cookie that
   * leaked (cookies are shared by every port of a host) stays good.
   */
  readonly sessionValue = randomBytes(32).toString('base64url');
  private readonly sessionDigest = digest(this.sessionValue);
  /** Sockets whose CONNECT showed the token: every request inside them is the caller's. */
  private readonly tunnels = new WeakSet<Socket>();
  readonly loginLinks: LoginLinks;

  constructor(token: string, loginLinkTtlMs: number) {
    this.tokenDigest = digest(token);
    this.loginLinks = new LoginLinks(loginLinkTtlMs);
  }

  isToken(presented: string): boolean {
    return timingSafeEqual(digest(presented), this.tokenDigest);
  }

  isSession(presented: string): boolean {
    return timingSafeEqual(digest(presented), this.sessionDigest);
  }

  admitTunnel(socket: Socket): void {
    this.tunnels.add(socket);
  }

  isAdmittedTunnel(socket: Socket): boolean {
    return this.tunnels.has(socket);
  }
}
