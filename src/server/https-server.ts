// The HTTPS listener (--tls-cert-file, --local-tls): HTTP/2 for browsers, which open only about six
// HTTP/1.1 connections per host and so starve a page with a few open watches, and HTTP/1.1 over
// the same port (ALPN) for older clients and for upgrades, which HTTP/2 does not carry here.
// Node's compatibility API hands HTTP/2 streams to the same 'request' handlers as HTTP/1.1;
// the few differences the proxy would trip over are smoothed out below, before any handler runs.

import { Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { constants, createSecureServer, Http2ServerRequest, type Http2SecureServer, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import { loadLocalTls, type ListenerTls } from '../credentials/certificates/listener-tls.js';
import { messageOf } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { ProxyListener } from './listen.js';

/** A client that speaks nothing within this after connecting is dropped (Node's default is 120 s). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Makes an HTTP/2 request and response look like HTTP/1.1's where the proxy reads them: `Host`
 * (HTTP/2 sends `:authority` instead), `res.destroyed` (missing from Http2ServerResponse) and
 * `res.writableFinished` (true there even when the client reset the stream mid-response).
 */
function adaptHttp2(req: Http2ServerRequest, res: Http2ServerResponse): void {
  if (req.headers.host === undefined && req.authority !== undefined) req.headers.host = req.authority;
  const { stream } = res;
  Object.defineProperties(res, {
    destroyed: { get: () => stream.destroyed },
    writableFinished: { get: () => res.writableEnded && stream.writableFinished && (stream.rstCode === undefined || stream.rstCode === constants.NGHTTP2_NO_ERROR) },
  });
}

/** How often a long-running proxy checks whether its --local-tls certificate is due for renewal. */
const RENEWAL_CHECK_MS = 24 * 60 * 60 * 1000;

/** With --local-tls the certificate is renewed in place, without a restart, when it is due. */
function renewWhenDue(server: Http2SecureServer, tls: ListenerTls, logger: Logger): void {
  const local = tls.local;
  if (local === undefined) return;
  let renewAt = local.renewAt;
  const timer = setInterval(() => {
    if (Date.now() < renewAt) return;
    try {
      const renewed = loadLocalTls(local.dir);
      server.setSecureContext({ cert: renewed.cert, key: renewed.key });
      renewAt = renewed.local?.renewAt ?? Infinity;
      logger.info({ certsDir: local.dir, validTo: new Date(renewed.validTo).toISOString() }, 'renewed the local TLS certificate');
    } catch (err) {
      logger.error({ certsDir: local.dir, error: messageOf(err) }, 'could not renew the local TLS certificate; trying again tomorrow');
    }
  }, RENEWAL_CHECK_MS);
  timer.unref();
  server.once('close', () => clearInterval(timer));
}

export function createHttpsServer(tls: ListenerTls, logger: Logger): ProxyListener {
  const server: Http2SecureServer = createSecureServer({
    cert: tls.cert,
    key: tls.key,
    allowHTTP1: true,
    minVersion: 'TLSv1.2',
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    // The browser's streams per connection: enough for a page with many watches.
    settings: { maxConcurrentStreams: 250 },
  });
  server.prependListener('request', (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    // Not by version: an HTTP/1.1 request line may claim `HTTP/2.0` (request-head.ts refuses it).
    if (req instanceof Http2ServerRequest) adaptHttp2(req, res as Http2ServerResponse);
  });

  renewWhenDue(server, tls, logger);
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  // HTTP/1.1 connections of this server are tracked by http.Server's code (allowHTTP1), so its
  // methods apply; Node's own Http2SecureServer.closeIdleConnections borrows it the same way.
  const asHttp1 = server as unknown as HttpServer;
  return Object.assign(server as unknown as ProxyListener, {
    closeIdleConnections() {
      HttpServer.prototype.closeIdleConnections.call(asHttp1);
      for (const session of sessions) session.close();
    },
    closeAllConnections() {
      HttpServer.prototype.closeAllConnections.call(asHttp1);
      for (const session of sessions) session.destroy();
    },
  });
}
