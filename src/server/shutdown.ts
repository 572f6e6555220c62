// Graceful stop: no new connections, idle keep-alive connections closed, in-flight requests given
// a grace period, open streams (watches, follows, upgrades) ended, then everything closed.

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { LinkedSet } from '../linked-set.js';
import type { ProxyListener } from './listen.js';

/** Tracks what is in flight so a stop can wait for it and end the rest. */
export class ConnectionTracker {
  /** Every response in flight. A list, not a Set: linked-set.ts says why. */
  private readonly responses = new LinkedSet<ServerResponse>();
  private readonly streams = new Set<ServerResponse>();
  private readonly upgraded = new Set<Socket>();
  private stopping: ProxyListener | undefined;

  trackResponse(res: ServerResponse): void {
    const entry = this.responses.add(res);
    res.once('close', () => {
      this.responses.delete(entry);
      this.streams.delete(res);
      // While stopping, a finished response leaves an idle keep-alive connection: close it now.
      this.stopping?.closeIdleConnections();
    });
  }

  /** A response without a length (watch, follow): it never finishes by itself. */
  trackStream(res: ServerResponse): void {
    if (this.stopping === undefined) this.streams.add(res);
    else res.end();
  }

  /** A client socket of an upgrade request, pending or piped. */
  trackUpgraded(socket: Socket): void {
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    if (this.stopping !== undefined) socket.end();
  }

  /** True from the start of a stop on. */
  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Ends streams now and closes idle connections; in-flight requests carry on. */
  beginStop(server: ProxyListener): void {
    this.stopping = server;
    server.closeIdleConnections();
    for (const res of this.streams) res.end();
    for (const socket of this.upgraded) socket.end();
  }

  destroyAll(): void {
    for (const res of this.responses) res.destroy();
    for (const socket of this.upgraded) socket.destroy();
  }
}

/** Stops `server`; resolves when every connection is closed or the grace period is over. */
export async function shutdown(server: ProxyListener, tracker: ConnectionTracker, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  tracker.beginStop(server);
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
    timer.unref();
  });
  await Promise.race([closed, grace]);
  clearTimeout(timer);
  tracker.destroyAll();
  server.closeAllConnections();
  await closed;
}
