// The composition root: the listener, the stage list, the forwarders, and a clean stop.

import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { unlinkSync } from 'node:fs';
import type { ProxyConfig } from '../config/proxy-config.js';
import { SHUTDOWN_GRACE_MS } from '../config/defaults.js';
import type { Logger } from '../observe/logger.js';
import { statusAnswer } from '../stages/answers.js';
import type { Answer } from '../stages/stage.js';
import { encodePath } from '../stages/request-target.js';
import { UpstreamPools } from '../upstream/dispatcher.js';
import { createForwarder } from '../upstream/forward.js';
import { createUpgrader, type UpgradeReport } from '../upstream/upgrade.js';
import { listen } from './listen.js';
import { writeRawAnswer } from './raw-answer.js';
import { createRequestHandler, readRequest, runStages, writeProxyError } from './request-handler.js';
import { ConnectionTracker, shutdown } from './shutdown.js';
import { buildStages } from './stages.js';
import { createRequestLog, createUpgradeLog } from './request-log.js';
import { ProxyMetrics } from '../observe/metrics.js';
import { startMetricsServer } from './metrics-server.js';

export interface RunningProxy {
  /** `127.0.0.1:8001`, `[::1]:8001` or the unix socket path. */
  readonly address: string;
  /** Where /metrics, /healthz and /readyz are served, with --metrics-address. */
  readonly metricsAddress?: string;
  /** Stops accepting, lets in-flight requests finish within the grace period, ends streams. */
  close(graceMs?: number): Promise<void>;
}

export async function startProxy(config: ProxyConfig, logger: Logger): Promise<RunningProxy> {
  const stages = buildStages(config);
  const metrics = config.metrics === undefined ? undefined : new ProxyMetrics();
  // With metrics, credential fetches are counted on their way through.
  const upstream = metrics === undefined ? config.upstream : { ...config.upstream, credentials: metrics.countFetches(config.upstream.credentials) };
  const pools = new UpstreamPools(upstream, metrics && ((socket, kind) => metrics.upstreamConnected(socket, kind)));
  metrics?.watchQueues(pools.waits);
  const tracker = new ConnectionTracker();
  const forwarder = createForwarder(pools, upstream, {
    fail(res, error) {
      logger.error({ error: error.message, status: error.statusCode }, 'Error while proxying request');
      writeProxyError(res, error);
    },
    stream: (res) => {
      tracker.trackStream(res);
      metrics?.streamOpened(res);
    },
  });
  const handle = createRequestHandler(stages, forwarder);
  // No request timeout (watches and uploads take as long as they take, as in kubectl); 64 KiB
  // stream buffers so that large bodies move in fewer, larger writes.
  const logRequest = createRequestLog(logger, config.verbosity, config.upstream.server.origin);
  const server = createServer({ requestTimeout: 0, highWaterMark: 64 * 1024 }, (req, res) => {
    tracker.trackResponse(res);
    logRequest(req, res);
    if (metrics !== undefined) res.once('close', () => metrics.requestDone(req, res));
    handle(req, res);
  });

  const logUpgrade = createUpgradeLog(logger, config.verbosity, config.upstream.server.origin);
  const upgradeDone =
    logUpgrade === undefined && metrics === undefined
      ? undefined
      : (req: IncomingMessage, report: UpgradeReport) => {
          logUpgrade?.(req, report);
          if (report.status !== undefined) metrics?.upgradeDone(req, report.status, report.session);
        };
  const upgrade = createUpgrader(upstream, {
    onError: (client, error) => {
      logger.error({ error: error.message, status: error.statusCode }, 'Error while proxying upgrade');
      writeRawAnswer(client, statusAnswer(error.statusCode, error.reason, error.message));
    },
    ...(upgradeDone === undefined ? {} : { onDone: upgradeDone }),
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, early: Buffer) => {
    socket.on('error', () => socket.destroy());
    // Tracked from the start, so a stop also ends upgrades still waiting for their 101.
    tracker.trackUpgraded(socket);
    metrics?.upgradeOpened(socket);
    const startedAt = performance.now();
    /** Answered by the proxy itself (a filter, a bad request): logged like the forwarded ones, not counted. */
    const answer = (result: Answer) => {
      writeRawAnswer(socket, result);
      const ms = Math.round((performance.now() - startedAt) * 1000) / 1000;
      logUpgrade?.(req, { status: result.statusCode, ms, phases: { total: ms } });
    };
    const state = readRequest(req, true);
    if (!('req' in state)) return answer(state);
    const result = runStages(stages, state);
    if (result === undefined) return upgrade(req, socket, early, encodePath(state.path), state.query);
    if ('serve' in result) return answer(statusAnswer(400, 'BadRequest', 'static files cannot be upgraded'));
    answer(result);
  });

  const address = await listen(server, config.listen);
  const metricsServer = metrics && config.metrics && (await startMetricsServer(config.metrics, metrics, upstream.credentials));
  return {
    address,
    ...(metricsServer === undefined ? {} : { metricsAddress: metricsServer.address }),
    async close(graceMs = SHUTDOWN_GRACE_MS) {
      metricsServer?.server.close();
      metricsServer?.server.closeAllConnections();
      await shutdown(server, tracker, graceMs);
      // Whatever is still running upstream was cut above; don't wait for it.
      await pools.destroy();
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
