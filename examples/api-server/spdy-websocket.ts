// SPDY/3.1 tunnelled through WebSocket, as kubectl ≥ 1.31 port-forwards by default (KEP-4006):
// subprotocol `SPDY/3.1+portforward.k8s.io`, the SPDY byte stream carried as is in binary
// messages in both directions (client-go's TunnelingConnection), which kube-apiserver unwraps
// before it speaks SPDY to kubelet. Here the fixture's SPDY session runs right on it.
import type { IncomingMessage } from 'node:http';
import type { RequestContext } from './context.js';
import { SpdyServerSession, type SpdyStream } from './spdy-session.js';
import { CloseCode, closeFrame, encodeFrame, FrameReader, Opcode, WebSocketProtocolError, writeWebSocketAccept } from './websocket.js';

/** A client message bigger than this is refused; client-go writes one message per SPDY frame. */
const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
/** How long a client gets to answer our close frame before its connection is cut. */
const CLOSE_GRACE_MS = 5_000;

/** The WebSocket handshake fields, or why the request is not a handshake offering `protocol`. */
export function tunnelHandshake(req: IncomingMessage, protocol: string): { key: string } | string {
  const key = req.headers['sec-websocket-key'];
  if (req.headers['sec-websocket-version'] !== '13' || key === undefined) return 'a WebSocket upgrade needs Sec-WebSocket-Version 13 and a Sec-WebSocket-Key';
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  if (!offered.includes(protocol)) return `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${protocol}]`;
  return { key };
}

/** Answers 101 with `protocol` and runs a SPDY session inside the WebSocket's binary messages. */
export function acceptSpdyOverWebSocket(ctx: RequestContext, key: string, protocol: string, onStream: (stream: SpdyStream) => void): SpdyServerSession {
  const { socket, head } = ctx.upgrade!;
  ctx.res.detachSocket(socket);
  writeWebSocketAccept(socket, key, protocol, ctx.res.getHeader('Audit-Id'));

  let closeSent = false;
  const send = (frame: Buffer) => {
    if (closeSent || socket.destroyed) return;
    if (!socket.write(frame) && !socket.isPaused()) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  };
  const close = (code: number) => {
    if (closeSent) return;
    send(closeFrame(code));
    closeSent = true;
    const cutOff = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    socket.once('close', () => clearTimeout(cutOff));
  };
  const session = new SpdyServerSession({ write: (bytes) => send(encodeFrame(Opcode.binary, bytes)), end: () => close(CloseCode.normal) }, onStream);

  const reader = new FrameReader(MAX_MESSAGE_BYTES);
  const onData = (chunk: Buffer) => {
    if (closeSent) return;
    try {
      for (const { opcode, payload } of reader.push(chunk)) {
        if (opcode === Opcode.binary) session.receive(payload);
        else if (opcode === Opcode.ping) send(encodeFrame(Opcode.pong, payload));
        else if (opcode === Opcode.close) {
          // The client's close (kubectl's TunnelingConnection closes normally): answered, then the session is over.
          close(payload.length >= 2 ? payload.readUInt16BE(0) : CloseCode.normal);
          socket.end();
          return;
        } else if (opcode !== Opcode.pong) return close(CloseCode.unsupportedData);
      }
    } catch (err) {
      close(err instanceof WebSocketProtocolError ? err.code : CloseCode.protocolError);
    }
  };
  socket.on('data', onData);
  socket.once('close', () => session.closed());
  if (head.length > 0) onData(head);
  socket.resume();
  return session;
}
