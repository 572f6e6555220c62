// TLS options for every connection to the API server, pooled or upgraded: the kubeconfig's
// material, loaded once at start, and HTTP/1.1 only (kubectl keeps upgrades on HTTP/1.1 too).

import type { ConnectionOptions } from 'node:tls';
import type { UpstreamConfig } from '../config/proxy-config.js';

export function tlsConnectOptions(upstream: UpstreamConfig): ConnectionOptions {
  const tls = upstream.tls;
  return {
    ca: tls?.ca,
    cert: tls?.cert,
    key: tls?.key,
    servername: tls?.servername,
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
    ALPNProtocols: ['http/1.1'],
  };
}
