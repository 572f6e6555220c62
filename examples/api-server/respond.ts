// Response and request-body helpers shared by the example API server's routes, shaped like
// kube-apiserver's answers (JSON bodies, `Status` objects for errors).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the server learnt from a request body it read to the end. */
export interface BodyInfo {
  bytes: number;
  sha256: string;
  /** The bytes themselves, or undefined when there were more than the limit given to {@link readBody}. */
  content?: Buffer;
}

/** `reason` of a Kubernetes `Status` for each HTTP code (apimachinery's StatusReason). */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'AlreadyExists',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** Sends `value` as a JSON body with its length (kube-apiserver answers lists and objects whole). */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

/** A Kubernetes `Status` object, in kube-apiserver's field order. */
export function statusObject(code: number, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  const success = code < 400;
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: success ? 'Success' : 'Failure',
    message,
    ...(success ? {} : { reason: REASONS[code] ?? 'Unknown' }),
    ...(details ? { details } : {}),
    code,
  };
}

/** Answers with a `Status` body; 204 and 304 get none, as HTTP requires. */
export function sendStatus(res: ServerResponse, code: number, message: string, details?: Record<string, unknown>): void {
  if (code === 204 || code === 304) {
    res.writeHead(code).end();
    return;
  }
  sendJson(res, code, statusObject(code, message, details));
}

/**
 * Reads a request body to the end, hashing it as it streams, so that an upload of any size costs
 * no memory beyond `keepLimit` bytes.
 */
export function readBody(req: IncomingMessage, keepLimit: number): Promise<BodyInfo> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let chunks: Buffer[] | undefined = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (chunks && bytes <= keepLimit) chunks.push(chunk);
      else chunks = undefined;
    });
    req.once('end', () => {
      resolve({ bytes, sha256: hash.digest('hex'), content: chunks ? Buffer.concat(chunks) : undefined });
    });
    req.once('error', reject);
  });
}

/** Parses a query parameter as a non-negative integer, or returns undefined. */
export function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}
