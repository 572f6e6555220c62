// Connections to the API server through the configured proxy, for the pool and for upgrades: a
// tunnel (tunnel.ts), then TLS to the API server inside it when the server is https. Without a
// proxy none of this runs: the pool keeps undici's own connector and upgrades dial directly.

import { connect as connectTls, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import { ProxyError } from '../../errors.js';
import { hostOf, portOf } from './choose-proxy.js';
import { openTunnel, ProxyTunnelError } from './tunnel.js';

/**
 * What an https proxy's certificate is checked with: Go dials it with the transport's TLS config,
 * so the cluster's CA and insecure flag apply. The client certificate is not offered to it.
 */
function proxyTlsOptions(target: ConnectionOptions | undefined): ConnectionOptions {
  return {
    ...(target?.ca === undefined ? {} : { ca: target.ca }),
    rejectUnauthorized: target?.rejectUnauthorized ?? true,
  };
}

/** A tunnel failure as the client will see it; the message already names the proxy. */
function tunnelError(err: unknown, server: string): Error {
  if (!(err instanceof ProxyTunnelError)) return err instanceof Error ? err : new Error(String(err));
  const message = `${err.message} (server ${server})`;
  if (err.failure === 'timeout') return new ProxyError(504, 'Timeout', message, { cause: err });
  if (err.failure === 'unreachable') return new ProxyError(503, 'ServiceUnavailable', message, { cause: err });
  return new ProxyError(502, 'BadGateway', message, { cause: err });
}

/**
 * An undici connector (`new Pool(origin, { connect })`) that opens each connection through
 * `proxy`. TLS inside the tunnel is left to undici's own connector, given the tunnel as its
 * `httpSocket` (as undici's ProxyAgent does): same options, SNI, ALPN and session cache.
 */
export function connectThroughProxy(proxy: URL, options: ConnectionOptions & { timeout: number }): buildConnector.connector {
  const tlsInsideTunnel = buildConnector(options);
  const tls = proxyTlsOptions(options);
  return (target, callback) => {
    const https = target.protocol === 'https:';
    const port = Number(target.port || (https ? 443 : 80));
    openTunnel(proxy, target.hostname, port, { timeoutMs: options.timeout, tls }).then(
      (tunnel) => {
        if (https) tlsInsideTunnel({ ...target, httpSocket: tunnel }, callback);
        else callback(null, tunnel);
      },
      (err: unknown) => callback(tunnelError(err, `${target.protocol}//${target.host ?? target.hostname}`), null),
    );
  };
}

/**
 * A socket to the API server through `proxy`, for an upgrade: TLS (HTTP/1.1 only) inside the
 * tunnel when the server is https, resolved once the handshake is done.
 */
export async function dialThroughProxy(server: URL, tls: ConnectionOptions | undefined, proxy: URL, timeoutMs: number): Promise<Socket> {
  const host = hostOf(server);
  const tunnel = await openTunnel(proxy, host, portOf(server), { timeoutMs, tls: proxyTlsOptions(tls) }).catch((err: unknown) => {
    throw tunnelError(err, server.origin);
  });
  if (server.protocol !== 'https:') return tunnel;
  return handshake(connectTls({ ...tls, socket: tunnel, host, ALPNProtocols: ['http/1.1'] }), timeoutMs, server);
}

/** Resolves once the TLS handshake is done; its errors are the API server's (upstream-errors.ts maps them). */
function handshake(socket: TLSSocket, timeoutMs: number, server: URL): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    // Go's wording (net/http TLSHandshakeTimeout).
    const timer = setTimeout(() => fail(new ProxyError(504, 'Timeout', `net/http: TLS handshake timeout (server ${server.origin})`)), timeoutMs);
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}
