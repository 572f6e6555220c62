// The pool's undici connector for a configured forward proxy: a tunnel (dial/tunnel.ts), then TLS
// to the API server inside it, by undici's own connector given the tunnel as its `httpSocket` (as
// undici's ProxyAgent does): same options, SNI, ALPN and session cache. Without a proxy none of
// this runs: the pool keeps undici's own connector.

import type { ConnectionOptions } from 'node:tls';
import { buildConnector } from 'undici';
import { proxyTlsOptions } from '../dial/through-proxy.js';
import { openTunnel } from '../dial/tunnel.js';

export function connectThroughProxy(proxy: URL, options: ConnectionOptions & { timeout: number }): buildConnector.connector {
  const tlsInsideTunnel = buildConnector(options);
  const tls = proxyTlsOptions(options);
  return (target, callback) => {
    const https = target.protocol === 'https:';
    const port = Number(target.port || (https ? 443 : 80));
    // A tunnel failure goes to undici as is; upstream-errors.ts names it for the client.
    openTunnel(proxy, target.hostname, port, { timeoutMs: options.timeout, tls }).then(
      (tunnel) => {
        if (https) tlsInsideTunnel({ ...target, httpSocket: tunnel }, callback);
        else callback(null, tunnel);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
    );
  };
}
