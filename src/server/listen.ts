// Opens the listener: TCP on loopback by default, or a unix socket created owner-only
// (kubectl: umask 0077, a stale socket replaced, anything else at that path left alone).

import { lstatSync, unlinkSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { ListenTarget } from '../config/proxy-config.js';
import { ConfigError } from '../errors.js';

/** What the proxy uses of its listening server: a plain `http.Server` and the HTTPS one alike. */
export interface ProxyListener {
  on(event: 'request', listener: (req: IncomingMessage, res: ServerResponse) => void): this;
  on(event: 'upgrade', listener: (req: IncomingMessage, socket: Socket, head: Buffer) => void): this;
  on(event: 'clientError', listener: (err: Error & { code?: string; reason?: string }, socket: Socket) => void): this;
  /** HTTP/1.1 hands over the socket; HTTP/2's compatibility API a request and a response. */
  on(event: 'connect', listener: (req: IncomingMessage | Http2ServerRequest, socket: Socket | Http2ServerResponse, head?: Buffer) => void): this;
  listenerCount(event: 'connect'): number;
  once(event: 'error', listener: (err: NodeJS.ErrnoException) => void): this;
  off(event: 'error', listener: (err: NodeJS.ErrnoException) => void): this;
  listen(port: number, host: string, ready: () => void): this;
  listen(path: string, ready: () => void): this;
  address(): AddressInfo | string | null;
  close(callback?: (err?: Error) => void): this;
  /** Idle HTTP/1.1 keep-alive connections close now; HTTP/2 sessions are told to finish (GOAWAY). */
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

/** How the listening address is shown: `127.0.0.1:8001`, `[::1]:8001` or the socket path. */
export function describeAddress(address: string | AddressInfo | null): string {
  if (address === null) return '';
  if (typeof address === 'string') return address;
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

function removeStaleSocket(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new ConfigError(`--unix-socket: ${path} exists and is not a socket; refusing to replace it`);
  unlinkSync(path);
}

function listenError(err: NodeJS.ErrnoException, target: ListenTarget): ConfigError {
  const where = target.kind === 'unix' ? target.path : `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const flag = target.kind === 'unix' ? '--unix-socket' : err.code === 'EADDRINUSE' ? '--port' : '--address';
  const reason =
    err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : err.message;
  return new ConfigError(`${flag}: listen ${where}: ${reason}`, { cause: err });
}

/** Listens and resolves with the printable address, or rejects with a one-line ConfigError. */
export async function listen(server: ProxyListener, target: ListenTarget): Promise<string> {
  if (target.kind === 'unix') removeStaleSocket(target.path);
  const previousUmask = target.kind === 'unix' ? process.umask(0o077) : undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, target));
      server.once('error', onError);
      const ready = () => {
        server.off('error', onError);
        resolve();
      };
      if (target.kind === 'unix') server.listen(target.path, ready);
      else server.listen(target.port, target.host, ready);
    });
  } finally {
    if (previousUmask !== undefined) process.umask(previousUmask);
  }
  return describeAddress(server.address());
}
