// Real forward proxies on loopback for the proxy tests: TooTallNate's `proxy` (HTTP CONNECT, plain
// or behind TLS) and `simple-socks` (SOCKS5), each recording the tunnels it was asked to open.

import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createProxy } from 'proxy';
import socks from 'simple-socks';
import type { Test } from 'tap';

export interface RecordingProxy {
  /** `scheme://127.0.0.1:PORT`, without credentials. */
  readonly url: string;
  readonly port: number;
  /** Tunnels the proxy opened or was asked for, as `host:port`, in order. */
  readonly tunnels: string[];
  /** `scheme://user:password@127.0.0.1:PORT`, percent-encoded. */
  withCredentials(username: string, password: string): string;
}

export interface ProxyOptions {
  /** When set, the proxy demands these (Basic Proxy-Authorization, or RFC 1929 for SOCKS). */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Serve CONNECT over TLS with this certificate (an https proxy). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** Closes the server and destroys every connection it accepted, tunnels included. */
function closeOnTeardown(t: Test, server: Server): void {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function recording(scheme: string, port: number, tunnels: string[]): RecordingProxy {
  const url = `${scheme}://127.0.0.1:${port}`;
  return {
    url,
    port,
    tunnels,
    withCredentials: (username, password) => `${scheme}://${encodeURIComponent(username)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
  };
}

/** An HTTP CONNECT proxy; `tunnels` records only the CONNECTs it accepted (credentials right). */
export async function startHttpProxy(t: Test, options: ProxyOptions = {}): Promise<RecordingProxy> {
  // An https.Server is an http.Server too: `proxy` handles CONNECT on either.
  const server = createProxy(options.tls === undefined ? createHttpServer() : createHttpsServer(options.tls));
  const tunnels: string[] = [];
  const expected =
    options.credentials === undefined ? undefined : `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`;
  server.authenticate = (req) => {
    const accepted = expected === undefined || req.headers['proxy-authorization'] === expected;
    if (accepted && req.method === 'CONNECT') tunnels.push(req.url ?? '');
    return accepted;
  };
  closeOnTeardown(t, server);
  return recording(options.tls === undefined ? 'http' : 'https', await listen(server), tunnels);
}

/** A SOCKS5 proxy; `tunnels` records each destination as the client sent it (a name stays a name). */
export async function startSocksProxy(t: Test, options: Pick<ProxyOptions, 'credentials'> = {}): Promise<RecordingProxy> {
  const tunnels: string[] = [];
  const { credentials } = options;
  // simple-socks has only a default export at run time, whatever its typings say.
  const server = socks.createServer({
    ...(credentials === undefined
      ? {}
      : {
          authenticate: (username, password, _socket, callback) =>
            setImmediate(callback, username === credentials.username && password === credentials.password ? undefined : new Error('bad credentials')),
        }),
    connectionFilter: (destination, _origin, callback) => {
      tunnels.push(`${destination.address}:${destination.port}`);
      setImmediate(callback);
    },
  });
  closeOnTeardown(t, server);
  return recording('socks5', await listen(server), tunnels);
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createHttpServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
