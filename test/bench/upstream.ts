// A bench-only upstream that, like kube-apiserver (and the pre-study's nginx), offers HTTP/2 and
// HTTP/1.1 by ALPN. The example API server speaks HTTP/1.1 only, and against that kubectl
// proxy's Go transport keeps just 2 idle connections and opens a new TLS connection for nearly
// every request at c=64: kubectl would be measured in a state no real cluster puts it in.
import { randomUUID } from 'node:crypto';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { EXAMPLE_VERSION } from '../../examples/api-server.js';
import { MAX_LIST_BYTES, listBody } from '../../examples/api-server/pod-list.js';
import type { Pki } from '../../examples/pki.js';
import { performance } from 'node:perf_hooks';
import { LIST_PATH, UPGRADE_ACK, UPGRADE_PATH, WATCH_EVENT_PATH, WATCH_EVENTS_PATH, WATCH_PATH, WATCH_SENT_ANNOTATION } from './cells.js';

/** In megabytes: room for a few 20 MB lists in flight on kubectl's one h2 connection. */
const SESSION_MEMORY_MB = 1024;
/** kube-apiserver's default (--http2-max-streams-per-connection 0 means 250): more watches need more connections. */
const MAX_CONCURRENT_STREAMS = 250;
const VERSION_BODY = Buffer.from(JSON.stringify(EXAMPLE_VERSION));
/** How often the paced events' timer looks for events that fell due. */
const PACE_TICK_MS = 2;

function send(res: Http2ServerResponse, status: number, body: Buffer): void {
  // kube-apiserver sets both on every response; they keep the header sizes realistic.
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length, 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private' });
  res.end(body);
}

function bodyFor(url: URL): Buffer | undefined {
  if (url.pathname === '/version') return VERSION_BODY;
  const bytes = Number(url.searchParams.get('bytes'));
  if ((url.pathname === '/test/list' || url.pathname === LIST_PATH) && Number.isInteger(bytes) && bytes > 0 && bytes <= MAX_LIST_BYTES) return listBody(bytes);
  return undefined;
}

function authorized(token: string, socket: TLSSocket, authorization: string | undefined): boolean {
  return socket.authorized || authorization === `Bearer ${token}`;
}

/**
 * Answers `GET UPGRADE_PATH?bytes=N` with 101 SPDY/3.1, then reads and drops N bytes and writes
 * UPGRADE_ACK: the client's clock stops only when every byte has crossed the proxy. There is no
 * SPDY framing: the proxies pipe raw bytes after the 101 and never look at them.
 */
function handleUpgrade(token: string, req: IncomingMessage, socket: Socket, head: Buffer): void {
  const url = new URL(req.url ?? '/', 'https://upstream');
  const expected = Number(url.searchParams.get('bytes'));
  const refuse = (status: string): void => void socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  if (!authorized(token, socket as TLSSocket, req.headers.authorization)) return refuse('401 Unauthorized');
  if (url.pathname !== UPGRADE_PATH || !Number.isSafeInteger(expected) || expected <= 0) return refuse('404 Not Found');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received < expected) return;
    socket.off('data', count);
    socket.end(UPGRADE_ACK);
  };
  socket.on('data', count);
  socket.on('error', () => socket.destroy());
  if (head.length > 0) count(head);
}

/** The open watches of WATCH_PATH; one event line reaches them all when the bench asks. */
const watchers = new Set<Http2ServerResponse>();

/** A watch as kube-apiserver starts one: 200, no length, headers flushed before any event. */
function openWatch(res: Http2ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private' });
  // Present at run time on both response kinds; @types/node 20 leaves it out of Http2ServerResponse.
  (res as unknown as { flushHeaders(): void }).flushHeaders();
  watchers.add(res);
  res.once('close', () => watchers.delete(res));
}

/** `POST WATCH_EVENT_PATH?name=X`: one MODIFIED event naming X to every open watch; answers how many. */
function fanOut(url: URL, res: Http2ServerResponse): void {
  const line = `${JSON.stringify({ type: 'MODIFIED', object: { kind: 'Pod', apiVersion: 'v1', metadata: { name: url.searchParams.get('name'), namespace: 'bench' } } })}\n`;
  for (const watcher of watchers) watcher.write(line);
  send(res, 200, Buffer.from(JSON.stringify({ watchers: watchers.size })));
}

/** A MODIFIED event stamped with the time it is written, in µs since the epoch (the Go upstream's format). */
function stampedEvent(): string {
  const sentUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
  const metadata = { name: 'bench-rate', namespace: 'bench', annotations: { [WATCH_SENT_ANNOTATION]: String(sentUs) } };
  return `${JSON.stringify({ type: 'MODIFIED', object: { kind: 'Pod', apiVersion: 'v1', metadata } })}\n`;
}

/**
 * `POST WATCH_EVENTS_PATH?per-second=R&seconds=S`: R events a second to every watch open now, for
 * S seconds, each watch's spread evenly over the second (as the Go upstream does); answers at once.
 */
function paced(url: URL, res: Http2ServerResponse): void {
  const perSecond = Number(url.searchParams.get('per-second'));
  const seconds = Number(url.searchParams.get('seconds'));
  if (!(perSecond > 0 && seconds > 0)) return send(res, 400, Buffer.from('{"kind":"Status","code":400}'));
  const targets = [...watchers];
  const total = Math.trunc(perSecond * seconds) * targets.length;
  const startedAt = performance.now();
  let next = 0;
  // Event k (watch k % n) is due k/n periods after the start.
  const writeDue = () => {
    const due = Math.min(total, Math.floor(((performance.now() - startedAt) * perSecond * targets.length) / 1000) + 1);
    for (; next < due; next++) {
      const watcher = targets[next % targets.length]!;
      if (watchers.has(watcher)) watcher.write(stampedEvent());
    }
    if (next >= total) clearInterval(timer);
  };
  const timer = setInterval(writeDue, PACE_TICK_MS);
  writeDue();
  send(res, 200, Buffer.from(JSON.stringify({ watchers: targets.length })));
}

/** With allowHTTP1 an HTTP/1.1 request arrives as node:http objects, which have the same members used here. */
function handle(token: string, req: Http2ServerRequest, res: Http2ServerResponse): void {
  const certified = (req.socket as TLSSocket).authorized;
  if (!certified && req.headers.authorization !== `Bearer ${token}`) return send(res, 401, Buffer.from('{"kind":"Status","code":401}'));
  const url = new URL(req.url, 'https://upstream');
  if (url.pathname === WATCH_PATH && url.searchParams.get('watch') === '1') return openWatch(res);
  if (url.pathname === WATCH_EVENT_PATH && req.method === 'POST') return fanOut(url, res);
  if (url.pathname === WATCH_EVENTS_PATH && req.method === 'POST') return paced(url, res);
  const body = bodyFor(url);
  send(res, body ? 200 : 404, body ?? Buffer.from('{"kind":"Status","code":404}'));
}

/**
 * Serves `/version`, `/test/list?bytes=N`, watches of WATCH_PATH with their WATCH_EVENT_PATH
 * trigger, and the upgrade of UPGRADE_PATH, to a client certificate chained to the CA or to `token`.
 */
export function startH2Upstream(pki: Pki, token: string): Promise<{ url: string; close: () => void }> {
  const server = createSecureServer(
    {
      ...{ key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: false, allowHTTP1: true },
      // Node refuses new streams with ENHANCE_YOUR_CALM once a session buffers more than this
      // (default 10 MB): a single 20 MB list would do it. Go's server has no such limit.
      maxSessionMemory: SESSION_MEMORY_MB,
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
    },
    (req, res) => handle(token, req, res),
  );
  // With allowHTTP1, Node's HTTP/1.1 parser emits `upgrade` on this server as on an http.Server.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => handleUpgrade(token, req, socket, head));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `https://127.0.0.1:${port}`, close: () => server.close() });
    });
  });
}
