// The HTTP/1.1 exchange before an upgrade: our request head, the API server's response head
// (bounded in size and time), and an answer other than 101 relayed to the client.

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionTiming } from '../../observe/timeline.js';
import { performance } from 'node:perf_hooks';
import { ProxyError } from '../../errors.js';

const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;
/** kubectl gives a failed upgrade's response 10 s to be written before it closes the connection. */
const ERROR_RESPONSE_DEADLINE_MS = 10_000;

export function requestHead(req: IncomingMessage, target: string, headers: readonly string[]): string {
  let head = `${req.method ?? 'GET'} ${target} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head + '\r\n';
}

/** The header lines of a response head as `[name, value, …]`. */
export function headHeaders(head: Buffer): string[] {
  const out: string[] = [];
  for (const line of head.toString('latin1').split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) out.push(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return out;
}

/** Reads the upstream response head; resolves with it, any bytes that came after it, and when it was complete. */
/** The upgrade's response head as read: status, the head's bytes, bytes already behind it, when it arrived. */
export interface ResponseHead {
  readonly status: number;
  readonly head: Buffer;
  readonly rest: Buffer;
  readonly at: number;
}

export function readResponseHead(socket: Socket): Promise<ResponseHead> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', reject);
      socket.off('end', onEnd);
    };
    const onEnd = () => {
      cleanup();
      reject(new ProxyError('KAP_UPGRADE_NO_ANSWER', 'the API server closed the connection before answering the upgrade'));
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > MAX_RESPONSE_HEAD_BYTES) onEnd();
        return;
      }
      const at = performance.now();
      cleanup();
      socket.pause();
      const head = buffered.subarray(0, end + 4);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? 0);
      resolve({ status, head, rest: buffered.subarray(end + 4), at });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('end', onEnd);
  });
}

/**
 * The answer's head with `Connection: close`: the proxy closes this connection after the answer
 * (it was opened for an upgrade), so a keep-alive client must not send another request on it.
 */
function closingHead(head: Buffer): Buffer {
  const lines = head.toString('latin1').split('\r\n').filter((line) => !/^connection\s*:/i.test(line));
  // The head ends with "\r\n\r\n": the last two entries are empty.
  lines.splice(lines.length - 2, 0, 'Connection: close');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/**
 * Passes an answer other than 101 (a refusal, or a 2xx/3xx) to the client, its body up to its
 * Content-Length or the upstream's close (within 10 s), then closes both: never reused.
 */
export function relayAndClose(client: Socket, upstream: Socket, head: Buffer, rest: Buffer, onRelayed: () => void): void {
  const deadline = setTimeout(() => upstream.destroy(), ERROR_RESPONSE_DEADLINE_MS);
  deadline.unref();
  const text = head.toString('latin1');
  // 204 and 304 have no body whatever their headers say (RFC 9110 §6.4.1).
  const length = /^HTTP\/1\.[01] (?:204|304)/.test(text) ? 0 : Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? NaN);
  let remaining = Number.isNaN(length) ? Infinity : length - rest.length;
  client.write(Buffer.concat([closingHead(head), rest]));
  const finish = () => {
    clearTimeout(deadline);
    upstream.destroy();
    client.end();
    onRelayed();
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

/**
 * Where a connection that got no answer hangs, if before the request could be sent: a frozen
 * server's kernel still completes TCP, never TLS.
 */
function unansweredStage(connection: ConnectionTiming | undefined): string {
  if (connection === undefined || connection.readyAt !== undefined) return '';
  return connection.connectAt === undefined ? ': TCP connect unanswered' : ': TLS handshake unanswered';
}

/** Waits at most `ms` for the upstream's answer to the upgrade, then gives up with a 504. */
export function withDeadline<T>(promise: Promise<T>, ms: number, socket: Socket, connection?: ConnectionTiming): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const stage = unansweredStage(connection);
      socket.destroy();
      reject(new ProxyError('KAP_UPGRADE_TIMEOUT', `the API server did not answer the upgrade within ${ms} ms${stage}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
