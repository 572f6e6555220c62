// Helper endpoints under /test/ that the proxy's tests and benchmark use to check what crosses
// the proxy: echo, large and chunked bodies, uploads, arbitrary statuses, hangs, gzip, big lists.
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { patternChunks } from './bytes.js';
import { MAX_LIST_BYTES, listBody } from './pod-list.js';
import type { RequestContext, Route } from './context.js';
import { intParam, sendJson, sendStatus } from './respond.js';

/** Bodies of `/test/list?bytes=N` are built once per size; a few sizes are kept. */
let gzipBodies: { plain: Buffer; gzipped: Buffer } | undefined;

function serveGzip(ctx: RequestContext): void {
  if (!gzipBodies) {
    const plain = listBody(8 * 1024);
    gzipBodies = { plain, gzipped: gzipSync(plain) };
  }
  const accepts = /(^|[\s,])gzip\s*(;|,|$)/i.test(String(ctx.req.headers['accept-encoding'] ?? ''));
  const body = accepts ? gzipBodies.gzipped : gzipBodies.plain;
  ctx.res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
    Vary: 'Accept-Encoding',
    ...(accepts ? { 'Content-Encoding': 'gzip' } : {}),
  });
  ctx.res.end(body);
}

/** The chunks, each counted once the response has taken it (pipeline asks for the next one only then). */
function* counted(chunks: Iterable<Buffer>, seen: { bytesServed: number } | undefined): Generator<Buffer> {
  for (const chunk of chunks) {
    yield chunk;
    if (seen) seen.bytesServed += chunk.length;
  }
}

function serveBytes(ctx: RequestContext): void {
  const { query, res } = ctx;
  const size = intParam(query, 'size');
  if (size === undefined) return sendStatus(res, 400, 'size must be a non-negative integer');
  const chunked = query.get('chunked') === '1';
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', ...(chunked ? {} : { 'Content-Length': size }) });
  // pipeline gives backpressure and stops generating when the client leaves.
  pipeline(counted(patternChunks(size, intParam(query, 'chunk')), ctx.seen), res).catch(() => res.destroy());
}

function serveStatusCode(ctx: RequestContext, raw: string): void {
  const code = /^\d{3}$/.test(raw) ? Number(raw) : 0;
  if (code < 200 || code > 599) return sendStatus(ctx.res, 400, `unsupported status code "${raw}"`);
  sendStatus(ctx.res, code, `status ${code} as requested`);
}

function serveList(ctx: RequestContext): void {
  const bytes = intParam(ctx.query, 'bytes') ?? 100 * 1024;
  if (bytes > MAX_LIST_BYTES) return sendStatus(ctx.res, 400, `bytes must be at most ${MAX_LIST_BYTES}`);
  const body = listBody(bytes);
  ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length }).end(body);
}

function serveEcho(ctx: RequestContext): void {
  const { method, req, body, identity } = ctx;
  const { user, authKind } = identity;
  sendJson(ctx.res, 200, { method, url: req.url, headers: req.headers, bodyBytes: body.bytes, bodySha256: body.sha256, user, authKind });
}

function serveUpload(ctx: RequestContext): void {
  sendJson(ctx.res, 200, { bytes: ctx.body.bytes, sha256: ctx.body.sha256 });
}

/** `/test/headers?set=Name:value&set=…`: a JSON answer with those response headers, as a pod behind a proxy might set them. */
function serveHeaders(ctx: RequestContext): void {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  for (const pair of ctx.query.getAll('set')) {
    const colon = pair.indexOf(':');
    if (colon > 0) headers[pair.slice(0, colon)] = pair.slice(colon + 1);
  }
  ctx.res.writeHead(200, headers).end('{}');
}

/**
 * `/test/trickle?headersAfterMs=H&chunks=N&everyMs=M`: a slow server. The headers come after H ms,
 * then N lines of body one every M ms (with a Content-Length: not a stream, a slow answer).
 */
function serveTrickle(ctx: RequestContext): void {
  const { query, res } = ctx;
  const every = intParam(query, 'everyMs') ?? 0;
  const lines = Array.from({ length: intParam(query, 'chunks') ?? 0 }, (_, index) => `chunk ${index}\n`);
  const length = lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0);
  const step = () => {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': length }).flushHeaders();
    const line = lines.shift();
    if (line === undefined) return void res.end();
    res.write(line);
    timer = setTimeout(step, every);
  };
  let timer = setTimeout(step, intParam(query, 'headersAfterMs') ?? 0);
  res.once('close', () => clearTimeout(timer));
}

/** /test/hang never answers: the socket goes when the client leaves or the server closes. */
function hang(): void {}

const GET = ['GET', 'HEAD'];
/** Each endpoint: the methods it allows (undefined: any), whether it takes a parameter segment, and its handler. */
const TEST_ENDPOINTS: Record<string, { methods?: string[]; param?: true; serve: (ctx: RequestContext, param?: string) => void }> = {
  echo: { serve: serveEcho },
  upload: { methods: ['POST', 'PUT'], serve: serveUpload },
  bytes: { methods: GET, serve: serveBytes },
  status: { methods: GET, param: true, serve: (ctx, code) => serveStatusCode(ctx, code!) },
  hang: { methods: GET, serve: hang },
  trickle: { methods: GET, serve: serveTrickle },
  gzip: { methods: GET, serve: serveGzip },
  list: { methods: GET, serve: serveList },
  headers: { methods: GET, serve: serveHeaders },
};

/** `/test/…` endpoints; see examples/README.md for what each one does. */
export const testRoute: Route = (ctx) => {
  const { segments: s, method, res } = ctx;
  const name = s[0] === 'test' ? s[1] : undefined;
  const endpoint = name !== undefined && Object.hasOwn(TEST_ENDPOINTS, name) ? TEST_ENDPOINTS[name] : undefined;
  if (!endpoint || s.length !== (endpoint.param ? 3 : 2) || s[2] === '') return false;
  if (endpoint.methods && !endpoint.methods.includes(method)) {
    sendStatus(res, 405, 'the server does not allow this method on the requested resource');
  } else {
    endpoint.serve(ctx, s[2]);
  }
  return true;
};
