// The certificate the proxy's own HTTPS listener presents: the user's (--tls-cert-file and
// --tls-private-key-file) or the local CA's (--local-tls). Read and checked at start, so that a
// wrong file is a one-line error naming the flag rather than a failed handshake later.

import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, messageOf } from '../../errors.js';
import { ensureLocalCertificates, type LocalCertificates } from './local-ca.js';

/** What the HTTPS listener serves with. */
export interface ListenerTls {
  readonly cert: string;
  readonly key: string;
  /** The certificate's expiry (ms since the epoch), for the start-up warning and renewal. */
  readonly validTo: number;
  /** Set with --local-tls: where the CA lives, and how to make the certificate again. */
  readonly local?: { readonly dir: string; readonly caPath: string; readonly renewAt: number; readonly createdCa: boolean; readonly issuedCertificate: boolean };
}

function readPem(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`, { cause: err });
  }
}

/** --tls-cert-file and --tls-private-key-file: both PEM, and the key must be the certificate's. */
export function loadTlsFiles(certPath: string, keyPath: string): ListenerTls {
  const cert = readPem('--tls-cert-file', certPath);
  const key = readPem('--tls-private-key-file', keyPath);
  let x509: X509Certificate;
  let privateKey: KeyObject;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`--tls-cert-file: ${certPath} holds no PEM certificate`);
  }
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(`--tls-private-key-file: ${keyPath} holds no PEM private key (an unencrypted one is needed)`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new ConfigError(`--tls-private-key-file: ${keyPath} is not the key of the certificate in ${certPath}`);
  return { cert, key, validTo: Date.parse(x509.validTo) };
}

function fromLocal(dir: string, made: LocalCertificates): ListenerTls {
  const { caPath, renewAt, createdCa, issuedCertificate } = made;
  return { cert: made.cert, key: made.key, validTo: Date.parse(new X509Certificate(made.cert).validTo), local: { dir, caPath, renewAt, createdCa, issuedCertificate } };
}

/** --local-tls: the local CA's certificate for localhost, made or renewed in `dir` as needed. */
export function loadLocalTls(dir: string, now = Date.now()): ListenerTls {
  try {
    return fromLocal(dir, ensureLocalCertificates(dir, now));
  } catch (err) {
    throw new ConfigError(`--certs-dir: cannot keep the local CA in ${dir}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`, { cause: err });
  }
}
