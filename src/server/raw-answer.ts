// Writes an answer straight onto a socket, for upgrade requests, CONNECT and requests Node's parser
// refused, which have no ServerResponse; the connection closes after it.

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Answer } from '../stages/stage.js';

/**
 * How long a closed-by-us connection may stay half-open for the client to read the answer and
 * close its side; then it is destroyed. Ending (FIN) rather than destroying at once lets the
 * answer arrive: a close with unread client bytes sends a reset, which can take the answer with it.
 */
export const LINGER_MS = 2_000;

export function writeRawAnswer(socket: Socket, answer: Answer, auditId: string): void {
  const headers = { ...answer.headers, 'audit-id': auditId, 'content-length': String(Buffer.byteLength(answer.body)), connection: 'close' };
  let head = `HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  socket.end(head + '\r\n' + answer.body);
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}
