// CONNECT asks for a tunnel, which the proxy does not give (except to its own listener, with
// --caller-token-file: own-tunnel.ts). Node, with no 'connect' listener, closes the connection
// without a word on HTTP/1.1; here the answer is a 405 Status with `Allow`, audited and logged
// like any refusal, and the connection is closed, so the bytes the client sent after its CONNECT
// (a TLS handshake, a smuggled request) are never read.

import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Socket } from 'node:net';
import type { Auditor } from '../audit/auditor.js';
import { ProxyError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { RequestContext } from '../observe/request-context.js';
import { errorAnswer } from '../stages/answers.js';
import type { Answer } from '../stages/stage.js';
import { clientAddress } from '../upstream/headers.js';
import { auditAnswer, beginAudit, finishAudit } from './audit-hooks.js';
import { writeRawAnswer } from './raw-answer.js';
import { ALLOWED_METHODS, isClosing } from './request-handler.js';
import { requestFields } from './request-log.js';

/** HTTP/1.1 hands over the socket; HTTP/2 (Node's compatibility API) a request and a response. */
type ConnectListener = (req: IncomingMessage | Http2ServerRequest, socketOrResponse: Socket | Http2ServerResponse, head?: Buffer) => void;

export interface ConnectListenerHost {
  on(event: 'connect', listener: ConnectListener): unknown;
  listenerCount(event: 'connect'): number;
}

function refusal(): Answer {
  const answer = errorAnswer(new ProxyError('KAP_CONNECT_NOT_ALLOWED', 'kube-auth-proxy is not a forward proxy: CONNECT is not allowed'));
  return { ...answer, headers: { ...answer.headers, allow: ALLOWED_METHODS } };
}

function write(to: Socket | Http2ServerResponse, answer: Answer, auditId: string): void {
  if (to instanceof Socket) {
    to.on('error', () => to.destroy());
    return writeRawAnswer(to, answer, auditId);
  }
  to.writeHead(answer.statusCode, { ...answer.headers, 'audit-id': auditId, 'content-length': String(Buffer.byteLength(answer.body)) });
  to.end(answer.body);
}

/** Answers every CONNECT with 405, unless another listener (own-tunnel.ts) already serves CONNECT. */
export function refuseConnects(server: ConnectListenerHost, logger: Logger, auditor: Auditor | undefined): void {
  if (server.listenerCount('connect') > 0) return;
  server.on('connect', (req, to) => {
    // Pipelined behind an answer that closes the connection: not read.
    if (to instanceof Socket && isClosing(to)) return void to.end();
    const ctx = new RequestContext(req as IncomingMessage, logger);
    const answer = refusal();
    ctx.code = answer.code;
    beginAudit(auditor, ctx, answer);
    auditAnswer(ctx, answer);
    write(to, answer, ctx.auditId);
    finishAudit(ctx, answer.statusCode, true, false);
    const client = clientAddress(req.socket.remoteAddress);
    logger.debug({ ...requestFields(ctx), status: answer.statusCode, ms: ctx.timeline.phases().total, client }, 'request completed');
  });
}
