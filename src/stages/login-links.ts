// One-time login links for --www pages (Jupyter's habit): a browser cannot send a bearer token on
// a page load, so the proxy prints a link where it runs, and visiting it sets the session cookie.
// A code works once, within its time to live. A visit with a used, unknown or expired code has a
// new link printed where the proxy runs (at most one per RENEWAL_INTERVAL_MS): the user can always
// get in without a restart, and whoever else visits learns nothing they can read.

import { createHash, randomBytes } from 'node:crypto';

/** Printing is rate-limited, so a stranger cannot flood the user's terminal with links. */
const RENEWAL_INTERVAL_MS = 10_000;
/** Older codes are dropped beyond this many open ones. */
const MAX_OPEN_CODES = 4;

export type Redemption = 'accepted' | 'expired' | 'unknown';

/** Codes are kept by their SHA-256, so looking one up reveals nothing about others through timing. */
const keyOf = (code: string) => createHash('sha256').update(code).digest('hex');

export class LoginLinks {
  /** Hash of each open code → when it expires (ms since the epoch); insertion order is age. */
  private readonly open = new Map<string, number>();
  private announce: ((code: string) => void) | undefined;
  private lastRenewal = -Infinity;

  constructor(
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new code: 128 random bits, base64url. */
  issue(): string {
    const code = randomBytes(16).toString('base64url');
    for (const [key, expiresAt] of this.open) if (expiresAt <= this.now()) this.open.delete(key);
    while (this.open.size >= MAX_OPEN_CODES) this.open.delete(this.open.keys().next().value!);
    this.open.set(keyOf(code), this.now() + this.ttlMs);
    return code;
  }

  /** Uses a code up: accepted once, within its time to live. */
  redeem(code: string): Redemption {
    const key = keyOf(code);
    const expiresAt = this.open.get(key);
    this.open.delete(key);
    if (expiresAt === undefined) return 'unknown';
    return expiresAt > this.now() ? 'accepted' : 'expired';
  }

  /** Where new links are printed (the command line's stdout). */
  onRenewal(announce: (code: string) => void): void {
    this.announce = announce;
  }

  /** Issues and announces a new code, unless one was announced within the last 10 s. */
  renew(): boolean {
    if (this.announce === undefined || this.now() - this.lastRenewal < RENEWAL_INTERVAL_MS) return false;
    this.lastRenewal = this.now();
    this.announce(this.issue());
    return true;
  }
}
