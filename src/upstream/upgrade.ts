// Upgrade requests (exec, attach, port-forward; WebSocket and SPDY/3.1 alike) get a connection of
// their own to the API server, HTTP/1.1 only, as kubectl's upgrade transport does
// (apimachinery upgradeaware.go). The response head is read first; on 101 the two sockets are
// piped raw both ways (upgrade/session.ts), which works for any protocol (http-proxy's ws()
// drops non-WebSocket ones). When an upgrade is over, a report goes to `onDone` (upgrade/report.ts).

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { UPSTREAM_CONNECT_TIMEOUT_MS } from '../config/defaults.js';
import type { UpstreamConfig } from '../config/proxy-config.js';
import { NOTHING, type AuthMaterial } from '../credentials/credentials.js';
import type { RequestContext } from '../observe/request-context.js';
import { ProxyError } from '../errors.js';
import { credentialFailure } from './credential-failure.js';
import { buildUpstreamHeaders, clientAddress, hasRequestBody, sendsOwnAuthorization } from './headers.js';
import { toProxyError } from './upstream-errors.js';
import { dial } from './upgrade/dial.js';
import { round, UpgradeRecord, type SessionStarted, type UpgradeDone } from './upgrade/report.js';
import { headHeaders, readResponseHead, relayAndClose, requestHead, withDeadline, type ResponseHead } from './upgrade/response-head.js';
import { pipeBothWays, type Tally } from './upgrade/session.js';

export type { ClosedBy, UpgradeReport, UpgradeSession } from './upgrade/report.js';

/** Connection and Upgrade are hop-by-hop, but an upgrade must carry them to the next hop. */
const UPGRADE_HEADERS: ReadonlySet<string> = new Set(['connection', 'upgrade']);

export interface UpgradeCallbacks {
  /** The upgrade failed before a 101: answer the client with this error. */
  onError(ctx: RequestContext, client: Socket, error: ProxyError): void;
  /** The upgrade is over: answered and relayed, failed, or its session closed on both sides. Once per upgrade. */
  readonly onDone?: UpgradeDone;
  /** A session started (101): its byte counts, live. */
  readonly onSession?: SessionStarted;
}

/** Forwards `ctx.forwarded` as an upgrade: the client's socket and the bytes that came after its head. */
export type Upgrader = (ctx: RequestContext, client: Socket, early: Buffer) => void;

/** The request's headers as they go upstream: ours injected, Connection and Upgrade kept. */
function upgradeRequestHeaders(upstream: UpstreamConfig, ctx: RequestContext, auth: AuthMaterial): string[] {
  const { req } = ctx;
  const inject = {
    host: upstream.server.host,
    userAgent: upstream.userAgent,
    overrideClientAuth: upstream.overrideClientAuth,
    authorization: auth.authorization,
    impersonation: upstream.impersonation,
    auditId: ctx.auditId,
  };
  return buildUpstreamHeaders(req.rawHeaders, clientAddress(req.socket.remoteAddress), inject, UPGRADE_HEADERS);
}

/** One upgrade with its upstream socket open and its request head written. */
interface Dialled {
  readonly record: UpgradeRecord;
  readonly client: Socket;
  readonly socket: Socket;
  readonly early: Buffer;
  readonly auth: AuthMaterial;
  /** The answer reached the client: a later client close is the session's business, not a hang-up. */
  readonly answered: () => void;
  readonly fail: (err: unknown) => void;
}

/**
 * The API server's answer: a 101 starts the session. Any other final answer, a refusal or an
 * ordinary response to a request that asked for an upgrade it did not need (`GET /version` with
 * `Upgrade: websocket`), is relayed as it came and the connection closed, as Go's ReverseProxy
 * does (kubectl answers 500 to a 2xx or 3xx). Only an interim 1xx or a head that is not HTTP fails.
 */
function relayAnswer(upstream: UpstreamConfig, up: Dialled, answer: ResponseHead): void {
  const { record, client, socket, early } = up;
  const { status, head, rest, at } = answer;
  record.timeline.firstByteAt = at;
  if (upstream.record.responseHeaders) record.responseHeaders = headHeaders(head);
  if (status === 101) {
    up.answered();
    record.ctx.audit?.responseStarted(101);
    const sessionStart = performance.now();
    const tally: Tally = { toUpstream: early.length, toClient: rest.length };
    record.sessionStarted(tally);
    client.write(Buffer.concat([head, rest]));
    if (early.length > 0) socket.write(early);
    pipeBothWays(client, socket, tally, (closedBy) =>
      record.done({
        status,
        session: { ms: round(performance.now() - sessionStart), bytesToUpstream: tally.toUpstream, bytesToClient: tally.toClient, closedBy },
      }),
    );
  } else if (status >= 200) {
    up.answered();
    // Not replayed (the client's early bytes may be gone), but the next attempt gets fresh credentials.
    if (status === 401 && up.auth !== NOTHING) upstream.credentials.unauthorized?.(up.auth)?.catch(() => undefined);
    // The client's early bytes are never sent: without a 101 they would be read as a request.
    relayAndClose(client, socket, head, rest, () => {
      record.timeline.endAt ??= performance.now();
      record.done({ status });
    });
  } else {
    up.fail(new ProxyError('KAP_UPGRADE_INVALID_ANSWER', `invalid upgrade response: status code ${status}`));
  }
}

export function createUpgrader(upstream: UpstreamConfig, callbacks: UpgradeCallbacks): Upgrader {
  const deadlineMs = upstream.requestTimeoutMs > 0 ? upstream.requestTimeoutMs : UPSTREAM_CONNECT_TIMEOUT_MS;
  /** The proxy answers the client itself: reported with the answer's status. */
  const answer = (record: UpgradeRecord, client: Socket, error: ProxyError) => {
    callbacks.onError(record.ctx, client, error);
    record.done({ status: error.statusCode });
  };

  async function upgradeWith(record: UpgradeRecord, auth: AuthMaterial, client: Socket, early: Buffer, target: string): Promise<void> {
    if (client.destroyed) return record.done({ closedBy: 'client' });
    const headers = upgradeRequestHeaders(upstream, record.ctx, auth);
    if (upstream.record.requestHeaders) record.sent = { target, headers };
    const { timeline } = record;
    let socket: Socket;
    try {
      const dialled = await dial(upstream, auth.tlsIdentity);
      socket = dialled.socket;
      timeline.connection = dialled.timing;
    } catch (err) {
      return answer(record, client, toProxyError(err, upstream.server));
    }
    if (client.destroyed) {
      socket.destroy();
      return record.done({ closedBy: 'client' });
    }
    let answered = false;
    const up: Dialled = {
      record,
      client,
      socket,
      early,
      auth,
      answered: () => (answered = true),
      fail: (err) => {
        socket.destroy();
        answer(record, client, toProxyError(err, upstream.server));
      },
    };
    client.once('close', () => {
      socket.destroy();
      if (!answered) record.done({ closedBy: 'client' });
    });
    // Written once the connection is ready (after the TLS handshake): the server phase starts there.
    socket.write(requestHead(record.ctx.req, target, headers), () => (timeline.sentAt ??= performance.now()));
    // Client bytes go upstream only after a 101: before it, they would be read by the API server
    // as another request on this connection, one that no filter has seen.
    withDeadline(readResponseHead(socket), deadlineMs, socket, timeline.connection).then((head) => relayAnswer(upstream, up, head), up.fail);
  }

  return (ctx, client, early) => {
    const { path, query } = ctx.forwarded!;
    const record = new UpgradeRecord(ctx, callbacks.onDone, callbacks.onSession);
    // A body on an upgrade request could smuggle a second request onto the connection.
    if (hasRequestBody(ctx.req)) {
      return answer(record, client, new ProxyError('KAP_UPGRADE_WITH_BODY', 'an upgrade request cannot carry a body'));
    }
    const target = upstream.pathPrefix + path + query;
    const auth = sendsOwnAuthorization(ctx.req, upstream) ? NOTHING : upstream.credentials.current();
    if (!(auth instanceof Promise)) return void upgradeWith(record, auth, client, early, target);
    auth.then(
      (ready) => {
        record.timeline.credentialsAt = performance.now();
        void upgradeWith(record, ready, client, early, target);
      },
      (err: unknown) => answer(record, client, credentialFailure(err)),
    );
  };
}
