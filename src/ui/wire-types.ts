// What the live view sends to its page (snapshot and updates over Server-Sent Events): plain JSON,
// every URL already redacted, no header values at all. Shared by the server and the page's script.

/** Timeline phases in the order they happen (observe/timeline.ts), without `total`. */
export type PhaseName = 'credentials' | 'queue' | 'dns' | 'tcp' | 'tls' | 'upload' | 'server' | 'transfer';

export type WirePhases = Partial<Record<PhaseName, number>> & { readonly total: number };

/** Who made the request: what it calls itself and where it came from. */
interface ClientFields {
  readonly userAgent: string;
  readonly address: string;
}

/** How the API server names the request (observe/request-info.ts). */
interface ApiFields {
  readonly method: string;
  /** The target as received, secret-looking query values masked as in the log (observe/redact.ts). */
  readonly url: string;
  readonly verb: string;
  /** With its subresource (`pods/log`); '' for non-resource paths (/version, discovery). */
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
  readonly auditId: string;
}

/** One finished request or upgrade. */
export interface RequestRow extends ClientFields, ApiFields {
  readonly id: number;
  readonly kind: 'request' | 'upgrade';
  /** Start, in milliseconds since the epoch. */
  readonly at: number;
  /** 0 when no answer reached the client. */
  readonly status: number;
  /** The whole answer was written (false: the client left, or a stream was cut). */
  readonly completed: boolean;
  readonly ms: number;
  readonly phases: WirePhases;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly answeredBy: 'upstream' | 'proxy';
  /** The proxy's error code (errors.ts) when it refused or failed the request. */
  readonly code?: string;
  /** Upgrades: the protocol asked for (websocket, SPDY/3.1). */
  readonly protocol?: string;
  /** Upgrades answered 101: the session. */
  readonly session?: { readonly ms: number; readonly bytesToUpstream: number; readonly bytesToClient: number; readonly closedBy: string };
}

/** A watch, a followed log or an upgraded session that is still open. */
export interface StreamRow extends ClientFields, ApiFields {
  readonly id: number;
  readonly kind: 'stream' | 'upgrade';
  readonly protocol?: string;
  readonly at: number;
  readonly bytesToUpstream: number;
  readonly bytesToClient: number;
}

export interface LatencyRow {
  readonly resource: string;
  /** Requests in the window the percentiles come from. */
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export interface TrafficSummary {
  /** The last second of the series, in seconds since the epoch. */
  readonly second: number;
  /** Per second, oldest first: requests finished by status class: 1xx, 2xx, 3xx, 4xx, 5xx, none (no answer). */
  readonly perSecond: readonly (readonly number[])[];
  /** Total milliseconds of the recent requests per resource, slowest p99 first. */
  readonly latency: readonly LatencyRow[];
  /** Upstream connection pools (requests, streams), their open connections now, and the most open in each second. */
  readonly pools: readonly string[];
  readonly connections: readonly number[];
  readonly connectionsPerSecond: readonly (readonly number[])[];
}

export interface Snapshot {
  readonly history: number;
  readonly rows: readonly RequestRow[];
  readonly streams: readonly StreamRow[];
  readonly summary: TrafficSummary;
}

export interface Update {
  readonly rows: readonly RequestRow[];
  /** Finished requests left out of this batch (the newest are sent, at most 500 a second). */
  readonly skipped?: number;
  readonly streams: readonly StreamRow[];
  readonly summary?: TrafficSummary;
}
