// Upgrade requests (exec, attach, port-forward; WebSocket and SPDY/3.1 alike) get a connection of
// their own to the API server, HTTP/1.1 only, as kubectl's upgrade transport does
// (apimachinery upgradeaware.go). The response head is read here; on 101 the two sockets are
// piped raw both ways, which works for any protocol (http-proxy's ws() drops non-WebSocket ones).

import type { IncomingMessage } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { UpstreamConfig } from '../config/proxy-config.js';
import { ProxyError } from '../errors.js';
import { auditIdFor, buildUpstreamHeaders, clientAddress, hasRequestBody, sendsOwnAuthorization } from './headers.js';
import { dialThroughProxy } from './proxy/connector.js';
import { tlsConnectOptions } from './tls-options.js';
import { toProxyError } from './upstream-errors.js';
import { UPSTREAM_CONNECT_TIMEOUT_MS } from '../config/defaults.js';
import { NOTHING, type AuthMaterial, type TlsIdentity } from '../credentials/credentials.js';
import { credentialFailure } from './credential-failure.js';

/** Connection and Upgrade are hop-by-hop, but an upgrade must carry them to the next hop. */
const UPGRADE_HEADERS: ReadonlySet<string> = new Set(['connection', 'upgrade']);
const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;
/** kubectl gives a failed upgrade's response 10 s to be written before it closes the connection. */
const ERROR_RESPONSE_DEADLINE_MS = 10_000;

export interface UpgradeCallbacks {
  /** The upgrade failed before a 101: answer the client with this error. */
  onError(client: Socket, error: ProxyError): void;
}

async function dial(upstream: UpstreamConfig, identity: TlsIdentity | undefined): Promise<Socket> {
  const { server } = upstream;
  const port = Number(server.port || (server.protocol === 'https:' ? 443 : 80));
  const host = server.hostname.replace(/^\[|\]$/g, '');
  const tls = server.protocol === 'https:' ? tlsConnectOptions(upstream, identity) : undefined;
  // Unlike kubectl's upgrade transport (kubernetes/kubernetes#120318), upgrades use the proxy too.
  const socket =
    upstream.proxy !== undefined
      ? await dialThroughProxy(server, tls, upstream.proxy, UPSTREAM_CONNECT_TIMEOUT_MS)
      : tls !== undefined
        ? connectTls({ ...tls, host, port })
        : connectTcp({ host, port });
  if (upstream.keepaliveMs > 0) socket.setKeepAlive(true, upstream.keepaliveMs);
  // Errors after the response head is read end in 'close', which closes both sides; this
  // listener only keeps a late reset from becoming an uncaught exception.
  socket.on('error', () => socket.destroy());
  return socket;
}

function requestHead(req: IncomingMessage, target: string, headers: readonly string[]): string {
  let head = `${req.method ?? 'GET'} ${target} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head + '\r\n';
}

/** Reads the upstream response head; resolves with it and any bytes that came after it. */
function readResponseHead(socket: Socket): Promise<{ status: number; head: Buffer; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', reject);
      socket.off('end', onEnd);
    };
    const onEnd = () => {
      cleanup();
      reject(new ProxyError(502, 'BadGateway', 'the API server closed the connection before answering the upgrade'));
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > MAX_RESPONSE_HEAD_BYTES) onEnd();
        return;
      }
      cleanup();
      socket.pause();
      const head = buffered.subarray(0, end + 4);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? 0);
      resolve({ status, head, rest: buffered.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('end', onEnd);
  });
}

/**
 * Bytes one direction may hold in the receiving socket before the sender is paused. pipe() pauses
 * at every full 16 KiB buffer, which stops and restarts the read for each chunk (as on the
 * forwarding path, see response-relay.ts); memory stays bounded by this per direction.
 */
const MAX_BUFFERED_BYTES = 256 * 1024;

/** Copies `from` into `to` with backpressure, and ends `to` when `from` ends (half-close). */
function relay(from: Socket, to: Socket): void {
  const resume = () => from.resume();
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk) && to.writableLength >= MAX_BUFFERED_BYTES) {
      from.pause();
      to.once('drain', resume);
    }
  });
  from.once('end', () => to.end());
}

/** How long a side that the other closed after ending may take to write out what it was sent. */
const CLOSE_FLUSH_DEADLINE_MS = 10_000;

function pipeBothWays(client: Socket, upstream: Socket): void {
  const closeBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  // A side that ended cleanly had all its bytes relayed and `other` ended (relay): `other` writes
  // them out before it is closed (a slow client still gets the last bytes, e.g. exec's exit
  // status), within a deadline for a peer that never reads. Otherwise both close at once.
  const closeAfterFlush = (other: Socket) => () => {
    if (other.destroyed || !other.writableEnded || other.writableFinished) return closeBoth();
    other.once('finish', closeBoth);
    setTimeout(closeBoth, CLOSE_FLUSH_DEADLINE_MS).unref();
  };
  client.once('close', closeAfterFlush(upstream));
  upstream.once('close', closeAfterFlush(client));
  client.on('error', closeBoth);
  upstream.on('error', closeBoth);
  relay(client, upstream);
  relay(upstream, client);
  upstream.resume();
}

/** Passes a failed upgrade's answer (status ≥ 400) to the client, then closes both: never reused. */
function relayRefusal(client: Socket, upstream: Socket, head: Buffer, rest: Buffer): void {
  const deadline = setTimeout(() => upstream.destroy(), ERROR_RESPONSE_DEADLINE_MS);
  deadline.unref();
  const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head.toString('latin1'))?.[1] ?? NaN);
  let remaining = Number.isNaN(length) ? Infinity : length - rest.length;
  client.write(Buffer.concat([head, rest]));
  const finish = () => {
    clearTimeout(deadline);
    upstream.destroy();
    client.end();
  };
  if (remaining <= 0) return finish();
  upstream.on('data', (chunk: Buffer) => {
    client.write(chunk);
    remaining -= chunk.length;
    if (remaining <= 0) finish();
  });
  upstream.once('close', finish);
  upstream.resume();
}

export type Upgrader = (req: IncomingMessage, client: Socket, early: Buffer, path: string, query: string) => void;

/** Waits at most `ms` for the upstream's answer to the upgrade, then gives up with a 504. */
function withDeadline<T>(promise: Promise<T>, ms: number, socket: Socket): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      socket.destroy();
      reject(new ProxyError(504, 'Timeout', `the API server did not answer the upgrade within ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createUpgrader(upstream: UpstreamConfig, callbacks: UpgradeCallbacks): Upgrader {
  const deadlineMs = upstream.requestTimeoutMs > 0 ? upstream.requestTimeoutMs : UPSTREAM_CONNECT_TIMEOUT_MS;
  async function upgradeWith(auth: AuthMaterial, req: IncomingMessage, client: Socket, early: Buffer, target: string): Promise<void> {
    if (client.destroyed) return;
    const headers = buildUpstreamHeaders(
      req.rawHeaders,
      clientAddress(req.socket.remoteAddress),
      {
        host: upstream.server.host,
        userAgent: upstream.userAgent,
        overrideClientAuth: upstream.overrideClientAuth,
        authorization: auth.authorization,
        impersonation: upstream.impersonation,
        auditId: auditIdFor(req),
      },
      UPGRADE_HEADERS,
    );
    let socket: Socket;
    try {
      socket = await dial(upstream, auth.tlsIdentity);
    } catch (err) {
      return callbacks.onError(client, toProxyError(err, upstream.server));
    }
    if (client.destroyed) return void socket.destroy();
    const fail = (err: unknown) => {
      socket.destroy();
      callbacks.onError(client, toProxyError(err, upstream.server));
    };
    client.once('close', () => socket.destroy());
    socket.write(requestHead(req, target, headers));
    // Client bytes go upstream only after a 101: before it, they would be read by the API server
    // as another request on this connection, one that no filter has seen.
    withDeadline(readResponseHead(socket), deadlineMs, socket).then(({ status, head, rest }) => {
      if (status === 101) {
        client.write(Buffer.concat([head, rest]));
        if (early.length > 0) socket.write(early);
        pipeBothWays(client, socket);
      } else if (status >= 400) {
        // Not replayed (the client's early bytes may be gone), but the next attempt gets fresh credentials.
        if (status === 401 && auth !== NOTHING) upstream.credentials.unauthorized?.(auth)?.catch(() => undefined);
        relayRefusal(client, socket, head, rest);
      } else {
        fail(new ProxyError(502, 'BadGateway', `invalid upgrade response: status code ${status}`));
      }
    }, fail);
  }

  return (req, client, early, path, query) => {
    // A body on an upgrade request could smuggle a second request onto the connection.
    if (hasRequestBody(req)) {
      callbacks.onError(client, new ProxyError(400, 'BadRequest', 'an upgrade request cannot carry a body'));
      return;
    }
    const target = upstream.pathPrefix + path + query;
    const auth = sendsOwnAuthorization(req, upstream) ? NOTHING : upstream.credentials.current();
    if (!(auth instanceof Promise)) return void upgradeWith(auth, req, client, early, target);
    auth.then(
      (ready) => void upgradeWith(ready, req, client, early, target),
      (err: unknown) => callbacks.onError(client, credentialFailure(err)),
    );
  };
}
