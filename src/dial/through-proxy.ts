// A socket to a server through a forward proxy: a tunnel (tunnel.ts), then TLS (HTTP/1.1 only) to
// the server inside it when the server is https. Used by upgrades and by OIDC refreshes; the
// pool's undici connector (upstream/proxy-connector.ts) opens tunnels the same way.

import type { Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { hostOf, portOf } from './choose-proxy.js';
import { openTunnel } from './tunnel.js';

/** The TLS handshake inside the tunnel took too long (Go: `net/http: TLS handshake timeout`). */
export class HandshakeTimeoutError extends Error {
  override readonly name = 'HandshakeTimeoutError';
  readonly code = 'ERR_TLS_HANDSHAKE_TIMEOUT';
}

/**
 * What an https proxy's certificate is checked with: Go dials it with the transport's TLS config,
 * so the cluster's CA and insecure flag apply. The client certificate is not offered to it.
 */
export function proxyTlsOptions(target: ConnectionOptions | undefined): ConnectionOptions {
  return {
    ...(target?.ca === undefined ? {} : { ca: target.ca }),
    rejectUnauthorized: target?.rejectUnauthorized ?? true,
  };
}

/**
 * Resolves once the tunnel is open and, for https, the handshake done. Rejects with
 * ProxyTunnelError (tunnel.ts), HandshakeTimeoutError or the TLS error itself.
 */
export async function dialThroughProxy(server: URL, tls: ConnectionOptions | undefined, proxy: URL, timeoutMs: number): Promise<Socket> {
  const host = hostOf(server);
  const tunnel = await openTunnel(proxy, host, portOf(server), { timeoutMs, tls: proxyTlsOptions(tls) });
  if (server.protocol !== 'https:') return tunnel;
  return handshake(connectTls({ ...tls, socket: tunnel, host, ALPNProtocols: ['http/1.1'] }), timeoutMs);
}

function handshake(socket: TLSSocket, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new HandshakeTimeoutError('net/http: TLS handshake timeout')), timeoutMs);
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}
