// Loads and checks the TLS material for the API server once at start, with Node's own crypto
// (the same OpenSSL that will use it, so what parses here works on the wire). node-forge is
// only used to *make* certificates, in tests and the demo.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { PemSource, ResolvedCluster, ResolvedUser } from '../kubeconfig/types.js';

function describeSource(field: string, source: PemSource, owner: string): string {
  return 'path' in source ? `${field} ${source.path} for ${owner}` : `${field}-data for ${owner}`;
}

function readPem(field: string, source: PemSource, owner: string): Buffer {
  if (!('path' in source)) return source.data;
  try {
    return readFileSync(source.path);
  } catch (err) {
    const reason = err instanceof Error && 'code' in err && err.code === 'ENOENT' ? 'no such file or directory' : String(err);
    throw new ConfigError(`unable to read ${describeSource(field, source, owner)} due to ${reason}`, { cause: err });
  }
}

function parseCertificates(field: string, source: PemSource, owner: string): Buffer {
  const pem = readPem(field, source, owner);
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks === null) throw new ConfigError(`${describeSource(field, source, owner)}: no PEM certificate found`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new ConfigError(`${describeSource(field, source, owner)}: failed to parse certificate`, { cause: err });
    }
  }
  return pem;
}

function clientIdentity(user: ResolvedUser): { cert?: Buffer; key?: Buffer } {
  if (user.clientCertificate === undefined || user.clientKey === undefined) return {};
  const owner = `user "${user.name}"`;
  const cert = parseCertificates('client-certificate', user.clientCertificate, owner);
  const key = readPem('client-key', user.clientKey, owner);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    // Never echo the key: name the source only.
    throw new ConfigError(`${describeSource('client-key', user.clientKey, owner)}: not a valid PEM private key`, { cause: err });
  }
  if (!new X509Certificate(cert).checkPrivateKey(privateKey)) {
    throw new ConfigError(`client certificate and key for ${owner} do not match`);
  }
  return { cert, key };
}

/** TLS material for connections to the API server, loaded once at start. */
export interface UpstreamTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

/** TLS options for an https server; the CA, when given, replaces the system roots (client-go). */
export function loadUpstreamTls(cluster: ResolvedCluster, user: ResolvedUser, server: URL): UpstreamTls {
  const owner = `cluster "${cluster.name}"`;
  if (cluster.insecureSkipTlsVerify && cluster.certificateAuthority !== undefined) {
    throw new ConfigError(`specifying a root certificates file with the insecure flag is not allowed (${owner})`);
  }
  const ca = cluster.certificateAuthority && parseCertificates('certificate-authority', cluster.certificateAuthority, owner);
  // Node refuses an IP address as SNI; Go sends none for IPs either, and verifies the IP SAN.
  const host = server.hostname.replace(/^\[|\]$/g, '');
  const servername = cluster.tlsServerName ?? (/^[\d.]+$|:/.test(host) ? undefined : host);
  return {
    ...(ca === undefined ? {} : { ca }),
    ...clientIdentity(user),
    ...(servername === undefined ? {} : { servername }),
    rejectUnauthorized: !cluster.insecureSkipTlsVerify,
  };
}
