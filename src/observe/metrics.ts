// Prometheus metrics of the proxied traffic, named for the API server's view of each request
// (verb and resource from request-info.ts), so dashboards line up with the cluster's own.

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuthMaterial, Credentials } from '../credentials/credentials.js';
import type { RequestContext } from './request-context.js';
import type { RequestInfo } from './request-info.js';
import type { Phases } from './timeline.js';
import type { AbandonedOutcome } from '../upstream/response-relay.js';

const PHASES = ['credentials', 'queue', 'dns', 'tcp', 'tls', 'upload', 'server', 'transfer', 'total'] as const satisfies readonly (keyof Phases)[];
const ABANDONED_OUTCOMES = ['unsent', 'kept', 'closed'] as const satisfies readonly AbandonedOutcome[];
/** 0.5 ms to 60 s: local loopback calls to slow lists and long server processing. */
const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'kube_auth_proxy_requests_total',
    help: 'Proxied requests by the API server verb, resource (with subresource) and HTTP status code.',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });
  private readonly phases = new Histogram({
    name: 'kube_auth_proxy_request_phase_seconds',
    help: 'Time per phase of a proxied request: credentials, queue, dns, tcp, tls, server, transfer, total.',
    labelNames: ['phase'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly responseBytes = new Counter({
    name: 'kube_auth_proxy_response_bytes_total',
    help: 'Response body bytes relayed from the API server.',
    registers: [this.registry],
  });
  private readonly openStreams = new Gauge({
    name: 'kube_auth_proxy_open_streams',
    help: 'Responses without a length (watches, followed logs) being relayed now.',
    registers: [this.registry],
  });
  private readonly openUpgrades = new Gauge({
    name: 'kube_auth_proxy_open_upgrades',
    help: 'Upgraded connections (exec, attach, port-forward) open now, or waiting for their 101.',
    registers: [this.registry],
  });
  private readonly upstreamConnections = new Gauge({
    name: 'kube_auth_proxy_upstream_connections',
    help: 'Pooled connections to the API server open now, by pool: requests (capped, short requests) or streams (watches, followed logs, proxy).',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  /** Queue lengths by pool, read at each scrape so that a request costs nothing extra for the gauge. */
  private queues: Readonly<Record<string, { readonly size: number }>> = {};
  private readonly queuedRequests = new Gauge({
    name: 'kube_auth_proxy_queued_requests',
    help: 'Requests waiting now for a connection to the API server, by pool; each is answered 503 at --upstream-queue-timeout.',
    labelNames: ['pool'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [pool, queue] of Object.entries(this.queues)) this.queuedRequests.set({ pool }, queue.size);
    },
  });
  /** Sessions still running, with the bytes of each already counted: a scrape adds what came since. */
  private readonly liveSessions = new Map<object, { readonly bytes: Readonly<{ toUpstream: number; toClient: number }>; toUpstream: number; toClient: number }>();
  private readonly upgradedBytes = new Counter({
    name: 'kube_auth_proxy_upgraded_bytes_total',
    help: 'Bytes relayed in upgraded sessions (exec, attach, port-forward), by direction; running sessions included.',
    labelNames: ['direction'] as const,
    registers: [this.registry],
    collect: () => {
      for (const live of this.liveSessions.values()) this.countSessionBytes(live, live.bytes.toUpstream, live.bytes.toClient);
    },
  });
  private readonly credentialFetches = new Counter({
    name: 'kube_auth_proxy_credential_fetches_total',
    help: 'Runs of an exec plugin or OIDC refreshes, by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  private readonly auditEvents = new Counter({
    name: 'kube_auth_proxy_audit_events_total',
    help: 'Audit events handed to the audit backends, by stage.',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });
  private readonly auditDropped = new Counter({
    name: 'kube_auth_proxy_audit_events_dropped_total',
    help: 'Audit events lost, by backend: only when a bounded buffer or the webhook spool is full.',
    labelNames: ['backend'] as const,
    registers: [this.registry],
  });

  private readonly abandonedRequests = new Counter({
    name: 'kube_auth_proxy_abandoned_requests_total',
    help: 'Short requests whose client left before the answer ended, by what became of them upstream: never sent (unsent: still waiting for a connection), read to the end and dropped to keep the connection (kept), or cut off, closing it (closed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    // Both directions, and every outcome, show from the first scrape on.
    for (const direction of ['to_upstream', 'to_client']) this.upgradedBytes.inc({ direction }, 0);
    for (const outcome of ABANDONED_OUTCOMES) this.abandonedRequests.inc({ outcome }, 0);
  }

  requestAbandoned(outcome: AbandonedOutcome): void {
    this.abandonedRequests.inc({ outcome });
  }

  /** The upstream pools, by name, and their queues: both gauges show every pool from the first scrape on. */
  watchQueues(queues: Readonly<Record<string, { readonly size: number }>>): void {
    this.queues = queues;
    for (const pool of Object.keys(queues)) this.upstreamConnections.inc({ pool }, 0);
  }

  private countRequest(info: RequestInfo, code: number): void {
    const resource = info.subresource === '' ? info.resource : `${info.resource}/${info.subresource}`;
    this.requests.inc({ verb: info.verb, resource, code: String(code) });
  }

  /**
   * Counts a finished request that was forwarded (our own error answers to it included), named
   * by the path that went upstream. Requests the stages answered are not API traffic.
   */
  requestDone(ctx: RequestContext, res: ServerResponse): void {
    if (ctx.forwarded === undefined) return;
    this.countRequest(ctx.forwarded.info, res.statusCode);
    const { timeline } = ctx;
    const phases = timeline.phases();
    for (const phase of PHASES) {
      const ms = phases[phase];
      if (ms !== undefined) this.phases.observe({ phase }, ms / 1000);
    }
    this.responseBytes.inc(timeline.responseBytes);
  }

  streamOpened(res: ServerResponse): void {
    this.openStreams.inc();
    res.once('close', () => this.openStreams.dec());
  }

  upgradeOpened(socket: Socket): void {
    this.openUpgrades.inc();
    socket.once('close', () => this.openUpgrades.dec());
  }

  /**
   * Counts an upgrade request that was forwarded, when it is over: with its 101 (and the
   * session's bytes each way), the API server's refusal, or the proxy's own error status.
   */
  upgradeDone(key: object, info: RequestInfo, status: number, session?: { readonly bytesToUpstream: number; readonly bytesToClient: number }): void {
    this.countRequest(info, status);
    const live = this.liveSessions.get(key) ?? { bytes: { toUpstream: 0, toClient: 0 }, toUpstream: 0, toClient: 0 };
    this.liveSessions.delete(key);
    if (session !== undefined) this.countSessionBytes(live, session.bytesToUpstream, session.bytesToClient);
  }

  /** A session started: its bytes show in every scrape from now on, not only when it ends. */
  upgradeSessionStarted(key: object, bytes: Readonly<{ toUpstream: number; toClient: number }>): void {
    this.liveSessions.set(key, { bytes, toUpstream: 0, toClient: 0 });
  }

  private countSessionBytes(counted: { toUpstream: number; toClient: number }, toUpstream: number, toClient: number): void {
    this.upgradedBytes.inc({ direction: 'to_upstream' }, toUpstream - counted.toUpstream);
    this.upgradedBytes.inc({ direction: 'to_client' }, toClient - counted.toClient);
    counted.toUpstream = toUpstream;
    counted.toClient = toClient;
  }

  auditEvent(stage: string): void {
    this.auditEvents.inc({ stage });
  }

  auditEventsDropped(backend: string, count: number): void {
    this.auditDropped.inc({ backend }, count);
  }

  upstreamConnected(socket: Socket, pool: string): void {
    this.upstreamConnections.inc({ pool });
    socket.once('close', () => this.upstreamConnections.dec({ pool }));
  }

  /**
   * Wraps a credential source to count its fetches. A fetch shows as a pending promise, shared
   * by every request that waits on it (single flight), so each distinct promise is one fetch.
   */
  countFetches(credentials: Credentials): Credentials {
    const seen = new WeakSet<Promise<AuthMaterial>>();
    const count = <T extends AuthMaterial | Promise<AuthMaterial> | undefined>(result: T): T => {
      if (result instanceof Promise && !seen.has(result)) {
        seen.add(result);
        result.then(
          () => this.credentialFetches.inc({ result: 'success' }),
          () => this.credentialFetches.inc({ result: 'failure' }),
        );
      }
      return result;
    };
    const unauthorized = credentials.unauthorized?.bind(credentials);
    return {
      description: credentials.description,
      current: () => count(credentials.current()),
      ...(unauthorized === undefined ? {} : { unauthorized: (used: AuthMaterial) => count(unauthorized(used)) }),
    };
  }
}
