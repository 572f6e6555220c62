// A bench-only upstream that, like kube-apiserver (and the pre-study's nginx), offers HTTP/2 and
// HTTP/1.1 by ALPN. The example API server speaks HTTP/1.1 only, and against that kubectl
// proxy's Go transport keeps just 2 idle connections and opens a new TLS connection for nearly
// every request at c=64: kubectl would be measured in a state no real cluster puts it in.
import { randomUUID } from 'node:crypto';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { EXAMPLE_VERSION } from '../../examples/api-server.js';
import { MAX_LIST_BYTES, listBody } from '../../examples/api-server/pod-list.js';
import type { Pki } from '../../examples/pki.js';

/** In megabytes: room for a few 20 MB lists in flight on kubectl's one h2 connection. */
const SESSION_MEMORY_MB = 1024;
const VERSION_BODY = Buffer.from(JSON.stringify(EXAMPLE_VERSION));

function send(res: Http2ServerResponse, status: number, body: Buffer): void {
  // kube-apiserver sets both on every response; they keep the header sizes realistic.
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length, 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private' });
  res.end(body);
}

function bodyFor(url: URL): Buffer | undefined {
  if (url.pathname === '/version') return VERSION_BODY;
  const bytes = Number(url.searchParams.get('bytes'));
  if (url.pathname === '/test/list' && Number.isInteger(bytes) && bytes > 0 && bytes <= MAX_LIST_BYTES) return listBody(bytes);
  return undefined;
}

/** With allowHTTP1 an HTTP/1.1 request arrives as node:http objects, which have the same members used here. */
function handle(token: string, req: Http2ServerRequest, res: Http2ServerResponse): void {
  const certified = (req.socket as TLSSocket).authorized;
  if (!certified && req.headers.authorization !== `Bearer ${token}`) return send(res, 401, Buffer.from('{"kind":"Status","code":401}'));
  const body = bodyFor(new URL(req.url, 'https://upstream'));
  send(res, body ? 200 : 404, body ?? Buffer.from('{"kind":"Status","code":404}'));
}

/** Serves `/version` and `/test/list?bytes=N` to a client certificate chained to the CA or to `token`. */
export function startH2Upstream(pki: Pki, token: string): Promise<{ url: string; close: () => void }> {
  const server = createSecureServer(
    {
      ...{ key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: false, allowHTTP1: true },
      // Node refuses new streams with ENHANCE_YOUR_CALM once a session buffers more than this
      // (default 10 MB): a single 20 MB list would do it. Go's server has no such limit.
      maxSessionMemory: SESSION_MEMORY_MB,
    },
    (req, res) => handle(token, req, res),
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `https://127.0.0.1:${port}`, close: () => server.close() });
    });
  });
}
