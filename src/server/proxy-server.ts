// The composition root: the listener, the stage list, the forwarders, and a clean stop.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { unlinkSync } from 'node:fs';
import type { ProxyConfig, UpstreamConfig } from '../config/proxy-config.js';
import { SHUTDOWN_GRACE_MS } from '../config/defaults.js';
import type { Auditor } from '../audit/auditor.js';
import { createAuditor } from '../audit/create-auditor.js';
import type { AuditEvent } from '../audit/event.js';
import { messageOf, ProxyError } from '../errors.js';
import { whoAmI } from '../upstream/who-am-i.js';
import type { Logger } from '../observe/logger.js';
import type { ProxyMetrics } from '../observe/metrics.js';
import { RequestContext } from '../observe/request-context.js';
import { errorAnswer } from '../stages/answers.js';
import type { Answer, Stage } from '../stages/stage.js';
import { UpstreamPools, type ConnectionListener } from '../upstream/dispatcher.js';
import { createForwarder } from '../upstream/forward.js';
import type { AbandonedOutcome } from '../upstream/response-relay.js';
import { createUpgrader } from '../upstream/upgrade.js';
import { answerClientErrors } from './client-errors.js';
import { refuseConnects } from './connect-refusal.js';
import { createHttpsServer } from './https-server.js';
import { listen, type ProxyListener } from './listen.js';
import { applyListenerLimits } from './listener-limits.js';
import { startMetricsServer } from './metrics-server.js';
import { serveOwnTunnels, type TunnelListener } from './own-tunnel.js';
import { writeRawAnswer } from './raw-answer.js';
import { auditAnswer, beginAudit, finishAudit } from './audit-hooks.js';
import { createRequestHandler, isClosing, routeRequest, writeProxyError } from './request-handler.js';
import { createRequestLog, createUpgradeLog, requestFields } from './request-log.js';
import { ConnectionTracker, shutdown } from './shutdown.js';
import { buildStages } from './stages.js';
import { TrafficRecorder } from '../ui/traffic-recorder.js';
import { createUiRoutes } from '../ui/ui-routes.js';

export interface RunningProxy {
  /** `127.0.0.1:8001`, `[::1]:8001` or the unix socket path. */
  readonly address: string;
  /** `http` or, with --tls-cert-file or --local-tls, `https`. */
  readonly scheme: 'http' | 'https';
  /** Where /metrics, /healthz and /readyz are served, with --metrics-address. */
  readonly metricsAddress?: string;
  /** Stops accepting, lets in-flight requests finish within the grace period, ends streams. */
  close(graceMs?: number): Promise<void>;
}

/** What every part of the request path shares. */
interface Wiring {
  readonly config: ProxyConfig;
  readonly upstream: UpstreamConfig;
  readonly logger: Logger;
  readonly stages: readonly Stage[];
  readonly metrics: ProxyMetrics | undefined;
  readonly tracker: ConnectionTracker;
  /** With --audit-log-path or --audit-webhook-config-file. */
  readonly auditor: Auditor | undefined;
  /** With --ui: the live view's recorder, fed where the metrics are. */
  readonly recorder: TrafficRecorder | undefined;
}

/**
 * Marks the request as failed with `error` (its code, in the access line too, even if the client
 * has left) and writes the error line, which carries the request's ID as its access line does.
 */
function logFailure(ctx: RequestContext, error: ProxyError, message: string): void {
  ctx.code = error.code;
  ctx.log.error({ ...requestFields(ctx), status: error.statusCode, code: error.code, error: error.message }, message);
}

/**
 * Each response's request context, for a parser error in its body (client-errors.ts) and the live
 * view. Kept on the response itself, not in a WeakMap keyed by it: an entry per request made V8
 * promote requests' objects to the old generation (src/linked-set.ts says more).
 */
const CONTEXT = Symbol('kube-auth-proxy request context');
type ResponseWithContext = ServerResponse & { [CONTEXT]?: RequestContext };
const contextOf = (res: ServerResponse): RequestContext | undefined => (res as ResponseWithContext)[CONTEXT];

/** Plain requests: routed, then forwarded or answered; logged and counted when done. */
function servePlainRequests(server: ProxyListener, wiring: Wiring, pools: UpstreamPools): void {
  const { config, upstream, logger, metrics, tracker } = wiring;
  const forwarder = createForwarder(pools, upstream, {
    fail(ctx, res, error) {
      logFailure(ctx, error, 'Error while proxying request');
      writeProxyError(ctx, res, error);
    },
    broken(ctx, res, error) {
      ctx.log.error({ ...requestFields(ctx), status: res.statusCode, code: error.code, error: error.message }, 'Response cut off: the connection to the API server broke');
    },
    ...(metrics === undefined ? {} : { abandoned: (outcome: AbandonedOutcome) => metrics.requestAbandoned(outcome) }),
    stream: (res) => {
      tracker.trackStream(res);
      metrics?.streamOpened(res);
      wiring.recorder?.streamOpened(contextOf(res), res);
    },
  });
  const handle = createRequestHandler(wiring.stages, forwarder, wiring.auditor);
  const logRequest = createRequestLog(logger, config.verbosity, upstream.server.origin);
  server.on('request', (req, res) => {
    // Pipelined behind an answer that closes the connection (a 400): never served, never forwarded.
    if (isClosing(req.socket)) return;
    const ctx = new RequestContext(req, logger);
    (res as ResponseWithContext)[CONTEXT] = ctx;
    tracker.trackResponse(res);
    logRequest(ctx, res);
    if (metrics !== undefined) res.once('close', () => metrics.requestDone(ctx, res));
    wiring.recorder?.requestStarted(ctx, res);
    if (wiring.auditor !== undefined) res.once('close', () => finishAudit(ctx, res.headersSent ? res.statusCode : undefined, res.writableFinished, tracker.isStopping));
    try {
      handle(ctx, res);
    } catch (err) {
      // A bug of ours: the client gets a 500 Status, the audit log a Panic event, the log the stack.
      ctx.audit?.panic(err);
      ctx.code = 'KAP_INTERNAL_ERROR';
      ctx.log.error({ ...requestFields(ctx), err }, 'Panic while handling request');
      if (res.headersSent) res.destroy();
      else writeProxyError(ctx, res, new ProxyError('KAP_INTERNAL_ERROR', 'internal error in kube-auth-proxy; see its log'));
    }
  });
}

/** Upgrades (exec, attach, port-forward): the same route as plain requests, then a connection of their own. */
function serveUpgrades(server: ProxyListener, wiring: Wiring): void {
  const { config, upstream, logger, metrics, tracker, recorder } = wiring;
  const logUpgrade = createUpgradeLog(logger, config.verbosity, upstream.server.origin);
  const upgrade = createUpgrader(upstream, {
    onError: (ctx, client, error) => {
      logFailure(ctx, error, 'Error while proxying upgrade');
      ctx.audit?.setStatus(error.statusCode, error.message, error.reason);
      writeRawAnswer(client, errorAnswer(error), ctx.auditId);
    },
    onDone: (ctx, report) => {
      finishAudit(ctx, report.status, report.closedBy === undefined || report.session !== undefined, tracker.isStopping);
      logUpgrade?.(ctx, report);
      recorder?.upgradeDone(ctx, report);
      if (report.status !== undefined && ctx.forwarded !== undefined) metrics?.upgradeDone(ctx, ctx.forwarded.info, report.status, report.session);
    },
    ...(metrics === undefined && recorder === undefined
      ? {}
      : {
          onSession: (ctx: RequestContext, bytes: Readonly<{ toUpstream: number; toClient: number }>) => {
            metrics?.upgradeSessionStarted(ctx, bytes);
            recorder?.upgradeSession(ctx, bytes);
          },
        }),
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, early: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (isClosing(socket)) return void socket.end();
    // Tracked from the start, so a stop also ends upgrades still waiting for their 101.
    tracker.trackUpgraded(socket);
    metrics?.upgradeOpened(socket);
    const ctx = new RequestContext(req, logger);
    recorder?.upgradeStarted(ctx);
    /** Answered by the proxy itself (a filter, a bad request): logged like the forwarded ones, not counted. */
    const answer = (result: Answer) => {
      if (result.code !== undefined) ctx.code = result.code;
      auditAnswer(ctx, result);
      writeRawAnswer(socket, result, ctx.auditId);
      const ms = ctx.timeline.phases().total;
      finishAudit(ctx, result.statusCode, true, false);
      logUpgrade?.(ctx, { status: result.statusCode, auditId: ctx.auditId, ms, phases: { total: ms } });
      recorder?.upgradeDone(ctx, { status: result.statusCode, ms, phases: { total: ms } });
    };
    const route = routeRequest(wiring.stages, req, true);
    beginAudit(wiring.auditor, ctx, route);
    if ('info' in route) {
      ctx.forwarded = route;
      return upgrade(ctx, socket, early);
    }
    if ('serve' in route) return answer(errorAnswer(new ProxyError('KAP_UPGRADE_OF_STATIC_FILE', 'static files cannot be upgraded')));
    answer(route);
  });
}

/** Asks the API server who the proxy is, for the audit log; until it answers (or if it cannot), the local guess stands. */
function identifyForAudit(auditor: Auditor, pools: UpstreamPools, upstream: UpstreamConfig, logger: Logger): void {
  whoAmI(pools, upstream).then(
    (user) => {
      if (user === undefined) return logger.info({ source: auditor.userSource, user: auditor.user.username }, 'audit: no SelfSubjectReview from the API server; events name the user the credentials suggest');
      auditor.identify(user);
      logger.info({ user: user.username, groups: user.groups }, 'audit: the API server names the proxy\'s user (SelfSubjectReview)');
    },
    (err: unknown) => logger.info({ error: messageOf(err) }, 'audit: SelfSubjectReview failed; events name the user the credentials suggest'),
  );
}

export async function startProxy(config: ProxyConfig, logger: Logger): Promise<RunningProxy> {
  // prom-client is loaded only for --metrics-address (or --ui): about 10 MiB of RSS otherwise idle.
  const metrics = config.metrics === undefined ? undefined : new (await import('../observe/metrics.js')).ProxyMetrics();
  // With metrics, credential fetches are counted on their way through.
  const upstream = metrics === undefined ? config.upstream : { ...config.upstream, credentials: metrics.countFetches(config.upstream.credentials) };
  // --ui: nothing is recorded without it (no recorder, no calls).
  const recorder = config.ui === undefined ? undefined : new TrafficRecorder(config.ui.history);
  const onConnection: ConnectionListener | undefined =
    metrics === undefined && recorder === undefined
      ? undefined
      : (socket, kind) => {
          metrics?.upstreamConnected(socket, kind);
          recorder?.upstreamConnected(socket, kind);
        };
  const pools = new UpstreamPools(upstream, onConnection);
  metrics?.watchQueues(pools.waits);
  const auditor =
    config.audit &&
    createAuditor(config.audit, {
      error: (backend, message) => logger.error({ backend }, `audit: ${message}`),
      dropped: (backend, count) => {
        logger.error({ backend, count }, 'audit: events dropped');
        metrics?.auditEventsDropped(backend, count);
      },
      ...(metrics === undefined ? {} : { event: (event: AuditEvent) => metrics.auditEvent(event.stage) }),
    });
  const wiring: Wiring = { config, upstream, logger, stages: buildStages(config), metrics, tracker: new ConnectionTracker(), auditor, recorder };
  // Limits on request heads, none on whole requests (listener-limits.ts); 64 KiB stream buffers so
  // that large bodies move in fewer, larger writes.
  const server: ProxyListener = applyListenerLimits(config.tls === undefined ? createServer({ highWaterMark: 64 * 1024 }) : createHttpsServer(config.tls, logger), config.headersTimeoutMs);
  servePlainRequests(server, wiring, pools);
  serveUpgrades(server, wiring);
  // --caller-token-file over plain HTTP: CONNECT to this listener, for clients with a proxy-url.
  if (config.tls === undefined) serveOwnTunnels(server as unknown as TunnelListener, config, logger, auditor);
  // Every other CONNECT: 405. Requests the parser refuses, or whose head is too slow: a Status, then closed.
  refuseConnects(server, logger, auditor);
  answerClientErrors(server, { logger, headersTimeoutMs: config.headersTimeoutMs, contextOf });

  const address = await listen(server, config.listen);
  if (auditor !== undefined) identifyForAudit(auditor, pools, upstream, logger);
  const ui = recorder && createUiRoutes(config, recorder);
  const metricsServer = metrics && config.metrics && (await startMetricsServer(config.metrics, metrics, upstream.credentials, pools.health, ui));
  return {
    address,
    scheme: config.tls === undefined ? 'http' : 'https',
    ...(metricsServer === undefined ? {} : { metricsAddress: metricsServer.address }),
    async close(graceMs = SHUTDOWN_GRACE_MS) {
      ui?.close();
      metricsServer?.server.close();
      metricsServer?.server.closeAllConnections();
      await shutdown(server, wiring.tracker, graceMs);
      // Whatever is still running upstream was cut above; don't wait for it.
      await pools.destroy();
      // Every request has had its final event by now (those still open get one here): flush them.
      await auditor?.close();
      if (config.listen.kind === 'unix') {
        try {
          unlinkSync(config.listen.path);
        } catch {
          // already gone
        }
      }
    },
  };
}
