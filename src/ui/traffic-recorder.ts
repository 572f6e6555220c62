// What the live view knows: the last N finished requests and upgrades (a ring buffer), the streams
// open now, and the chart numbers. It is fed where the metrics are fed (server/proxy-server.ts)
// and only with --ui. Recording keeps references and numbers as they are: redaction, naming and
// JSON happen later (wire-rows.ts), and only for a page that is open.

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Forwarded, RequestContext } from '../observe/request-context.js';
import type { Phases } from '../observe/timeline.js';
import type { UpgradeReport, UpgradeSession } from '../upstream/upgrade.js';
import { clientAddress } from '../upstream/headers.js';
import { TrafficSummaryRecorder } from './traffic-summary.js';

/** One finished request or upgrade, as recorded. */
export interface Recorded {
  readonly kind: 'request' | 'upgrade';
  /** Start, in milliseconds since the epoch. */
  readonly at: number;
  readonly method: string;
  /** The target as received: redacted only when sent (wire-rows.ts). */
  readonly target: string;
  readonly userAgent: string | undefined;
  readonly auditId: string;
  readonly answeredBy: 'upstream' | 'proxy';
  readonly code: string | undefined;
  /** Upgrades: the protocol asked for. */
  readonly protocol: string | undefined;
  readonly forwarded: Forwarded | undefined;
  readonly address: string | undefined;
  readonly status: number;
  readonly completed: boolean;
  readonly ms: number;
  readonly phases: Phases;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly session: UpgradeSession | undefined;
}

/** A watch, a followed log or an upgraded session, open now. */
export interface OpenStream {
  readonly id: number;
  readonly kind: 'stream' | 'upgrade';
  readonly ctx: RequestContext;
  readonly address: string | undefined;
  /** The request's start, in milliseconds since the epoch. */
  readonly at: number;
  readonly bytes: () => { readonly toUpstream: number; readonly toClient: number };
}

const epochOf = (performanceMs: number) => performance.timeOrigin + performanceMs;


/** `pods/log`, `pods`, or '' for a non-resource path: how the latency table groups requests. */
export function resourceOf(forwarded: Forwarded): string {
  const { info } = forwarded;
  return info.subresource === '' ? info.resource : `${info.resource}/${info.subresource}`;
}

/** Watches, follows and upgrades last as long as they are wanted: their time is no latency. */
function latencyKey(forwarded: Forwarded | undefined): string | undefined {
  return forwarded === undefined || forwarded.longRunning ? undefined : resourceOf(forwarded);
}

export class TrafficRecorder {
  private readonly ring: (Recorded | undefined)[];
  /** The id the next finished request gets; ids start at 1. */
  private nextRowId = 1;
  private nextStreamId = 1;
  private readonly open = new Map<RequestContext, OpenStream>();
  /** Upgrades' client addresses, read when they arrive (a closed socket no longer has one). */
  private readonly upgradeAddresses = new WeakMap<RequestContext, string | undefined>();
  readonly summary = new TrafficSummaryRecorder();
  /** Set while a page is open (live-feed.ts): told that something changed, so it can send soon. */
  onChange: (() => void) | undefined;

  constructor(readonly history: number) {
    this.ring = new Array<Recorded | undefined>(history);
  }

  get nextId(): number {
    return this.nextRowId;
  }

  private push(recorded: Recorded, resource: string | undefined): void {
    this.ring[this.nextRowId % this.history] = recorded;
    this.nextRowId++;
    this.summary.requestFinished(recorded.status, resource, recorded.ms);
    this.onChange?.();
  }

  /** A plain request arrived: recorded when its response closes. */
  requestStarted(ctx: RequestContext, res: ServerResponse): void {
    // Read now: by 'close' the socket may be detached from the request.
    const address = clientAddress(ctx.req.socket.remoteAddress);
    res.once('close', () => this.requestDone(ctx, res, address));
  }

  private requestDone(ctx: RequestContext, res: ServerResponse, address: string | undefined): void {
    this.open.delete(ctx);
    const { timeline, forwarded, req } = ctx;
    const phases = timeline.phases();
    // One object per request: strings the request already has (no copies), and not the request itself (its socket, its buffers).
    const recorded: Recorded = {
      kind: 'request',
      at: epochOf(timeline.startedAt),
      method: req.method ?? '',
      target: req.url ?? '',
      userAgent: req.headers['user-agent'],
      auditId: ctx.auditId,
      answeredBy: ctx.answeredBy,
      code: ctx.code,
      protocol: undefined,
      forwarded,
      address,
      status: res.headersSent ? res.statusCode : 0,
      completed: res.writableFinished,
      ms: phases.total,
      phases,
      requestBytes: timeline.requestBytes,
      responseBytes: timeline.responseBytes,
      session: undefined,
    };
    this.push(recorded, latencyKey(forwarded));
  }

  /** A response without a length (a watch, a followed log) started: open until it closes. */
  streamOpened(ctx: RequestContext | undefined, res: ServerResponse): void {
    if (ctx === undefined || res.destroyed) return;
    const { timeline } = ctx;
    const bytes = () => ({ toUpstream: timeline.requestBytes, toClient: timeline.responseBytes });
    this.open.set(ctx, { id: this.nextStreamId++, kind: 'stream', ctx, address: clientAddress(ctx.req.socket?.remoteAddress), at: epochOf(timeline.startedAt), bytes });
    this.onChange?.();
  }

  upgradeStarted(ctx: RequestContext): void {
    this.upgradeAddresses.set(ctx, clientAddress(ctx.req.socket.remoteAddress));
  }

  /** The 101 went out: open until both sides close, with its live byte counts. */
  upgradeSession(ctx: RequestContext, bytes: Readonly<{ toUpstream: number; toClient: number }>): void {
    this.open.set(ctx, { id: this.nextStreamId++, kind: 'upgrade', ctx, address: this.upgradeAddresses.get(ctx), at: epochOf(ctx.timeline.startedAt), bytes: () => bytes });
    this.onChange?.();
  }

  /** An upgrade is over: relayed, refused, failed, or its session closed. */
  upgradeDone(ctx: RequestContext, report: Pick<UpgradeReport, 'status' | 'ms' | 'phases' | 'session'>): void {
    this.open.delete(ctx);
    const { session } = report;
    const { forwarded } = ctx;
    this.push(
      {
        kind: 'upgrade',
        at: epochOf(ctx.timeline.startedAt),
        method: ctx.req.method ?? '',
        target: ctx.req.url ?? '',
        userAgent: ctx.req.headers['user-agent'],
        auditId: ctx.auditId,
        answeredBy: ctx.answeredBy,
        code: ctx.code,
        protocol: ctx.req.headers.upgrade,
        forwarded,
        address: this.upgradeAddresses.get(ctx),
        status: report.status ?? 0,
        completed: report.status !== undefined,
        ms: report.ms,
        phases: report.phases,
        requestBytes: session?.bytesToUpstream ?? 0,
        responseBytes: session?.bytesToClient ?? 0,
        session,
      },
      latencyKey(forwarded),
    );
  }

  upstreamConnected(socket: Socket, pool: string): void {
    this.summary.upstreamConnected(socket, pool);
  }

  /** Finished requests with ids from `fromId` on (at most the whole buffer), oldest first. */
  rowsSince(fromId: number): [number, Recorded][] {
    const out: [number, Recorded][] = [];
    for (let id = Math.max(fromId, this.nextRowId - this.history, 1); id < this.nextRowId; id++) {
      const recorded = this.ring[id % this.history];
      if (recorded !== undefined) out.push([id, recorded]);
    }
    return out;
  }

  openStreams(): OpenStream[] {
    return [...this.open.values()];
  }
}
