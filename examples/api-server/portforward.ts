// pods/portforward of the example API server over SPDY/3.1 (`portforward.k8s.io`), as kubelet
// serves it, directly or tunnelled in WebSocket (spdy-websocket.ts): for each forwarded connection the client opens an error stream and a data stream
// with the same `requestid` and the pod `port`. Every pod "listens" on every port with an echo
// server: the data stream's bytes come back on it, and when the client half-closes it the
// server closes the data stream and the (empty) error stream.
import { matches, type RequestContext, type Route } from './context.js';
import { sendStatus } from './respond.js';
import { RstStatus } from './spdy.js';
import { acceptSpdy, isSpdyUpgrade, offeredStreamProtocols, type SpdyStream } from './spdy-session.js';
import { acceptSpdyOverWebSocket, tunnelHandshake } from './spdy-websocket.js';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** The WebSocket subprotocol of port-forward tunnelled as SPDY inside WebSocket (kubectl ≥ 1.31's default). */
export const PORT_FORWARD_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

/** kubelet's wait for the second stream of a pair (streamCreationTimeout). */
const PAIR_TIMEOUT_MS = 30_000;

/** One forwarded connection as the server saw it. */
export interface PortForwardStream {
  namespace: string;
  pod: string;
  port: number;
  requestId: string;
  /** Bytes the client sent on the data stream, all echoed back. */
  bytes: number;
  /** Set once the client half-closed the data stream and both streams were closed. */
  done: boolean;
}

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Routes pods/portforward upgrades; plain requests fall through to the 404 of unknown paths. */
export const portForwardRoute: Route = (ctx) => {
  const s = ctx.segments;
  if (!matches(s, 'api', 'v1', 'namespaces', '*', 'pods', '*', 'portforward') || ctx.upgrade === undefined) return false;
  const [namespace = '', name = ''] = [s[3], s[5]];
  if (ctx.method !== 'GET' && ctx.method !== 'POST') {
    sendStatus(ctx.res, 405, 'the server does not allow this method on the requested resource');
  } else if (ctx.store.get(namespace, name) === undefined) {
    sendStatus(ctx.res, 404, `pods "${name}" not found`, { name, kind: 'pods' });
  } else if (String(ctx.req.headers.upgrade ?? '').toLowerCase() === 'websocket') {
    acceptTunnel(ctx, { namespace, pod: name });
  } else if (!isSpdyUpgrade(ctx.req)) {
    sendStatus(ctx.res, 400, `the example API server serves port-forward over SPDY/3.1 or WebSocket only, not ${String(ctx.req.headers.upgrade ?? '')}`);
  } else if (!offeredStreamProtocols(ctx.req).includes(PORT_FORWARD_PROTOCOL)) {
    const offered = offeredStreamProtocols(ctx.req).join(' ');
    sendStatus(ctx.res, 403, `unable to upgrade: unable to negotiate protocol: client supports [${offered}], server accepts [${PORT_FORWARD_PROTOCOL}]`);
  } else {
    const pairs = new Map<string, Pair>();
    acceptSpdy(ctx, PORT_FORWARD_PROTOCOL, (stream) => onStream(ctx, { namespace, pod: name }, pairs, stream));
    clearPairsOnClose(ctx, pairs);
  }
  return true;
};

/** Port-forward tunnelled in WebSocket: the same streams, inside binary messages. */
function acceptTunnel(ctx: RequestContext, target: { namespace: string; pod: string }): void {
  const handshake = tunnelHandshake(ctx.req, PORT_FORWARD_TUNNEL_PROTOCOL);
  if (typeof handshake === 'string') return sendStatus(ctx.res, 400, handshake);
  const pairs = new Map<string, Pair>();
  acceptSpdyOverWebSocket(ctx, handshake.key, PORT_FORWARD_TUNNEL_PROTOCOL, (stream) => onStream(ctx, target, pairs, stream));
  clearPairsOnClose(ctx, pairs);
}

function clearPairsOnClose(ctx: RequestContext, pairs: Map<string, Pair>): void {
  ctx.upgrade!.socket.once('close', () => {
    for (const pair of pairs.values()) clearTimeout(pair.timer);
  });
}

/** Pairs streams by request id and starts the echo once both are there. */
function onStream(ctx: RequestContext, target: { namespace: string; pod: string }, pairs: Map<string, Pair>, stream: SpdyStream): void {
  const type = stream.header('streamtype');
  const requestId = stream.header('requestid');
  if ((type !== 'error' && type !== 'data') || requestId === undefined) return stream.reset(RstStatus.protocolError);
  let pair = pairs.get(requestId);
  if (pair === undefined) {
    // A pair whose other half never comes is given up, as kubelet does.
    const timer = setTimeout(() => {
      pairs.delete(requestId);
      pair?.error?.reset();
      pair?.data?.reset();
    }, PAIR_TIMEOUT_MS);
    pair = { timer };
    pairs.set(requestId, pair);
  }
  if (pair[type] !== undefined) return stream.reset(RstStatus.protocolError);
  pair[type] = stream;
  // The client closes its side of the error stream at once; whatever it sends there means nothing.
  if (pair.error === undefined || pair.data === undefined) return;
  clearTimeout(pair.timer);
  pairs.delete(requestId);
  echo(ctx, target, requestId, pair.error, pair.data);
}

/** Echoes the data stream; a port kubelet would refuse gets its message on the error stream. */
function echo(ctx: RequestContext, target: { namespace: string; pod: string }, requestId: string, error: SpdyStream, data: SpdyStream): void {
  const portText = data.header('port') ?? '';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
  if (port < 1 || port > 65535) {
    error.write(`invalid port: ${JSON.stringify(portText)}`);
    error.end();
    data.end();
    return;
  }
  const record: PortForwardStream = { ...target, port, requestId, bytes: 0, done: false };
  ctx.portForwards.push(record);
  data.onData = (bytes) => {
    record.bytes += bytes.length;
    data.write(bytes);
  };
  data.onEnd = () => {
    data.end();
    error.end();
    record.done = true;
  };
}
