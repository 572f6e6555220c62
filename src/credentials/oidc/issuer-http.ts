// One bounded HTTP exchange with an OIDC issuer: TLS verified against the configured roots (or
// Node's defaults), TLS 1.2 at least as in client-go, a fresh connection each time (refreshes are
// rare), and a response body capped at 1 MiB as oauth2's `io.LimitReader(body, 1<<20)`.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

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
 * Sends one request; rejects on network, TLS or size errors, and when `signal` aborts (the caller
 * tells a timeout apart by looking at its signal). The error messages are Node's and never carry
 * the request body.
 */
export function issuerRequest(url: URL, req: IssuerRequest, ca: Buffer | undefined, signal: AbortSignal): Promise<IssuerResponse> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    const options = {
      method: req.method,
      headers: { ...req.headers, ...(req.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(req.body)) }) },
      agent: false as const,
      signal,
      ...(https ? { minVersion: 'TLSv1.2' as const, ...(ca === undefined ? {} : { ca }) } : {}),
    };
    const onResponse = (res: IncomingMessage) => void readResponse(res).then(resolve, reject);
    const outgoing = https ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
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
