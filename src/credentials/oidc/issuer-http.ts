// One bounded HTTP exchange with an OIDC issuer: TLS verified against the configured roots (or
// Node's defaults), TLS 1.2 at least as in client-go, a fresh connection each time (refreshes are
// rare), and a response body capped at 1 MiB as oauth2's `io.LimitReader(body, 1<<20)`.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { dialThroughProxy } from '../../dial/through-proxy.js';
import type { IssuerClient } from './oidc-settings.js';

/** client-go's dial timeout; the whole refresh is bounded by the caller's signal as well. */
const ISSUER_CONNECT_TIMEOUT_MS = 30_000;

const MAX_BODY_BYTES = 1 << 20;

export interface IssuerRequest {
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface IssuerResponse {
  readonly status: number;
  /** e.g. `404 Not Found`, as Go prints `resp.Status`. */
  readonly statusLine: string;
  readonly contentType: string;
  readonly body: string;
}

/**
 * Sends one request, through the client's forward proxy when one applies; rejects on network,
 * TLS or size errors, and when `signal` aborts (the caller tells a timeout apart by looking at its
 * signal). The error messages are Node's and never carry the request body.
 */
export async function issuerRequest(url: URL, req: IssuerRequest, client: Pick<IssuerClient, 'ca' | 'proxyFor'>, signal: AbortSignal): Promise<IssuerResponse> {
  const https = url.protocol === 'https:';
  const tls: ConnectionOptions | undefined = https ? { minVersion: 'TLSv1.2', ...(client.ca === undefined ? {} : { ca: client.ca }) } : undefined;
  const proxy = client.proxyFor?.(url);
  // Through a proxy the tunnel (and TLS inside it) is opened first; plain HTTP then runs over it.
  const tunnel = proxy === undefined ? undefined : await dialThroughProxy(url, tls, proxy, ISSUER_CONNECT_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    const options = {
      method: req.method,
      headers: { ...req.headers, ...(req.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(req.body)) }) },
      signal,
      // A fresh connection each time (refreshes are rare); Node honours createConnection only without an agent.
      ...(tunnel === undefined ? { agent: false as const, ...tls } : { createConnection: () => tunnel }),
    };
    const onResponse = (res: IncomingMessage) => void readResponse(res).then(resolve, reject);
    const outgoing =
      tunnel !== undefined
        ? // The tunnel carries TLS already: plain HTTP framing over it, to the issuer's host and path.
          httpRequest({ ...options, host: url.hostname, port: url.port, path: url.pathname + url.search, headers: { ...options.headers, host: url.host } }, onResponse)
        : https
          ? httpsRequest(url, options, onResponse)
          : httpRequest(url, options, onResponse);
    outgoing.once('error', reject);
    outgoing.end(req.body);
  });
}

async function readResponse(res: IncomingMessage): Promise<IssuerResponse> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      res.destroy();
      throw new Error('response body larger than 1 MiB');
    }
    chunks.push(chunk);
  }
  const status = res.statusCode ?? 0;
  return {
    status,
    statusLine: `${status} ${res.statusMessage ?? ''}`.trim(),
    contentType: res.headers['content-type'] ?? '',
    body: Buffer.concat(chunks).toString('utf8'),
  };
}
