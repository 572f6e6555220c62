// A throwaway PKI (CA, server and client certificates) for the demo and the tests: certificates
// are laid out with node-forge, while keys and signatures come from Node's crypto, which is
// far faster than forge's pure-JS RSA (a whole PKI in ~0.2 s instead of several seconds).
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Forge from 'node-forge';

/** node-forge is CommonJS without static named exports, and its typings declare no default export. */
const forge = createRequire(import.meta.url)('node-forge') as typeof Forge;

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
  keyType?: 'rsa' | 'ec';
}

/** What a certificate issued by {@link issueCertificate} is for. */
export interface CertificateRequest {
  commonName: string;
  organization?: string;
  /** `server`: serverAuth and SANs from `names`; `client`: clientAuth. */
  usage: 'server' | 'client';
  names?: string[];
  validDays?: number;
  /** Default `ec`, see {@link PkiOptions.keyType}. */
  keyType?: 'rsa' | 'ec';
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
/** Certificates start a little in the past so that a skewed clock does not reject them. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

interface KeyPair {
  privatePem: string;
  spkiDer: Buffer;
}

/** RSA keys as PKCS#1 and EC keys as SEC1, the formats kubeadm and `openssl genrsa` write. */
function newKeyPair(type: 'rsa' | 'ec'): KeyPair {
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privatePem: pair.privateKey.export({ type: type === 'rsa' ? 'pkcs1' : 'sec1', format: 'pem' }).toString(),
    spkiDer: pair.publicKey.export({ type: 'spki', format: 'der' }),
  };
}

/** `getTBSCertificate` exists in node-forge but is missing from its type definitions. */
function getTbs(cert: Forge.pki.Certificate): Forge.asn1.Asn1 {
  const pki = forge.pki as unknown as { getTBSCertificate(cert: Forge.pki.Certificate): Forge.asn1.Asn1 };
  return pki.getTBSCertificate(cert);
}

/**
 * Signs `cert` with the CA key using Node's crypto. The subject's public key is spliced in as
 * DER because forge can only encode RSA keys; `cert.publicKey` must hold *an* RSA key to let
 * forge build the rest of the TBSCertificate.
 */
function signCertificate(cert: Forge.pki.Certificate, spkiDer: Buffer, caKey: KeyObject): string {
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  const tbs = getTbs(cert);
  if (typeof tbs.value === 'string') throw new Error('unexpected TBSCertificate shape');
  // TBSCertificate: version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, …
  tbs.value[6] = forge.asn1.fromDer(spkiDer.toString('binary'));
  cert.tbsCertificate = tbs;
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  cert.signature = sign('sha256', tbsDer, caKey).toString('binary');
  return forge.pki.certificateToPem(cert);
}

function newCertificate(subject: Forge.pki.CertificateField[], validDays: number): Forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and without a leading zero byte
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(Date.now() + validDays * DAY_MS);
  cert.setSubject(subject);
  return cert;
}

function subjectOf(commonName: string, organization?: string): Forge.pki.CertificateField[] {
  const fields: Forge.pki.CertificateField[] = [];
  // client-go and the API server read the user from CN and the groups from O.
  if (organization !== undefined) fields.push({ name: 'organizationName', value: organization });
  fields.push({ name: 'commonName', value: commonName });
  return fields;
}

function altNames(names: string[]): { type: number; value?: string; ip?: string }[] {
  return [...new Set(names)].map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name }));
}

function createCa(validDays: number): { caCert: string; caKey: string } {
  const keys = newKeyPair('rsa');
  const cert = newCertificate(subjectOf('kube-auth-proxy-example-ca'), validDays);
  cert.setIssuer(cert.subject.attributes);
  cert.publicKey = forge.pki.publicKeyFromPem(spkiToPem(keys.spkiDer));
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { caCert: signCertificate(cert, keys.spkiDer, createPrivateKey(keys.privatePem)), caKey: keys.privatePem };
}

function spkiToPem(der: Buffer): string {
  return `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PUBLIC KEY-----\n`;
}

/**
 * Issues a certificate signed by the PKI's CA, e.g. a second client identity for a test.
 * @returns the certificate and its private key, as PEM.
 */
export function issueCertificate(ca: Pick<Pki, 'caCert' | 'caKey'>, req: CertificateRequest): { cert: string; key: string } {
  const keyType = req.keyType ?? 'ec';
  const keys = newKeyPair(keyType);
  const caCert = forge.pki.certificateFromPem(ca.caCert);
  const cert = newCertificate(subjectOf(req.commonName, req.organization), req.validDays ?? 365);
  cert.setIssuer(caCert.subject.attributes);
  cert.publicKey = caCert.publicKey; // stand-in only: signCertificate splices in the real key
  const caSki = caCert.generateSubjectKeyIdentifier().getBytes();
  const server = req.usage === 'server';
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    // RSA keys may encipher (TLS 1.2 RSA key exchange); EC keys only sign (RFC 5480 §3).
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: keyType === 'rsa', critical: true },
    { name: 'extKeyUsage', serverAuth: server, clientAuth: !server },
    { name: 'authorityKeyIdentifier', keyIdentifier: caSki },
    ...(server ? [{ name: 'subjectAltName', altNames: altNames(req.names ?? []) }] : []),
  ]);
  return { cert: signCertificate(cert, keys.spkiDer, createPrivateKey(ca.caKey)), key: keys.privatePem };
}

/**
 * Creates a CA, a server certificate for localhost, 127.0.0.1 and ::1 (plus `serverNames`) and
 * a client certificate (CN `kube-admin`, O `system:masters` unless told otherwise).
 */
export function createPki(opts: PkiOptions = {}): Pki {
  const validDays = opts.validDays ?? 365;
  const keyType = opts.keyType ?? 'ec';
  const ca = createCa(validDays);
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
