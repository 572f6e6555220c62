// One upgraded stream, timed: a port-forward request answered with 101 SPDY/3.1, then N bytes
// from the client to the upstream. One direction only (client → upstream): the clock runs from
// the 101 to the upstream's ack, which it sends once it has read all N bytes.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { UPGRADE_ACK, UPGRADE_PATH } from './cells.js';
import type { ProbeTarget } from './probe.js';

/** Written again and again: one buffer keeps the client's own cost out of the figure. */
const CHUNK = Buffer.alloc(1024 * 1024, 'x');
const HEAD_END = '\r\n\r\n';

export interface StreamResult {
  bytes: number;
  /** From the 101 to the ack. */
  durationS: number;
}

/** The request path for a stream of `bytes`; the upstream reads the count from the query. */
export function upgradePath(bytes: number): string {
  return `${UPGRADE_PATH}?ports=80&bytes=${bytes}`;
}

function open(target: ProbeTarget): Socket {
  const url = new URL(target.url);
  const port = Number(url.port);
  // HTTP/1.1 by ALPN: an upgrade has no meaning on h2, and the upstream offers both.
  if (url.protocol === 'https:') return tlsConnect({ host: url.hostname, port, ca: target.ca, ALPNProtocols: ['http/1.1'] });
  return netConnect({ host: url.hostname, port });
}

/** The headers kubectl proxy needs to treat the request as an upgrade and pipe it through. */
function requestHead(target: ProbeTarget, bytes: number): string {
  const host = new URL(target.url).host;
  const lines = [`GET ${upgradePath(bytes)} HTTP/1.1`, `Host: ${host}`, 'Connection: Upgrade', 'Upgrade: SPDY/3.1', ...target.headers];
  return lines.join('\r\n') + HEAD_END;
}

/** Writes `bytes` in CHUNK pieces, waiting for `drain` so nothing piles up in the client. */
async function push(socket: Socket, bytes: number): Promise<void> {
  for (let left = bytes; left > 0; left -= CHUNK.length) {
    const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve));
  }
}

/**
 * Upgrades a connection to `target` and pushes `bytes` through it.
 * @throws when there is no 101, no ack, or either takes longer than `timeoutMs` in all.
 */
export function runUpgradeStream(target: ProbeTarget, bytes: number, timeoutMs: number): Promise<StreamResult> {
  const socket = open(target);
  return new Promise<StreamResult>((resolve, reject) => {
    let received = '';
    let startedAt: bigint | undefined;
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`upgraded stream of ${bytes} bytes not done within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (startedAt === undefined) {
        const end = received.indexOf(HEAD_END);
        if (end < 0) return;
        const status = received.slice(0, received.indexOf('\r\n'));
        if (!/^HTTP\/1\.1 101 /.test(status)) return fail(new Error(`upgrade answered "${status}"`));
        received = received.slice(end + HEAD_END.length);
        startedAt = process.hrtime.bigint();
        push(socket, bytes).catch(fail);
      }
      if (!received.includes(UPGRADE_ACK)) return;
      const durationS = Number(process.hrtime.bigint() - startedAt) / 1e9;
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes, durationS });
    };
    socket.on('data', onData);
    socket.once('error', (err) => fail(new Error(`upgraded stream failed: ${err.message}`)));
    socket.once('close', () => fail(new Error(`connection closed before the ack (got ${JSON.stringify(received.slice(0, 200))})`)));
    socket.write(requestHead(target, bytes));
  });
}
