// Certificates for a CA of our own: the local HTTPS listener's (--local-tls), and the example API
// server's and the tests'. node-forge lays the certificates out; keys and signatures come from
// Node's crypto, far faster than forge's pure-JS RSA (a whole PKI in ~0.2 s, not several seconds).

import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type * as Forge from 'node-forge';

const require = createRequire(import.meta.url);
let loaded: typeof Forge | undefined;
/**
 * node-forge, loaded on first use: only --local-tls and the examples issue certificates, and
 * loading it costs the proxy about 10 MiB of RSS. (CommonJS without static named exports, and its
 * typings declare no default export.)
 */
const forge = (): typeof Forge => (loaded ??= require('node-forge') as typeof Forge);

export type KeyType = 'rsa' | 'ec';

/** A certificate and its private key, as PEM. */
export interface IssuedCertificate {
  readonly cert: string;
  readonly key: string;
}

/** What a CA made by {@link createCa} is called and may sign. */
export interface CaRequest {
  readonly commonName: string;
  readonly validDays: number;
  /**
   * The only names the CA may sign for (RFC 5280 name constraints, critical): DNS names, and IP
   * addresses as `127.0.0.0/8` or `::1/128`. A CA that a user trusts in their browser can then
   * never vouch for a real site, even if its key leaks.
   */
  readonly permittedNames?: readonly string[];
}

/** What a certificate issued by {@link issueCertificate} is for. */
export interface CertificateRequest {
  commonName: string;
  organization?: string;
  /** `server`: serverAuth and SANs from `names`; `client`: clientAuth. */
  usage: 'server' | 'client';
  names?: readonly string[];
  validDays?: number;
  /**
   * Default `ec` (P-256, as k3s issues): ~1 ms where an RSA 2048 key costs ~50–300 ms; `rsa` is
   * what kubeadm uses.
   */
  keyType?: KeyType;
}

/** Certificates start a little in the past so that a skewed clock does not reject them. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
export const DAY_MS = 24 * 60 * 60 * 1000;

interface KeyPair {
  privatePem: string;
  spkiDer: Buffer;
}

/** RSA keys as PKCS#1 and EC keys as SEC1, the formats kubeadm and `openssl genrsa` write. */
function newKeyPair(type: KeyType): KeyPair {
  const pair = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privatePem: pair.privateKey.export({ type: type === 'rsa' ? 'pkcs1' : 'sec1', format: 'pem' }).toString(),
    spkiDer: pair.publicKey.export({ type: 'spki', format: 'der' }),
  };
}

/** `getTBSCertificate` exists in node-forge but is missing from its type definitions. */
function getTbs(cert: Forge.pki.Certificate): Forge.asn1.Asn1 {
  const pki = forge().pki as unknown as { getTBSCertificate(cert: Forge.pki.Certificate): Forge.asn1.Asn1 };
  return pki.getTBSCertificate(cert);
}

/**
 * Signs `cert` with the CA key using Node's crypto. The subject's public key is spliced in as
 * DER because forge can only encode RSA keys; `cert.publicKey` must hold *an* RSA key to let
 * forge build the rest of the TBSCertificate.
 */
function signCertificate(cert: Forge.pki.Certificate, spkiDer: Buffer, caKey: KeyObject): string {
  cert.signatureOid = cert.siginfo.algorithmOid = forge().pki.oids.sha256WithRSAEncryption!;
  const tbs = getTbs(cert);
  if (typeof tbs.value === 'string') throw new Error('unexpected TBSCertificate shape');
  // TBSCertificate: version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, …
  tbs.value[6] = forge().asn1.fromDer(spkiDer.toString('binary'));
  cert.tbsCertificate = tbs;
  const tbsDer = Buffer.from(forge().asn1.toDer(tbs).getBytes(), 'binary');
  cert.signature = sign('sha256', tbsDer, caKey).toString('binary');
  return forge().pki.certificateToPem(cert);
}

function newCertificate(subject: Forge.pki.CertificateField[], validDays: number): Forge.pki.Certificate {
  const cert = forge().pki.createCertificate();
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and without a leading zero byte
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(Date.now() + validDays * DAY_MS);
  cert.setSubject(subject);
  return cert;
}

function subjectOf(commonName: string, organization?: string): Forge.pki.CertificateField[] {
  // UTF8String (RFC 5280 §4.1.2.4), not forge's default PrintableString, which cannot hold `@` or
  // `_` (a user or host name in the local CA's name), and which Chrome then refuses to parse.
  // (forge's typings call this field a tag class; forge reads it as the value's ASN.1 type.)
  const utf8 = forge().asn1.Type.UTF8 as unknown as Forge.asn1.Class;
  const fields: Forge.pki.CertificateField[] = [];
  // client-go and the API server read the user from CN and the groups from O.
  if (organization !== undefined) fields.push({ name: 'organizationName', value: organization, valueTagClass: utf8 });
  fields.push({ name: 'commonName', value: commonName, valueTagClass: utf8 });
  return fields;
}

function altNames(names: readonly string[]): { type: number; value?: string; ip?: string }[] {
  return [...new Set(names)].map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name }));
}

function spkiToPem(der: Buffer): string {
  return `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PUBLIC KEY-----\n`;
}

/** An address and its mask as the bytes of an iPAddress name constraint (RFC 5280 §4.2.1.10). */
function addressAndMask(cidr: string): string {
  const [address = '', bitsText] = cidr.split('/');
  const bytes = isIP(address) === 4 ? address.split('.').map(Number) : ipv6Bytes(address);
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  const mask = bytes.map((_, i) => Math.max(0, Math.min(8, bits - i * 8))).map((n) => (0xff << (8 - n)) & 0xff);
  return String.fromCharCode(...bytes, ...mask);
}

function ipv6Bytes(address: string): number[] {
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const front = groups(head);
  const back = address.includes('::') ? groups(tail) : [];
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** The NameConstraints extension value: permitted subtrees only. */
function nameConstraints(names: readonly string[]): Forge.asn1.Asn1 {
  const { asn1 } = forge();
  const subtree = (name: string) => {
    const ip = isIP(name.split('/')[0] ?? '') !== 0;
    // GeneralName: dNSName [2] IA5String, iPAddress [7] OCTET STRING, both implicitly tagged.
    const general = asn1.create(asn1.Class.CONTEXT_SPECIFIC, ip ? 7 : 2, false, ip ? addressAndMask(name) : name);
    return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [general]);
  };
  const permitted = asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, names.map(subtree));
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [permitted]);
}

/** A self-signed RSA 2048 CA (RSA, so that forge can lay out the certificates it signs). */
export function createCa(req: CaRequest): { caCert: string; caKey: string } {
  const keys = newKeyPair('rsa');
  const cert = newCertificate(subjectOf(req.commonName), req.validDays);
  cert.setIssuer(cert.subject.attributes);
  cert.publicKey = forge().pki.publicKeyFromPem(spkiToPem(keys.spkiDer));
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    ...(req.permittedNames === undefined ? [] : [{ id: '2.5.29.30', critical: true, value: nameConstraints(req.permittedNames) }]),
  ]);
  return { caCert: signCertificate(cert, keys.spkiDer, createPrivateKey(keys.privatePem)), caKey: keys.privatePem };
}

/** Issues a certificate signed by the CA `ca`. */
export function issueCertificate(ca: { readonly caCert: string; readonly caKey: string }, req: CertificateRequest): IssuedCertificate {
  const keyType = req.keyType ?? 'ec';
  const keys = newKeyPair(keyType);
  const caCert = forge().pki.certificateFromPem(ca.caCert);
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
