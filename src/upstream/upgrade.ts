// Upgrade requests (exec, attach, port-forward; WebSocket and SPDY/3.1 alike) get a connection of
// their own to the API server, HTTP/1.1 only, as kubectl's upgrade transport does
// (apimachinery upgradeaware.go). The response head is read first; on 101 the two sockets are
// piped raw both ways (upgrade/session.ts), which works for any protocol (http-proxy's ws()
// drops non-WebSocket ones). When an upgrade is over, a report goes to `onDone` (upgrade/report.ts).

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { UPSTREAM_CONNECT_TIMEOUT_MS } from '../config/defaults.js';
import type { UpstreamConfig } from '../config/proxy-config.js';
import { NOTHING, type AuthMaterial } from '../credentials/credentials.js';
import { ProxyError } from '../errors.js';
import { credentialFailure } from './credential-failure.js';
import { buildUpstreamHeaders, clientAddress, hasRequestBody, sendsOwnAuthorization } from './headers.js';
import { toProxyError } from './upstream-errors.js';
import { dial } from './upgrade/dial.js';
import { round, UpgradeRecord, type UpgradeDone } from './upgrade/report.js';
import { headHeaders, readResponseHead, relayRefusal, requestHead, withDeadline } from './upgrade/response-head.js';
import { pipeBothWays, type Tally } from './upgrade/session.js';

export type { ClosedBy, UpgradeReport, UpgradeSession } from './upgrade/report.js';

/** Connection and Upgrade are hop-by-hop, but an upgrade must carry them to the next hop. */
const UPGRADE_HEADERS: ReadonlySet<string> = new Set(['connection', 'upgrade']);

export interface UpgradeCallbacks {
  /** The upgrade failed before a 101: answer the client with this error. */
  onError(client: Socket, error: ProxyError): void;
  /** The upgrade is over: answered and relayed, failed, or its session closed on both sides. Once per upgrade. */
  readonly onDone?: UpgradeDone;
}

export type Upgrader = (req: IncomingMessage, client: Socket, early: Buffer, path: string, query: string) => void;

export function createUpgrader(upstream: UpstreamConfig, callbacks: UpgradeCallbacks): Upgrader {
  const deadlineMs = upstream.requestTimeoutMs > 0 ? upstream.requestTimeoutMs : UPSTREAM_CONNECT_TIMEOUT_MS;
  /** The proxy answers the client itself: reported with the answer's status. */
  const answer = (record: UpgradeRecord, client: Socket, error: ProxyError) => {
    callbacks.onError(client, error);
    record.done({ status: error.statusCode });
  };

  async function upgradeWith(record: UpgradeRecord, auth: AuthMaterial, req: IncomingMessage, client: Socket, early: Buffer, target: string): Promise<void> {
    if (client.destroyed) return record.done({ closedBy: 'client' });
    const headers = buildUpstreamHeaders(
      req.rawHeaders,
      clientAddress(req.socket.remoteAddress),
      {
        host: upstream.server.host,
        userAgent: upstream.userAgent,
        overrideClientAuth: upstream.overrideClientAuth,
        authorization: auth.authorization,
        impersonation: upstream.impersonation,
        auditId: record.timeline.auditId,
      },
      UPGRADE_HEADERS,
    );
    if (upstream.verbosity >= 7) record.sent = { target, headers };
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
    const fail = (err: unknown) => {
      socket.destroy();
      answer(record, client, toProxyError(err, upstream.server));
    };
    let answered = false;
    client.once('close', () => {
      socket.destroy();
      if (!answered) record.done({ closedBy: 'client' });
    });
    // Written once the connection is ready (after the TLS handshake): the server phase starts there.
    socket.write(requestHead(req, target, headers), () => (timeline.sentAt ??= performance.now()));
    // Client bytes go upstream only after a 101: before it, they would be read by the API server
    // as another request on this connection, one that no filter has seen.
    withDeadline(readResponseHead(socket), deadlineMs, socket).then(({ status, head, rest, at }) => {
      timeline.firstByteAt = at;
      if (upstream.verbosity >= 8) record.responseHeaders = headHeaders(head);
      if (status === 101) {
        answered = true;
        const sessionStart = performance.now();
        const tally: Tally = { toUpstream: early.length, toClient: rest.length };
        client.write(Buffer.concat([head, rest]));
        if (early.length > 0) socket.write(early);
        pipeBothWays(client, socket, tally, (closedBy) =>
          record.done({
            status,
            session: { ms: round(performance.now() - sessionStart), bytesToUpstream: tally.toUpstream, bytesToClient: tally.toClient, closedBy },
          }),
        );
      } else if (status >= 400) {
        answered = true;
        // Not replayed (the client's early bytes may be gone), but the next attempt gets fresh credentials.
        if (status === 401 && auth !== NOTHING) upstream.credentials.unauthorized?.(auth)?.catch(() => undefined);
        relayRefusal(client, socket, head, rest, () => {
          timeline.endAt ??= performance.now();
          record.done({ status });
        });
      } else {
        fail(new ProxyError(502, 'BadGateway', `invalid upgrade response: status code ${status}`));
      }
    }, fail);
  }

  return (req, client, early, path, query) => {
    const record = new UpgradeRecord(req, callbacks.onDone);
    // A body on an upgrade request could smuggle a second request onto the connection.
    if (hasRequestBody(req)) {
      return answer(record, client, new ProxyError(400, 'BadRequest', 'an upgrade request cannot carry a body'));
    }
    const target = upstream.pathPrefix + path + query;
    const auth = sendsOwnAuthorization(req, upstream) ? NOTHING : upstream.credentials.current();
    if (!(auth instanceof Promise)) return void upgradeWith(record, auth, req, client, early, target);
    auth.then(
      (ready) => {
        record.timeline.credentialsAt = performance.now();
        void upgradeWith(record, ready, req, client, early, target);
      },
      (err: unknown) => answer(record, client, credentialFailure(err)),
    );
  };
}
