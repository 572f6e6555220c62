// The upgrade's own connection to the API server: TLS (HTTP/1.1 only) with the credential's
// identity, through the configured proxy if any, timed like the pool's connections.

import { connect as connectTcp, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as connectTls } from 'node:tls';
import { UPSTREAM_CONNECT_TIMEOUT_MS } from '../../config/defaults.js';
import type { UpstreamConfig } from '../../config/proxy-config.js';
import type { TlsIdentity } from '../../credentials/credentials.js';
import { recordConnection, recordReadyConnection, type ConnectionTiming } from '../../observe/timeline.js';
import { dialThroughProxy } from '../../dial/through-proxy.js';
import { tlsConnectOptions } from '../tls-options.js';

export async function dial(upstream: UpstreamConfig, identity: TlsIdentity | undefined): Promise<{ socket: Socket; timing: ConnectionTiming }> {
  const { server } = upstream;
  const port = Number(server.port || (server.protocol === 'https:' ? 443 : 80));
  const host = server.hostname.replace(/^\[|\]$/g, '');
  const tls = server.protocol === 'https:' ? tlsConnectOptions(upstream, identity) : undefined;
  let socket: Socket;
  let timing: ConnectionTiming;
  // Unlike kubectl's upgrade transport (kubernetes/kubernetes#120318), upgrades use the proxy too.
  if (upstream.proxy !== undefined) {
    const startedAt = performance.now();
    socket = await dialThroughProxy(server, tls, upstream.proxy, UPSTREAM_CONNECT_TIMEOUT_MS);
    timing = recordReadyConnection(socket, startedAt);
  } else {
    socket = tls !== undefined ? connectTls({ ...tls, host, port }) : connectTcp({ host, port });
    timing = recordConnection(socket, tls !== undefined);
  }
  timing.used = true;
  if (upstream.keepaliveMs > 0) socket.setKeepAlive(true, upstream.keepaliveMs);
  // Errors after the response head is read end in 'close', which closes both sides; this
  // listener only keeps a late reset from becoming an uncaught exception.
  socket.on('error', () => socket.destroy());
  return { socket, timing };
}
