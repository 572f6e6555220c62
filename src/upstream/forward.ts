// Forwards one plain (non-upgrade) request to the API server: credentials first (at hand, or
// awaited while a plugin runs), then dispatch on the pool for the credential's TLS identity.
// Requests that can be replayed are sent once more after a 401 with refreshed credentials.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { BodyCapture } from '../audit/body-capture.js';
import { ANNOTATION } from '../audit/request-audit.js';
import type { Dispatcher } from 'undici';
import type { UpstreamConfig } from '../config/proxy-config.js';
import { NOTHING, type AuthMaterial } from '../credentials/credentials.js';
import { performance } from 'node:perf_hooks';
import type { RequestContext } from '../observe/request-context.js';
import { watchUndiciConnections } from '../observe/timeline.js';
import { credentialFailure } from './credential-failure.js';
import type { PoolKind, UpstreamPools } from './dispatcher.js';
import { buildUpstreamHeaders, clientAddress, hasRequestBody, sendsOwnAuthorization, type InjectedHeaders } from './headers.js';
import { ResponseRelay, type ForwardEvents } from './response-relay.js';

export type { ForwardEvents } from './response-relay.js';

/**
 * Bodies up to this size are buffered when the credentials can be refreshed, so that a request
 * refused with 401 can be sent again. Larger or chunked bodies stream through and are not replayed.
 */
export const REPLAYABLE_BODY_BYTES = 256 * 1024;

export interface Forwarder {
  /**
   * Sends `ctx.forwarded` upstream (its path after prefix handling, its query as received) and
   * relays the answer into `res`. Long-running requests ride uncapped stream pools (dispatcher.ts).
   */
  forward(ctx: RequestContext, res: ServerResponse): void;
}

type Body = Readable | Buffer | null;

/** One request on its way upstream, as sent the first time and again after a 401. */
interface Outgoing {
  readonly ctx: RequestContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly target: string;
  readonly pool: PoolKind;
}

function replayableLength(req: IncomingMessage): number | undefined {
  if (req.headers['transfer-encoding'] !== undefined) return undefined;
  const length = Number(req.headers['content-length'] ?? 0);
  return length <= REPLAYABLE_BODY_BYTES ? length : undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('client closed the connection'));
    });
  });
}

/**
 * The request body as it streams upstream, its first bytes kept for the audit event. A client
 * that aborts fails the copy too, so undici aborts the request rather than wait for more body.
 */
function capturing(req: IncomingMessage, capture: BodyCapture): Readable {
  const copy = new Transform({
    highWaterMark: 64 * 1024,
    transform(chunk: Buffer, _encoding, done) {
      capture.add(chunk);
      done(null, chunk);
    },
  });
  pipeline(req, copy, () => undefined);
  return copy;
}

export function createForwarder(pools: UpstreamPools, upstream: UpstreamConfig, events: ForwardEvents): Forwarder {
  const { credentials } = upstream;
  watchUndiciConnections();
  // undici takes SNI per request from the Host header unless told: --tls-server-name must win.
  const servername = upstream.tls?.servername;
  const { userAgent, overrideClientAuth, impersonation } = upstream;
  const { host } = upstream.server;

  function send(out: Outgoing, body: Body, auth: AuthMaterial, mayReplay: boolean): void {
    const { ctx, req, res } = out;
    // Spelled out, not spread from a shared base object: built as a spread plus added properties,
    // this object made V8 promote about 50 KB per scavenge at c=64.
    const inject: InjectedHeaders = { host, userAgent, overrideClientAuth, impersonation, authorization: auth.authorization, auditId: ctx.auditId };
    // The spread goes last: properties added after a spread of a non-empty object (here with
    // --tls-server-name) made V8 promote about 80 KB per scavenge at c=64.
    const options: Dispatcher.DispatchOptions & { servername?: string } = {
      path: out.target,
      method: req.method as Dispatcher.HttpMethod,
      headers: buildUpstreamHeaders(req.rawHeaders, clientAddress(req.socket.remoteAddress), inject),
      body,
      ...(servername === undefined ? {} : { servername }),
    };
    ctx.timeline.hasBody = body !== null;
    if (upstream.record.requestHeaders) {
      ctx.timeline.sent = { target: out.target, headers: options.headers as string[] };
      ctx.timeline.keepResponseHeaders = upstream.record.responseHeaders;
    }
    const onUnauthorized =
      auth === NOTHING || credentials.unauthorized === undefined ? undefined : () => refreshAfter401(out, body, auth, mayReplay);
    const relay = new ResponseRelay(ctx, res, upstream.server, events, pools.waits[out.pool], onUnauthorized, upstream.serverTiming);
    const pool = pools.for(auth.tlsIdentity, out.pool);
    pool.dispatch(options, relay);
    relay.dispatched(pool);
  }

  /**
   * client-go refreshes after a 401 but hands the 401 to the client; we replay the request when
   * its body allows. Returns the replay, or undefined to pass the 401 on.
   */
  function refreshAfter401(out: Outgoing, body: Body, used: AuthMaterial, mayReplay: boolean) {
    const refreshed = credentials.unauthorized?.(used);
    if (refreshed === undefined) return undefined;
    if (!mayReplay) {
      refreshed.catch(() => undefined); // the next request reports a failure
      return undefined;
    }
    return () => {
      out.ctx.audit?.annotate(ANNOTATION.replayed, 'true');
      refreshed.then(
        (fresh) => send(out, body, fresh, false),
        (err: unknown) => events.fail(out.ctx, out.res, credentialFailure(err)),
      );
    };
  }

  return {
    forward(ctx, res) {
      const { req, timeline } = ctx;
      const { path, query, longRunning } = ctx.forwarded!;
      const hasBody = hasRequestBody(req);
      const captured = hasBody ? ctx.audit?.requestBody : undefined;
      const pool: PoolKind = !longRunning ? 'requests' : hasBody ? 'streams-h1' : 'streams';
      const out: Outgoing = { ctx, req, res, target: upstream.pathPrefix + path + query, pool };
      // A client's own Authorization is forwarded as is (client-go's wrappers step aside): ours
      // is neither fetched nor refreshed for it.
      const auth = sendsOwnAuthorization(req, upstream) ? NOTHING : credentials.current();
      const bufferBody = hasBody && auth !== NOTHING && credentials.unauthorized !== undefined && replayableLength(req) !== undefined;
      // The fast path: static credentials, or a cached plugin result, and nothing to buffer.
      if (!(auth instanceof Promise) && !bufferBody && captured === undefined) {
        return send(out, hasBody ? req : null, auth, !hasBody);
      }
      if (auth instanceof Promise) void auth.then(() => (timeline.credentialsAt = performance.now()), () => undefined);
      const body: Promise<Body> = bufferBody
        ? readBody(req).then((buffer) => (captured?.add(buffer), buffer))
        : Promise.resolve(!hasBody ? null : captured === undefined ? req : capturing(req, captured));
      Promise.all([auth, body]).then(
        ([ready, readyBody]) => send(out, readyBody, ready, readyBody === null || Buffer.isBuffer(readyBody)),
        (err: unknown) => events.fail(ctx, res, credentialFailure(err)),
      );
    },
  };
}
