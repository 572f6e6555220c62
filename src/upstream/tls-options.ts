// TLS options for every connection to the API server, pooled or upgraded: the kubeconfig's
// material, loaded once at start, and HTTP/1.1 only (kubectl keeps upgrades on HTTP/1.1 too).
// A client certificate from an exec plugin replaces the kubeconfig's.

import type { ConnectionOptions } from 'node:tls';
import type { UpstreamConfig } from '../config/proxy-config.js';
import type { TlsIdentity } from '../credentials/credentials.js';

export function tlsConnectOptions(upstream: UpstreamConfig, identity?: TlsIdentity): ConnectionOptions {
  const tls = upstream.tls;
  return {
    ca: tls?.ca,
    cert: identity?.cert ?? tls?.cert,
    key: identity?.key ?? tls?.key,
    servername: tls?.servername,
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
    ALPNProtocols: ['http/1.1'],
  };
}
