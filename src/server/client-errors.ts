// Requests Node's HTTP parser (llhttp) refuses, the smuggling shapes among them (Content-Length
// with Transfer-Encoding, two lengths, obs-fold, bare LF, bad chunks), heads over the size limit,
// and heads that did not arrive within --headers-timeout. Node's own answer is a bare 400 (408,
// 413, 431) without a body or Audit-ID, or none; here it is the proxy's Kubernetes Status, the
// connection is closed, and the refusal is logged like the others. Nothing of such a request
// reaches the API server.

import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ProxyError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { RequestContext } from '../observe/request-context.js';
import { errorAnswer } from '../stages/answers.js';
import { MAX_HEAD_BYTES } from '../stages/request-head.js';
import { clientAddress } from '../upstream/headers.js';
import { auditAnswer } from './audit-hooks.js';
import { writeRawAnswer } from './raw-answer.js';
import { isClosing } from './request-handler.js';

/** What Node hands to 'clientError': llhttp's `HPE_*` code and reason, ERR_HTTP_REQUEST_TIMEOUT, or a socket error. */
interface ClientError extends Error {
  readonly code?: string;
  readonly reason?: string;
}

export interface ClientErrorListener {
  on(event: 'clientError', listener: (err: ClientError, socket: Socket) => void): unknown;
}

export interface ClientErrorOptions {
  readonly logger: Logger;
  readonly headersTimeoutMs: number;
  /** The context of a request whose response is in flight on the socket, if the proxy made one. */
  readonly contextOf: (res: ServerResponse) => RequestContext | undefined;
}

/** The proxy's answer to a parser error; undefined for socket errors (ECONNRESET…), which leave nobody to answer. */
export function clientErrorAnswer(err: ClientError, headersTimeoutMs: number): ProxyError | undefined {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ProxyError('KAP_REQUEST_HEADERS_TIMEOUT', `the request's line and headers did not arrive within ${headersTimeoutMs / 1000}s (--headers-timeout)`);
    case 'HPE_HEADER_OVERFLOW':
      return new ProxyError('KAP_HEADERS_TOO_LARGE', `the request's line and headers are longer than ${MAX_HEAD_BYTES} bytes`);
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ProxyError('KAP_CHUNK_EXTENSIONS_TOO_LARGE', 'the chunk extensions of the request body are too long');
  }
  if (err.code?.startsWith('HPE_') !== true) return undefined;
  return new ProxyError('KAP_BAD_REQUEST', `malformed HTTP request: ${err.reason ?? err.message} (${err.code})`);
}

/** The response Node is writing on this socket, if any: its own link, which its default handler reads too. */
function inFlight(socket: Socket): ServerResponse | undefined {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

export function answerClientErrors(server: ClientErrorListener, options: ClientErrorOptions): void {
  const { logger, headersTimeoutMs, contextOf } = options;
  // llhttp stays failed and reports again for every later chunk on the connection.
  const answered = new WeakSet<Socket>();
  server.on('clientError', (err, socket) => {
    // Already answered and closing (a 400 of the proxy's own, then the parser tripped on what followed): Node closes it after that answer.
    if (answered.has(socket) || isClosing(socket)) return;
    answered.add(socket);
    const error = clientErrorAnswer(err, headersTimeoutMs);
    const res = inFlight(socket);
    // A request whose body broke is answered here if nothing of its answer was sent. A request
    // pipelined behind one still being answered is not: the client would take ours for that one's.
    const ours = res === undefined || (!res.headersSent && !res.req.complete);
    if (error === undefined || !ours || !socket.writable) {
      socket.destroy();
      return;
    }
    const ctx = res === undefined ? undefined : contextOf(res);
    const auditId = ctx?.auditId ?? randomUUID();
    const answer = errorAnswer(error);
    writeRawAnswer(socket, answer, auditId);
    if (res !== undefined) {
      // The request is on its way upstream: destroying its response makes the forwarder abort it
      // before undici writes anything (ResponseRelay.onRequestStart), and ends its log line and audit event.
      if (ctx !== undefined) {
        ctx.code = error.code;
        auditAnswer(ctx, answer);
      }
      res.statusCode = error.statusCode;
      res.destroy();
      return;
    }
    logger.debug(
      { status: error.statusCode, auditID: auditId, answeredBy: 'proxy', code: error.code, client: clientAddress(socket.remoteAddress), error: error.message },
      'request completed',
    );
  });
}
