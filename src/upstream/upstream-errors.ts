// Turns a failure to reach the API server into a ProxyError whose message names the cause and the
// server, in the words Go's client uses (so it reads like kubectl's), never with a secret.

import { ProxyTunnelError } from '../dial/tunnel.js';
import { messageOf, ProxyError, type ErrorCode } from '../errors.js';

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

/** A forward proxy that could not give a tunnel: the message already names the proxy. */
const TUNNEL_CODES: Readonly<Record<ProxyTunnelError['failure'], ErrorCode>> = {
  timeout: 'KAP_PROXY_TIMEOUT',
  unreachable: 'KAP_PROXY_UNREACHABLE',
  refused: 'KAP_PROXY_FAILED',
};

function describe(err: CodedError, server: URL): { code: ErrorCode; text: string } {
  const code = err.code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return { code: 'KAP_UPSTREAM_TLS_TIMEOUT', text: err.message };
  const hostPort = server.host;
  if (UNKNOWN_AUTHORITY.has(code)) return { code: 'KAP_UPSTREAM_UNKNOWN_AUTHORITY', text: 'x509: certificate signed by unknown authority' };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return { code: 'KAP_UPSTREAM_CERT_EXPIRED', text: 'x509: certificate has expired or is not yet valid' };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return { code: 'KAP_UPSTREAM_CERT_NAME', text: `x509: certificate is not valid for the server name (${err.message})` };
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return { code: 'KAP_UPSTREAM_TLS', text: `tls: ${err.message}` };
  if (code === 'ECONNREFUSED') return { code: 'KAP_UPSTREAM_REFUSED', text: `dial tcp ${hostPort}: connect: connection refused` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { code: 'KAP_UPSTREAM_DNS', text: `dial tcp: lookup ${server.hostname}: no such host` };
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { code: 'KAP_UPSTREAM_UNREACHABLE', text: `dial tcp ${hostPort}: connect: no route to host` };
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { code: 'KAP_UPSTREAM_CONNECT_TIMEOUT', text: `dial tcp ${hostPort}: i/o timeout` };
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { code: 'KAP_UPSTREAM_HEADERS_TIMEOUT', text: 'the API server did not answer within --request-timeout' };
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
    return { code: 'KAP_UPSTREAM_RESET', text: `connection reset by the API server (${err.message})` };
  }
  return { code: 'KAP_UPSTREAM_FAILED', text: err.message };
}

/** The tunnel failure in `err` or its causes (undici wraps connector errors). */
function tunnelFailure(err: unknown): ProxyTunnelError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof ProxyTunnelError) return current;
    current = current.cause;
  }
  return undefined;
}

/** Maps an error raised before any response byte reached the client. */
export function toProxyError(err: unknown, server: URL): ProxyError {
  if (err instanceof ProxyError) return err;
  const tunnel = tunnelFailure(err);
  if (tunnel !== undefined) return new ProxyError(TUNNEL_CODES[tunnel.failure], `${tunnel.message} (server ${server.origin})`, { cause: err });
  const coded = codedCause(err) ?? { name: 'Error', message: messageOf(err) };
  const { code, text } = describe(coded, server);
  return new ProxyError(code, `${text} (server ${server.origin})`, { cause: err });
}
