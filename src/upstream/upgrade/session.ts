// An upgraded session: the two sockets piped both ways with backpressure and half-close, bytes
// counted, the last bytes written out before both close, and who closed first.

import type { Socket } from 'node:net';
import type { ClosedBy } from './report.js';

/**
 * Bytes one direction may hold in the receiving socket before the sender is paused. pipe() pauses
 * at every full 16 KiB buffer, which stops and restarts the read for each chunk (as on the
 * forwarding path, see response-relay.ts); memory stays bounded by this per direction.
 */
const MAX_BUFFERED_BYTES = 256 * 1024;

/** Bytes relayed each way in a session. */
export interface Tally {
  toUpstream: number;
  toClient: number;
}

/** Copies `from` into `to` with backpressure, and ends `to` when `from` ends (half-close). */
function relay(from: Socket, to: Socket, count: (bytes: number) => void): void {
  const resume = () => from.resume();
  from.on('data', (chunk: Buffer) => {
    count(chunk.length);
    if (!to.write(chunk) && to.writableLength >= MAX_BUFFERED_BYTES) {
      from.pause();
      to.once('drain', resume);
    }
  });
  from.once('end', () => to.end());
}

/** How long a side that the other closed after ending may take to write out what it was sent. */
const CLOSE_FLUSH_DEADLINE_MS = 10_000;

/** A reset or a write to a closed socket: the peer went away. */
const PEER_GONE: ReadonlySet<string | undefined> = new Set(['ECONNRESET', 'EPIPE']);

function onceClosed(socket: Socket, listener: () => void): void {
  if (socket.closed) listener();
  else socket.once('close', listener);
}

/** Relays until both sockets are closed, then calls `onClosed` with who closed first. */
export function pipeBothWays(client: Socket, upstream: Socket, tally: Tally, onClosed: (closedBy: ClosedBy) => void): void {
  // The first sign of an end names who closed first: a peer's end or reset, or the proxy when it
  // ended the client's side itself before either peer did (shutdown: ConnectionTracker), closed
  // a socket itself, or met an error of its own.
  let closedBy: ClosedBy | undefined;
  const ended = (side: 'client' | 'upstream') => () => (closedBy ??= client.writableEnded ? 'proxy' : side);
  const failed = (side: 'client' | 'upstream') => (err: NodeJS.ErrnoException) =>
    (closedBy ??= !client.writableEnded && PEER_GONE.has(err.code) ? side : 'proxy');
  client.once('end', ended('client'));
  upstream.once('end', ended('upstream'));
  client.once('error', failed('client'));
  upstream.once('error', failed('upstream'));
  let open = 2;
  const closed = () => {
    closedBy ??= 'proxy';
    if (--open === 0) onClosed(closedBy);
  };
  onceClosed(client, closed);
  onceClosed(upstream, closed);
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
  relay(client, upstream, (bytes) => (tally.toUpstream += bytes));
  relay(upstream, client, (bytes) => (tally.toClient += bytes));
  upstream.resume();
}
