// What became of one upgrade request (status, phases, the session's bytes and who closed first),
// collected while it runs and reported once: logging and metrics are the caller's.

import { performance } from 'node:perf_hooks';
import type { RequestContext } from '../../observe/request-context.js';
import type { Phases } from '../../observe/timeline.js';

/** Who ended an upgraded session first: a peer (its end or reset), or the proxy (shutdown, error). */
export type ClosedBy = 'client' | 'upstream' | 'proxy';

/** An upgraded session, from the 101 relayed to both sockets closed. */
export interface UpgradeSession {
  readonly ms: number;
  /** Bytes relayed each way after the response head (the client's early bytes and the upstream's bytes behind its head included). */
  readonly bytesToUpstream: number;
  readonly bytesToClient: number;
  readonly closedBy: ClosedBy;
}

/** What became of one upgrade request, reported once when it is over. */
export interface UpgradeReport {
  /** 101, the API server's refusal, or the status of the proxy's own answer; absent when the client left before any answer. */
  readonly status?: number;
  /** The Audit-ID sent upstream (the client's own or ours). */
  readonly auditId?: string;
  /** Request → everything over, the session included. */
  readonly ms: number;
  /** Up to the response head (a refusal: its last byte): credentials, dns/tcp/tls of the upgrade's own connection, server. */
  readonly phases: Phases;
  /** Set when a connection was dialled: upgrades never reuse one. */
  readonly connection?: 'new';
  /** -v=7 and above: the request as sent upstream (headers unredacted: redact before logging). */
  readonly sent?: { readonly target: string; readonly headers: readonly string[] };
  /** -v=8 and above: the response head's headers as `[name, value, …]` (unredacted). */
  readonly responseHeaders?: readonly string[];
  readonly session?: UpgradeSession;
  /** Set without a session when the client left before it had an answer. */
  readonly closedBy?: ClosedBy;
}

/** Told once per upgrade, when it is over: answered and relayed, failed, or its session closed on both sides. */
export type UpgradeDone = (ctx: RequestContext, report: UpgradeReport) => void;

/** Told when a session starts, with its live byte counts (metrics show a long session's bytes while it runs). */
export type SessionStarted = (ctx: RequestContext, bytes: Readonly<{ toUpstream: number; toClient: number }>) => void;

export type Outcome = Pick<UpgradeReport, 'status' | 'session' | 'closedBy'>;

export const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** Collects what the report needs while an upgrade runs, and hands it to `onDone` once. */
export class UpgradeRecord {
  sent?: UpgradeReport['sent'];
  responseHeaders?: readonly string[];
  private reported = false;

  constructor(
    readonly ctx: RequestContext,
    private readonly onDone: UpgradeDone | undefined,
    private readonly onSession?: SessionStarted,
  ) {}

  /** The 101 went out: `bytes` counts the session's bytes each way as they are relayed. */
  sessionStarted(bytes: Readonly<{ toUpstream: number; toClient: number }>): void {
    this.onSession?.(this.ctx, bytes);
  }

  get timeline() {
    return this.ctx.timeline;
  }

  done(outcome: Outcome): void {
    if (this.reported || this.onDone === undefined) return;
    this.reported = true;
    const { timeline } = this;
    const now = performance.now();
    const phases = timeline.phases(timeline.firstByteAt ?? now);
    // Its own connection: nothing to wait for in a pool.
    delete phases.queue;
    this.onDone(this.ctx, {
      ...outcome,
      auditId: this.ctx.auditId,
      ms: round(now - timeline.startedAt),
      phases,
      ...(timeline.connection === undefined ? {} : { connection: 'new' }),
      ...(this.sent === undefined ? {} : { sent: this.sent }),
      ...(this.responseHeaders === undefined ? {} : { responseHeaders: this.responseHeaders }),
    });
  }
}
