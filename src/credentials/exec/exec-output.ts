// Reads what a plugin printed (an `ExecCredential`), with client-go's checks and wording
// (exec.go `refreshCredsLocked`). Messages never quote the output: it holds the secret.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { TlsIdentity } from '../credentials.js';

export interface PluginCredential {
  readonly token?: string;
  readonly tlsIdentity?: TlsIdentity;
  /** Milliseconds since the epoch; absent: valid until the API server says otherwise. */
  readonly expiresAt?: number;
}

/** RFC 3339, as Go's `metav1.Time` accepts it. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function optionalString(status: Record<string, unknown>, field: string): string | undefined {
  const value = status[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`decoding stdout: status.${field}: expected a string`);
  return value;
}

function parseExpiry(status: Record<string, unknown>): number | undefined {
  const value = optionalString(status, 'expirationTimestamp');
  if (value === undefined) return undefined;
  const time = RFC3339.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) throw new Error(`decoding stdout: status.expirationTimestamp: not an RFC 3339 time`);
  return time;
}

function parseTlsIdentity(certPem: string, keyPem: string): TlsIdentity {
  try {
    const cert = Buffer.from(certPem);
    const key = Buffer.from(keyPem);
    const privateKey = createPrivateKey(key);
    if (!new X509Certificate(cert).checkPrivateKey(privateKey)) throw new Error('private key does not match public key');
    return { cert, key };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`failed parsing client key/certificate: ${reason}`, { cause: err });
  }
}

/** @throws Error with client-go's message for each way the output can be wrong. */
export function parseExecOutput(stdout: string, apiVersion: string): PluginCredential {
  let decoded: unknown;
  try {
    decoded = JSON.parse(stdout);
  } catch {
    // V8's message quotes the text around the fault, which may be the secret itself.
    throw new Error(`decoding stdout: not valid JSON (${Buffer.byteLength(stdout)} bytes)`);
  }
  const object = asRecord(decoded);
  if (object === undefined) throw new Error('decoding stdout: expected a JSON object');
  const gotVersion = object.apiVersion;
  if (typeof gotVersion !== 'string' || gotVersion === '') throw new Error("decoding stdout: Object 'apiVersion' is missing");
  if (object.kind !== 'ExecCredential') throw new Error(`decoding stdout: expected kind "ExecCredential", got ${JSON.stringify(object.kind ?? '')}`);
  if (gotVersion !== apiVersion) {
    throw new Error(`exec plugin is configured to use API version ${apiVersion}, plugin returned version ${gotVersion}`);
  }
  const status = asRecord(object.status);
  if (status === undefined) throw new Error("exec plugin didn't return a status field");
  const token = optionalString(status, 'token');
  const cert = optionalString(status, 'clientCertificateData');
  const key = optionalString(status, 'clientKeyData');
  if (token === undefined && cert === undefined && key === undefined) {
    throw new Error("exec plugin didn't return a token or cert/key pair");
  }
  if ((cert === undefined) !== (key === undefined)) throw new Error('exec plugin returned only certificate or key, not both');
  const expiresAt = parseExpiry(status);
  return {
    ...(token === undefined ? {} : { token }),
    ...(cert === undefined || key === undefined ? {} : { tlsIdentity: parseTlsIdentity(cert, key) }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
}
