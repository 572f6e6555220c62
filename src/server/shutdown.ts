// Graceful stop: no new connections, idle keep-alive connections closed, in-flight requests given
// a grace period, open streams (watches, follows, upgrades) ended, then everything closed.

import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Tracks what is in flight so a stop can wait for it and end the rest. */
export class ConnectionTracker {
  private readonly responses = new Set<ServerResponse>();
  private readonly upgraded = new Set<Socket>();

  trackResponse(res: ServerResponse): void {
    this.responses.add(res);
    res.once('close', () => this.responses.delete(res));
  }

  trackUpgraded(socket: Socket): void {
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
  }

  get inFlight(): number {
    return this.responses.size + this.upgraded.size;
  }

  /** Ends streams now: a response without a length is a watch or a follow, it never finishes by itself. */
  endStreams(): void {
    for (const res of this.responses) {
      if (res.headersSent && res.getHeader('content-length') === undefined) res.end();
    }
    for (const socket of this.upgraded) socket.end();
  }

  destroyAll(): void {
    for (const res of this.responses) res.destroy();
    for (const socket of this.upgraded) socket.destroy();
  }
}

/** Stops `server`; resolves when every connection is closed or the grace period is over. */
export async function shutdown(server: Server, tracker: ConnectionTracker, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  tracker.endStreams();
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
