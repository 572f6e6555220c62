// Helper endpoints under /test/ that the proxy's tests and benchmark use to check what crosses
// the proxy: echo, large and chunked bodies, uploads, arbitrary statuses, hangs, gzip, big lists.
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { patternChunks } from './bytes.js';
import type { RequestContext, Route } from './context.js';
import { intParam, sendJson, sendStatus } from './respond.js';

/** Bodies of `/test/list?bytes=N` are built once per size; a few sizes are kept. */
const LIST_CACHE_SIZE = 4;
const listCache = new Map<number, Buffer>();
/** The largest list `/test/list` builds, to keep a typo from exhausting memory. */
const MAX_LIST_BYTES = 256 * 1024 * 1024;

function benchPod(i: number): string {
  return JSON.stringify({
    metadata: {
      name: `bench-${i}`,
      namespace: 'bench',
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: '2025-01-01T00:00:00Z',
      labels: { app: 'bench', 'pod-template-hash': '5d8f7c9b6' },
    },
    spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: {} }], nodeName: `node-${i % 10}` },
    status: { phase: 'Running', podIP: `10.0.${(i >> 8) & 255}.${i & 255}` },
  });
}

/** A PodList whose JSON is about `bytes` long (it stops at the first pod past the size). */
function listBody(bytes: number): Buffer {
  let body = listCache.get(bytes);
  if (body) return body;
  const items: string[] = [];
  for (let length = 100; length < bytes; ) {
    const pod = benchPod(items.length);
    items.push(pod);
    length += pod.length + 1;
  }
  body = Buffer.from(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1000"},"items":[${items.join(',')}]}`);
  if (listCache.size >= LIST_CACHE_SIZE) listCache.delete(listCache.keys().next().value!);
  listCache.set(bytes, body);
  return body;
}

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

function serveBytes(ctx: RequestContext): void {
  const { query, res } = ctx;
  const size = intParam(query, 'size');
  if (size === undefined) return sendStatus(res, 400, 'size must be a non-negative integer');
  const chunked = query.get('chunked') === '1';
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', ...(chunked ? {} : { 'Content-Length': size }) });
  // pipeline gives backpressure and stops generating when the client leaves.
  pipeline(patternChunks(size, intParam(query, 'chunk')), res).catch(() => res.destroy());
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
  gzip: { methods: GET, serve: serveGzip },
  list: { methods: GET, serve: serveList },
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
