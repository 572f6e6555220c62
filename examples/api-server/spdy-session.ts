// The server side of one SPDY/3.1 connection, over any byte transport (a TLS socket, or binary
// WebSocket messages for port-forward tunnelled the way kubectl ≥ 1.31 does): it answers each
// stream the client opens with SYN_REPLY, hands it to the route, echoes client PINGs and ends the
// connection with GOAWAY. Frames are handled in arrival order; header blocks are decompressed
// on the way, so frames after one wait for it.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestContext } from './context.js';
import {
  encodeDataFrame,
  encodeGoAway,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  Flag,
  FrameParser,
  FrameType,
  GoAwayStatus,
  HeaderCompressor,
  HeaderDecompressor,
  MAX_FRAME_PAYLOAD,
  parseStreamHeaders,
  parseSynStream,
  RstStatus,
  SPDY_VERSION,
  SpdyProtocolError,
  type ControlFrame,
  type Frame,
  type SpdyHeaders,
} from './spdy.js';

/** Where a session's bytes go. */
export interface SpdyTransport {
  write(bytes: Buffer): void;
  /** Ends the connection once written bytes are out. */
  end(): void;
}

/** One stream the client opened. Handlers are set by the route in `onStream`. */
export class SpdyStream {
  /** Client data, in order. */
  onData: (data: Buffer) => void = () => undefined;
  /** The client half-closed the stream (FIN). */
  onEnd: () => void = () => undefined;
  /** The stream is gone without a FIN: RST_STREAM, or the connection closed. */
  onAbort: () => void = () => undefined;
  remoteEnded = false;
  localEnded = false;
  aborted = false;

  constructor(
    readonly id: number,
    readonly headers: SpdyHeaders,
    private readonly session: SpdyServerSession,
  ) {}

  /** The first value of a header, by its lower-case name. */
  header(name: string): string | undefined {
    return this.headers.get(name)?.[0];
  }

  write(data: Buffer | string): void {
    if (this.localEnded || this.aborted) return;
    const bytes = Buffer.from(data);
    for (let at = 0; at < bytes.length; at += MAX_FRAME_PAYLOAD) {
      this.session.send(encodeDataFrame(this.id, bytes.subarray(at, at + MAX_FRAME_PAYLOAD)));
    }
  }

  /** Half-closes our side: an empty data frame with FIN. */
  end(): void {
    if (this.localEnded || this.aborted) return;
    this.localEnded = true;
    this.session.send(encodeDataFrame(this.id, Buffer.alloc(0), true));
    this.session.forgetIfDone(this);
  }

  reset(status: number = RstStatus.cancel): void {
    if (this.aborted) return;
    this.session.send(encodeRstStream(this.id, status));
    this.abort();
  }

  /** @internal */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.session.forgetIfDone(this);
    this.onAbort();
  }
}

/** The server end of a SPDY/3.1 connection. */
export class SpdyServerSession {
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private inbox: Frame[] = [];
  private draining = false;
  private lastStreamId = 0;
  private stopped = false;
  /** Set when the client sent GOAWAY. */
  clientWentAway = false;

  constructor(
    private readonly transport: SpdyTransport,
    private readonly onStream: (stream: SpdyStream) => void,
  ) {}

  /** Bytes from the client. */
  receive(chunk: Buffer): void {
    if (this.stopped) return;
    this.inbox.push(...this.parser.push(chunk));
    void this.drain();
  }

  /** The transport closed: every open stream is aborted. */
  closed(): void {
    this.stopped = true;
    this.inbox = [];
    this.compressor.close();
    this.decompressor.close();
    for (const stream of [...this.streams.values()]) stream.abort();
  }

  /** Tells the client no more streams are accepted (GOAWAY); the connection stays up until the transport ends. */
  goAway(status: number = GoAwayStatus.ok): void {
    this.send(encodeGoAway(this.lastStreamId, status));
  }

  /** @internal */
  send(bytes: Buffer): void {
    if (!this.stopped) this.transport.write(bytes);
  }

  /** @internal */
  forgetIfDone(stream: SpdyStream): void {
    if (stream.aborted || (stream.localEnded && stream.remoteEnded)) this.streams.delete(stream.id);
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.inbox.length > 0 && !this.stopped) {
        const frame = this.inbox.shift()!;
        if (frame.control) await this.onControl(frame);
        else this.onData(frame.streamId, frame.flags, frame.data);
      }
    } catch (err) {
      this.fail(err instanceof SpdyProtocolError ? GoAwayStatus.protocolError : GoAwayStatus.internalError);
    } finally {
      this.draining = false;
    }
  }

  private fail(status: number): void {
    if (this.stopped) return;
    this.goAway(status);
    this.transport.end();
    this.closed();
  }

  private onData(streamId: number, flags: number, data: Buffer): void {
    const stream = this.streams.get(streamId);
    // Data for a stream already closed or reset is dropped, as spdystream does.
    if (stream === undefined || stream.remoteEnded) return;
    if (data.length > 0) stream.onData(data);
    if ((flags & Flag.fin) !== 0) this.remoteEnd(stream);
  }

  private remoteEnd(stream: SpdyStream): void {
    if (stream.remoteEnded || stream.aborted) return;
    stream.remoteEnded = true;
    this.forgetIfDone(stream);
    stream.onEnd();
  }

  private async onControl(frame: ControlFrame): Promise<void> {
    if (frame.version !== SPDY_VERSION) throw new SpdyProtocolError(`SPDY version ${frame.version}`);
    const { payload } = frame;
    switch (frame.type) {
      case FrameType.synStream:
        return this.onSynStream(frame);
      case FrameType.synReply:
      case FrameType.headers:
        // Servers open no streams, and extra headers mean nothing here; the block still goes
        // through the decompressor, whose state the next block depends on.
        await this.decompressor.decompress(parseStreamHeaders(payload).block);
        return;
      case FrameType.rstStream: {
        if (payload.length !== 8) throw new SpdyProtocolError('RST_STREAM of a wrong size');
        this.streams.get(payload.readUInt32BE(0) & 0x7fffffff)?.abort();
        return;
      }
      case FrameType.ping: {
        if (payload.length !== 4) throw new SpdyProtocolError('PING of a wrong size');
        const id = payload.readUInt32BE(0);
        // Odd ids are the client's pings, which get their frame back; even ones would be answers to ours.
        if (id % 2 === 1) this.send(encodePing(id));
        return;
      }
      case FrameType.goAway:
        this.clientWentAway = true;
        return;
      default:
        // SETTINGS and WINDOW_UPDATE (spdystream does no flow control), and unknown types, which
        // SPDY/3 says to ignore.
        return;
    }
  }

  private async onSynStream(frame: ControlFrame): Promise<void> {
    const { streamId, block } = parseSynStream(frame.payload);
    const headers = await this.decompressor.decompress(block);
    if (streamId % 2 === 0 || streamId <= this.lastStreamId) {
      this.send(encodeRstStream(streamId, RstStatus.protocolError));
      return;
    }
    this.lastStreamId = streamId;
    const stream = new SpdyStream(streamId, headers, this);
    this.streams.set(streamId, stream);
    const reply = await this.compressor.compress({});
    if (this.stopped) return;
    this.send(encodeSynReply(streamId, reply));
    this.onStream(stream);
    if ((frame.flags & Flag.fin) !== 0) this.remoteEnd(stream);
    // A unidirectional stream is one we may not send on.
    if ((frame.flags & Flag.unidirectional) !== 0) stream.localEnded = true;
  }
}

/** Whether an upgrade request asks for SPDY/3.1. */
export function isSpdyUpgrade(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1';
}

/** The `X-Stream-Protocol-Version` values offered, in order (Node joins repeated headers with commas). */
export function offeredStreamProtocols(req: IncomingMessage): string[] {
  return String(req.headers['x-stream-protocol-version'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** How long a client gets to hang up after we are done before its connection is cut. */
const CLOSE_GRACE_MS = 5_000;

/** A SPDY session on the upgrade's socket, writing with backpressure (reading stops while the socket's buffer is full). */
export function socketTransport(socket: Socket): SpdyTransport & { endAfterGrace: () => void } {
  return {
    write(bytes) {
      if (socket.destroyed || socket.writableEnded) return;
      if (!socket.write(bytes) && !socket.isPaused()) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    },
    end: () => socket.end(),
    /** Leaves the hanging up to the client, which has the last frames to read, but not for ever. */
    endAfterGrace: () => {
      const cutOff = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      socket.once('close', () => clearTimeout(cutOff));
    },
  };
}

/**
 * Answers `101 Switching Protocols` to a SPDY/3.1 upgrade with the chosen stream protocol and
 * starts a session on the socket.
 */
export function acceptSpdy(ctx: RequestContext, protocol: string, onStream: (stream: SpdyStream) => void): { session: SpdyServerSession; endAfterGrace: () => void } {
  const { socket, head } = ctx.upgrade!;
  ctx.res.detachSocket(socket);
  const auditId = ctx.res.getHeader('Audit-Id');
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Connection: Upgrade',
    'Upgrade: SPDY/3.1',
    `X-Stream-Protocol-Version: ${protocol}`,
    ...(typeof auditId === 'string' ? [`Audit-Id: ${auditId}`] : []),
  ];
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  const transport = socketTransport(socket);
  const session = new SpdyServerSession(transport, onStream);
  socket.on('data', (chunk: Buffer) => session.receive(chunk));
  socket.once('close', () => session.closed());
  if (head.length > 0) session.receive(head);
  socket.resume();
  return { session, endAfterGrace: transport.endAfterGrace };
}
