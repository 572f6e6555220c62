// Turns a failure to reach the API server into a ProxyError whose message names the cause and the
// server, in the words Go's client uses (so it reads like kubectl's), never with a secret.

import { ProxyError } from '../errors.js';

interface CodedError extends Error {
  code?: string;
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

/** The innermost error with a `code`, since undici wraps socket errors. */
function codedCause(err: unknown): CodedError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (typeof (current as CodedError).code === 'string') return current;
    current = current.cause;
  }
  return undefined;
}

function describe(err: CodedError, server: URL): { status: number; reason: ProxyError['reason']; text: string } {
  const code = err.code ?? '';
  const hostPort = server.host;
  if (UNKNOWN_AUTHORITY.has(code)) return { status: 502, reason: 'BadGateway', text: 'x509: certificate signed by unknown authority' };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return { status: 502, reason: 'BadGateway', text: 'x509: certificate has expired or is not yet valid' };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return { status: 502, reason: 'BadGateway', text: `x509: certificate is not valid for the server name (${err.message})` };
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return { status: 502, reason: 'BadGateway', text: `tls: ${err.message}` };
  }
  if (code === 'ECONNREFUSED') return { status: 503, reason: 'ServiceUnavailable', text: `dial tcp ${hostPort}: connect: connection refused` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return { status: 503, reason: 'ServiceUnavailable', text: `dial tcp: lookup ${server.hostname}: no such host` };
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return { status: 503, reason: 'ServiceUnavailable', text: `dial tcp ${hostPort}: connect: no route to host` };
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { status: 504, reason: 'Timeout', text: `dial tcp ${hostPort}: i/o timeout` };
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return { status: 504, reason: 'Timeout', text: 'the API server did not answer within --request-timeout' };
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
    return { status: 502, reason: 'BadGateway', text: `connection reset by the API server (${err.message})` };
  }
  return { status: 502, reason: 'BadGateway', text: err.message };
}

/** Maps an error raised before any response byte reached the client. */
export function toProxyError(err: unknown, server: URL): ProxyError {
  if (err instanceof ProxyError) return err;
  const coded = codedCause(err) ?? { name: 'Error', message: err instanceof Error ? err.message : String(err) };
  const { status, reason, text } = describe(coded, server);
  return new ProxyError(status, reason, `${text} (server ${server.origin})`, { cause: err });
}
