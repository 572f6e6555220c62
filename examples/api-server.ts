// An example Kubernetes API server over HTTPS: the upstream of the demo, the tests and the
// benchmark. It authenticates like kube-apiserver and records what each request looked like.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { authenticate, peerOf, type AuthConfig, type AuthKind } from './api-server/auth.js';
import { parseTarget, type RequestContext, type Route, type UpgradeRequest } from './api-server/context.js';
import { discoveryRoute } from './api-server/discovery.js';
import { execRoute, type ExecSession } from './api-server/exec-websocket.js';
import { podRoute } from './api-server/pod-routes.js';
import { portForwardRoute, type PortForwardStream } from './api-server/portforward.js';
import { PodStore } from './api-server/pods.js';
import { readBody, sendStatus } from './api-server/respond.js';
import { testRoute } from './api-server/test-routes.js';
import { serveUpgrades } from './api-server/upgrades.js';
import type { Pki } from './pki.js';

export { ANONYMOUS_USER, type AuthKind } from './api-server/auth.js';
export { expectedBytesSha256, patternChunks } from './api-server/bytes.js';
export { EXAMPLE_VERSION } from './api-server/discovery.js';
export { EXEC_PROTOCOLS, type ExecSession } from './api-server/exec-websocket.js';
export { SEED_PODS, type Pod, type WatchEvent } from './api-server/pods.js';
export { PORT_FORWARD_PROTOCOL, type PortForwardStream } from './api-server/portforward.js';
export { SPDY_EXEC_PROTOCOL } from './api-server/exec-spdy.js';

/** Options of {@link startApiServer}. */
export interface ApiServerOptions {
  /** Serves with `serverCert`/`serverKey`; verifies client certificates against `caCert`. */
  pki: Pki;
  /** Bearer token → user name. */
  tokens?: Record<string, string>;
  /** Asked for bearer tokens not in `tokens`, e.g. to verify OIDC ID tokens: the user name, or undefined. */
  authenticateToken?: (token: string) => string | undefined;
  /** User name → password. */
  basicAuth?: Record<string, string>;
  /** Default false: without a valid certificate, token or password the answer is 401. */
  allowAnonymous?: boolean;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default true: keep a {@link SeenRequest} per request; the benchmark turns it off. */
  record?: boolean;
}

/** What the server saw of one request; body fields are final once the response has started. */
export interface SeenRequest {
  method: string;
  /** The request target exactly as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  user?: string;
  authKind?: AuthKind;
  /** Subject of the client certificate presented, valid or not, e.g. `O=system:masters,CN=kube-admin`. */
  clientCertSubject?: string;
  bodyBytes: number;
  bodySha256: string;
  /** Trailer fields after a chunked body (name, value, …), once the body is read. */
  rawTrailers: string[];
  /** `/test/bytes`: body bytes handed to the connection so far, which follows the reader's pace. */
  bytesServed: number;
  /** The ALPN protocol of the connection; false when none was negotiated. */
  alpn?: string | false;
}

/** A running example API server. */
export interface ApiServer {
  /** `https://host:port`, without a trailing slash. */
  url: string;
  port: number;
  host: string;
  /** Every request so far, in arrival order (empty when `record` is false). */
  requests: SeenRequest[];
  /** Adds a running pod, as a controller would; watchers see ADDED. Throws if it exists. */
  createPod(namespace: string, name: string): void;
  /** Removes a pod; watchers see DELETED. Throws if it does not exist. */
  deletePod(namespace: string, name: string): void;
  /** How many TLS connections are open now. */
  connections(): number;
  /** Every pods/exec session so far (WebSocket or SPDY/3.1 upgrades that got their 101 and started), in start order. */
  readonly execSessions: readonly ExecSession[];
  /** Every port-forwarded connection (SPDY stream pairs) so far, in start order. */
  readonly portForwards: readonly PortForwardStream[];
  /** Bearer token → user name, as accepted now: tests add and revoke tokens while running. */
  readonly tokens: Map<string, string>;
  /** Stops listening and destroys every connection, open watches and hanging requests included. */
  close(): Promise<void>;
}

/** Bodies up to kube-apiserver's 3 MiB request limit are kept for parsing; larger ones only hashed. */
const MAX_KEPT_BODY = 3 * 1024 * 1024;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ROUTES: readonly Route[] = [discoveryRoute, podRoute, execRoute, portForwardRoute, testRoute];

interface Shared {
  auth: AuthConfig;
  store: PodStore;
  requests: SeenRequest[] | undefined;
  serverAddress: string;
  execSessions: ExecSession[];
  portForwards: PortForwardStream[];
}

function seenRequest(req: IncomingMessage, identity: ReturnType<typeof authenticate>): SeenRequest {
  const socket = req.socket as TLSSocket;
  return {
    method: req.method ?? '',
    url: req.url ?? '',
    headers: { ...req.headers },
    rawHeaders: req.rawHeaders,
    user: identity?.user,
    authKind: identity?.authKind,
    clientCertSubject: peerOf(socket).subject,
    bodyBytes: 0,
    bodySha256: EMPTY_SHA256,
    rawTrailers: [],
    bytesServed: 0,
    alpn: socket.alpnProtocol ?? false,
  };
}

async function handleRequest(shared: Shared, req: IncomingMessage, res: ServerResponse, upgrade?: UpgradeRequest): Promise<void> {
  // kube-apiserver keeps a client's Audit-ID and otherwise makes one up, on every response.
  const auditId = req.headers['audit-id'];
  res.setHeader('Audit-Id', typeof auditId === 'string' && auditId !== '' ? auditId : randomUUID());
  res.setHeader('Cache-Control', 'no-cache, private');
  const identity = authenticate(req, shared.auth);
  const seen = shared.requests ? seenRequest(req, identity) : undefined;
  if (seen) shared.requests?.push(seen);
  const body = await readBody(req, MAX_KEPT_BODY);
  if (seen) Object.assign(seen, { bodyBytes: body.bytes, bodySha256: body.sha256, rawTrailers: req.rawTrailers });
  if (!identity) return sendStatus(res, 401, 'Unauthorized');
  const { segments, query } = parseTarget(req.url ?? '/');
  const ctx: RequestContext = { req, res, method: req.method ?? 'GET', segments, query, body, identity, ...shared, upgrade, ...(seen ? { seen } : {}) };
  if (!ROUTES.some((route) => route(ctx))) sendStatus(res, 404, 'the server could not find the requested resource');
}

function trackSockets(server: Server): { all: Set<Socket>; tls: Set<TLSSocket> } {
  const all = new Set<Socket>();
  const tls = new Set<TLSSocket>();
  server.on('connection', (socket: Socket) => {
    all.add(socket);
    socket.once('close', () => all.delete(socket));
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    tls.add(socket);
    socket.once('close', () => tls.delete(socket));
  });
  return { all, tls };
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stops listening, destroys every socket and resolves once all of them have closed. */
async function closeServer(server: Server, sockets: { all: Set<Socket>; tls: Set<TLSSocket> }): Promise<void> {
  const open = [...sockets.tls, ...sockets.all];
  const closed = Promise.all([
    new Promise<void>((resolve) => server.close(() => resolve())),
    ...open.map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()))),
  ]);
  for (const socket of open) socket.destroy();
  await closed;
}

// Client certificates are asked for but checked per request, so that a request without one can
// still use a token, as with kube-apiserver's --client-ca-file.
function createTlsServer(pki: Pki): Server {
  return createServer({
    key: pki.serverKey,
    cert: pki.serverCert,
    ca: pki.caCert,
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
    noDelay: true,
  });
}

function authConfig(opts: ApiServerOptions): AuthConfig {
  return {
    tokens: new Map(Object.entries(opts.tokens ?? {})),
    ...(opts.authenticateToken === undefined ? {} : { authenticateToken: opts.authenticateToken }),
    basicAuth: new Map(Object.entries(opts.basicAuth ?? {})),
    allowAnonymous: opts.allowAnonymous ?? false,
  };
}

function serveRequests(server: Server, shared: Shared): void {
  const serve = (req: IncomingMessage, res: ServerResponse, upgrade?: UpgradeRequest) => {
    handleRequest(shared, req, res, upgrade).catch(() => {
      // Only a client that left mid-body gets here; nothing is left to answer.
      if (!res.headersSent && !res.destroyed) sendStatus(res, 500, 'internal error');
    });
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => serve(req, res));
  serveUpgrades(server, serve);
}

/** Starts an example API server; see {@link ApiServerOptions} for what it accepts. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createTlsServer(opts.pki);
  const sockets = trackSockets(server);
  const { port } = await listen(server, opts.port ?? 0, host);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const store = new PodStore();
  const requests: SeenRequest[] = [];
  const recorded = opts.record === false ? undefined : requests;
  const auth = authConfig(opts);
  const execSessions: ExecSession[] = [];
  const portForwards: PortForwardStream[] = [];
  serveRequests(server, { auth, store, requests: recorded, serverAddress: `${urlHost}:${port}`, execSessions, portForwards });
  let closing: Promise<void> | undefined;
  return {
    url: `https://${urlHost}:${port}`,
    port,
    host,
    requests,
    createPod(namespace, name) {
      if (!store.create(namespace, name, 'Running')) throw new Error(`pod ${namespace}/${name} already exists`);
    },
    deletePod(namespace, name) {
      if (!store.delete(namespace, name)) throw new Error(`pod ${namespace}/${name} does not exist`);
    },
    connections: () => sockets.tls.size,
    tokens: auth.tokens,
    execSessions,
    portForwards,
    close: () => (closing ??= closeServer(server, sockets)),
  };
}
