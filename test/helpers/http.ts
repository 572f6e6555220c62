// Small HTTP clients for tests: undici for ordinary requests, a raw socket when the exact request
// bytes matter (encoded paths, Host headers, absolute-form targets).

import { connect } from 'node:net';
import { request as undiciRequest } from 'undici';

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Kubernetes `Status` body fields tests look at. */
export interface StatusBody {
  kind: string;
  apiVersion: string;
  status: string;
  message: string;
  reason: string;
  code: number;
}

export async function fetchText(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<Reply> {
  const response = await undiciRequest(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers,
    body: init.body,
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
  });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

/** Sends `head` verbatim (CRLFs added) with Connection: close and reads the whole reply. */
export function rawRequest(target: { port: number; host?: string } | { path: string }, lines: readonly string[], timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in target ? connect(target.path) : connect(target.port, target.host ?? '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.write([...lines, 'Connection: close', '', ''].join('\r\n'));
  });
}

/** Sends a request head and resolves with the status of the answer's first line, then hangs up (an upgrade's 101 stays open otherwise). */
export function firstStatus(port: number, lines: readonly string[], timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no status line within ${timeoutMs} ms; got ${text}`));
    }, timeoutMs);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!text.includes('\r\n')) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(text.split(' ')[1]));
    });
    socket.write([...lines, '', ''].join('\r\n'));
  });
}
