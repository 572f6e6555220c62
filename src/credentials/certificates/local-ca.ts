// --local-tls: a CA of the user's own, kept across runs, and a certificate for localhost, 127.0.0.1
// and ::1 that it signs, renewed well before it expires. The user trusts the CA once (in the system
// store or a browser profile) and every later certificate is trusted with it. The CA may sign for
// loopback names only (name constraints), so trusting it cannot expose any real site.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { createCa, DAY_MS, issueCertificate } from './issue.js';

/** The names the local certificate is for, and all that the local CA may ever sign. */
export const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'] as const;
const PERMITTED_NAMES = ['localhost', '127.0.0.0/8', '::1/128'];

const CA_VALID_DAYS = 10 * 365;
/** About a year, like mkcert's leaves; reissued when less than {@link RENEW_WITHIN_DAYS} remain. */
const LEAF_VALID_DAYS = 365;
export const RENEW_WITHIN_DAYS = 30;

export const LOCAL_CA_FILES = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'localhost.crt', key: 'localhost.key' } as const;

/** What {@link ensureLocalCertificates} found or made. */
export interface LocalCertificates {
  readonly caPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
  /** When the certificate is due for renewal (ms since the epoch). */
  readonly renewAt: number;
  readonly createdCa: boolean;
  readonly issuedCertificate: boolean;
}

interface Pair {
  readonly cert: string;
  readonly key: string;
  readonly x509: X509Certificate;
}

/** A certificate and its key read from disk, if both are there, parse, and belong together. */
function readPair(certPath: string, keyPath: string): Pair | undefined {
  try {
    const cert = readFileSync(certPath, 'utf8');
    const key = readFileSync(keyPath, 'utf8');
    const x509 = new X509Certificate(cert);
    return x509.checkPrivateKey(createPrivateKey(key)) ? { cert, key, x509 } : undefined;
  } catch {
    return undefined;
  }
}

function expiresBefore(x509: X509Certificate, time: number): boolean {
  return Date.parse(x509.validTo) <= time;
}

/** Written to a temporary name and renamed, so that a proxy starting at the same time never reads half a file. */
function writeAtomically(path: string, text: string, mode: number): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, path);
}

function coversLocalNames(x509: X509Certificate): boolean {
  return LOCAL_NAMES.every((name) => (name.includes(':') || /^\d/.test(name) ? x509.checkIP(name) : x509.checkHost(name)) !== undefined);
}

/**
 * Reads the local CA and certificate in `dir`, making what is missing, expiring or no longer
 * matching. The directory is created 0700 and keys are written 0600.
 */
export function ensureLocalCertificates(dir: string, now = Date.now()): LocalCertificates {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = {
    caCert: join(dir, LOCAL_CA_FILES.caCert),
    caKey: join(dir, LOCAL_CA_FILES.caKey),
    cert: join(dir, LOCAL_CA_FILES.cert),
    key: join(dir, LOCAL_CA_FILES.key),
  };
  let ca = readPair(paths.caCert, paths.caKey);
  const createdCa = ca === undefined || expiresBefore(ca.x509, now + LEAF_VALID_DAYS * DAY_MS);
  if (createdCa) {
    const made = createCa({ commonName: `kube-auth-proxy local CA ${userInfo().username}@${hostname()}`, validDays: CA_VALID_DAYS, permittedNames: PERMITTED_NAMES });
    writeAtomically(paths.caKey, made.caKey, 0o600);
    writeAtomically(paths.caCert, made.caCert, 0o644);
    ca = { cert: made.caCert, key: made.caKey, x509: new X509Certificate(made.caCert) };
  }
  const caPair = ca!;
  let leaf = readPair(paths.cert, paths.key);
  const issuedCertificate =
    createdCa ||
    leaf === undefined ||
    !leaf.x509.checkIssued(caPair.x509) ||
    !leaf.x509.verify(caPair.x509.publicKey) ||
    !coversLocalNames(leaf.x509) ||
    expiresBefore(leaf.x509, now + RENEW_WITHIN_DAYS * DAY_MS);
  if (issuedCertificate) {
    const made = issueCertificate({ caCert: caPair.cert, caKey: caPair.key }, { commonName: 'localhost', usage: 'server', names: LOCAL_NAMES, validDays: LEAF_VALID_DAYS });
    writeAtomically(paths.key, made.key, 0o600);
    writeAtomically(paths.cert, made.cert, 0o644);
    leaf = { ...made, x509: new X509Certificate(made.cert) };
  }
  const current = leaf!;
  return {
    caPath: paths.caCert,
    certPath: paths.cert,
    keyPath: paths.key,
    cert: current.cert,
    key: current.key,
    renewAt: Date.parse(current.x509.validTo) - RENEW_WITHIN_DAYS * DAY_MS,
    createdCa,
    issuedCertificate,
  };
}

/** One line each: how to trust the CA system-wide (Debian/Ubuntu) and in a Chrome/Chromium or Firefox profile (NSS). */
export function trustCommands(caPath: string): { system: string; browser: string } {
  return {
    system: `sudo cp '${caPath}' /usr/local/share/ca-certificates/kube-auth-proxy.crt && sudo update-ca-certificates`,
    browser: `certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n kube-auth-proxy -i '${caPath}'`,
  };
}
