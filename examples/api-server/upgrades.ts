// Upgrade requests get the same authentication, recording and routes as any other request. A
// route that speaks the protocol asked for (exec over WebSocket) takes the socket; every other
// answer is plain HTTP on it, as Node gives when a server has no 'upgrade' listener, except that
// the connection then closes: after an upgrade request nothing else may be read from it.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { UpgradeRequest } from './context.js';

/** Handles one request; `upgrade` is set for upgrade requests. */
export type ServeRequest = (req: IncomingMessage, res: ServerResponse, upgrade?: UpgradeRequest) => void;

/** An HTTP response written straight to an upgrade request's socket, which closes after it. */
function plainResponse(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', () => {
    res.detachSocket(socket);
    socket.end();
  });
  return res;
}

/** Sends the server's upgrade requests through `serve`. */
export function serveUpgrades(server: Server, serve: ServeRequest): void {
  server.on('upgrade', (req: IncomingMessage, duplex: Duplex, head: Buffer) => {
    const socket = duplex as Socket;
    socket.on('error', () => socket.destroy());
    serve(req, plainResponse(req, socket), { socket, head });
  });
}
