// A throwaway PKI (CA, server and client certificates) for the demo and the tests, made by the
// same code as the proxy's own local CA (src/credentials/certificates).
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, DAY_MS, issueCertificate, type KeyType } from '../src/credentials/certificates/issue.js';

export { issueCertificate, type CertificateRequest } from '../src/credentials/certificates/issue.js';

/** PEM strings of a CA and of a server and a client certificate that it signed. */
export interface Pki {
  caCert: string;
  /** The CA's private key, so that a test can issue more certificates with {@link issueCertificate}. */
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Options of {@link createPki}. */
export interface PkiOptions {
  /** Extra DNS names or IP addresses for the server certificate (always: localhost, 127.0.0.1, ::1). */
  serverNames?: string[];
  /** Default `kube-admin`: the user name the API server sees. */
  clientCommonName?: string;
  /** Default `system:masters`: the group the API server sees. */
  clientOrganization?: string;
  /** Default 365. */
  validDays?: number;
  /**
   * Key type of the server and client keys; the CA is always RSA 2048. Default `ec` (P-256, as
   * k3s issues): it costs ~1 ms where an RSA 2048 key costs ~50–300 ms; `rsa` is what kubeadm uses.
   */
  keyType?: KeyType;
}

/** File names that {@link writePki} and {@link readPki} use inside a directory. */
export const PKI_FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  serverCert: 'server.crt',
  serverKey: 'server.key',
  clientCert: 'client.crt',
  clientKey: 'client.key',
} as const satisfies Record<keyof Pki, string>;

const DEFAULT_SERVER_NAMES = ['localhost', '127.0.0.1', '::1'];

/**
 * Creates a CA, a server certificate for localhost, 127.0.0.1 and ::1 (plus `serverNames`) and
 * a client certificate (CN `kube-admin`, O `system:masters` unless told otherwise).
 */
export function createPki(opts: PkiOptions = {}): Pki {
  const validDays = opts.validDays ?? 365;
  const keyType = opts.keyType ?? 'ec';
  const ca = createCa({ commonName: 'kube-auth-proxy-example-ca', validDays });
  const names = [...DEFAULT_SERVER_NAMES, ...(opts.serverNames ?? [])];
  const server = issueCertificate(ca, { commonName: names[0]!, usage: 'server', names, validDays, keyType });
  const client = issueCertificate(ca, {
    commonName: opts.clientCommonName ?? 'kube-admin',
    organization: opts.clientOrganization ?? 'system:masters',
    usage: 'client',
    validDays,
    keyType,
  });
  return { ...ca, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}

/**
 * Writes a PKI to `dir` (created if missing) under {@link PKI_FILES} names; keys get mode 0600.
 * @returns the paths written (`dir` joined with the file name), keyed like {@link Pki}.
 */
export function writePki(dir: string, pki: Pki): Record<keyof Pki, string> {
  mkdirSync(dir, { recursive: true });
  const paths = {} as Record<keyof Pki, string>;
  for (const [field, file] of Object.entries(PKI_FILES) as [keyof Pki, string][]) {
    paths[field] = join(dir, file);
    writeFileSync(paths[field], pki[field]);
    // chmod as well: writeFileSync's mode applies only when it creates the file.
    chmodSync(paths[field], field.endsWith('Key') ? 0o600 : 0o644);
  }
  return paths;
}

/**
 * Reads a PKI written by {@link writePki}.
 * @returns undefined when a file is missing or a certificate expires within a day.
 */
export function readPki(dir: string): Pki | undefined {
  const paths = Object.values(PKI_FILES).map((file) => join(dir, file));
  if (!paths.every((path) => existsSync(path))) return undefined;
  const pki = Object.fromEntries(
    Object.entries(PKI_FILES).map(([field, file]) => [field, readFileSync(join(dir, file), 'utf8')]),
  ) as unknown as Pki;
  const soon = Date.now() + DAY_MS;
  const certs = [pki.caCert, pki.serverCert, pki.clientCert].map((pem) => new X509Certificate(pem));
  return certs.every((cert) => Date.parse(cert.validTo) > soon) ? pki : undefined;
}
