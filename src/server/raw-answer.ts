// Writes an answer straight onto a socket, for upgrade requests, which have no ServerResponse.

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Answer } from '../stages/stage.js';

export function writeRawAnswer(socket: Socket, answer: Answer, auditId: string): void {
  const headers = { ...answer.headers, 'audit-id': auditId, 'content-length': String(Buffer.byteLength(answer.body)), connection: 'close' };
  let head = `HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  socket.end(head + '\r\n' + answer.body);
}
