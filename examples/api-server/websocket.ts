// Just enough of RFC 6455 for the example API server's exec endpoint: the server's handshake
// answer, masked client frames in (fragmented messages reassembled), unmasked frames out.
import { ByteQueue } from './byte-queue.js';
import { createHash } from 'node:crypto';

/** Frame opcodes (RFC 6455 §5.2). */
export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Close codes this server sends (RFC 6455 §7.4.1). */
export const CloseCode = { normal: 1000, protocolError: 1002, unsupportedData: 1003, tooBig: 1009 } as const;

/** One whole message, or one control frame. */
export interface Message {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** A violation of the protocol by the client; the connection is closed with `code`. */
export class WebSocketProtocolError extends Error {
  constructor(
    message: string,
    readonly code: number = CloseCode.protocolError,
  ) {
    super(message);
  }
}

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The `Sec-WebSocket-Accept` answer to a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2). */
export function acceptValue(key: string): string {
  return createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
}

/** Answers a WebSocket upgrade with 101 and the chosen subprotocol, keeping the request's Audit-Id. */
export function writeWebSocketAccept(socket: { write(data: string): unknown }, key: string, protocol: string, auditId: unknown): void {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptValue(key)}`,
    `Sec-WebSocket-Protocol: ${protocol}`,
    ...(typeof auditId === 'string' ? [`Audit-Id: ${auditId}`] : []),
  ];
  socket.write(lines.join('\r\n') + '\r\n\r\n');
}

/** A single unfragmented, unmasked frame, as a server sends. */
export function encodeFrame(opcode: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const length = payload.length;
  const extra = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const header = Buffer.alloc(2 + extra);
  header[0] = 0x80 | opcode;
  if (extra === 0) header[1] = length;
  else if (extra === 2) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** A close frame with its status code. */
export function closeFrame(code: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return encodeFrame(Opcode.close, payload);
}

interface FrameHeader {
  fin: boolean;
  opcode: number;
  headerBytes: number;
  payloadBytes: number;
  mask: Buffer;
}

/** Parses a frame header from the first bytes available; undefined until enough have arrived. */
function parseHeader(bytes: Buffer, maxPayload: number): FrameHeader | undefined {
  if (bytes.length < 2) return undefined;
  const [first = 0, second = 0] = bytes;
  if ((first & 0x70) !== 0) throw new WebSocketProtocolError('reserved bits set without an extension');
  if ((second & 0x80) === 0) throw new WebSocketProtocolError('client frames must be masked');
  const short = second & 0x7f;
  const lengthBytes = short === 126 ? 2 : short === 127 ? 8 : 0;
  const headerBytes = 2 + lengthBytes + 4;
  if (bytes.length < headerBytes) return undefined;
  const length = short === 126 ? bytes.readUInt16BE(2) : short === 127 ? bytes.readBigUInt64BE(2) : short;
  if (length > BigInt(maxPayload)) throw new WebSocketProtocolError(`a frame of ${length} bytes is too big`, CloseCode.tooBig);
  const mask = bytes.subarray(2 + lengthBytes, headerBytes);
  return { fin: (first & 0x80) !== 0, opcode: first & 0x0f, headerBytes, payloadBytes: Number(length), mask };
}

/**
 * Turns the client's byte stream into messages. Chunks are kept as they came and joined once a
 * whole frame is there, so a multi-megabyte stream costs no repeated copying.
 */
export class FrameReader {
  private readonly queue = new ByteQueue();
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode: number | undefined;

  constructor(private readonly maxMessageBytes: number) {}

  /** Adds bytes and returns the messages they complete; throws WebSocketProtocolError. */
  push(chunk: Buffer): Message[] {
    this.queue.push(chunk);
    const messages: Message[] = [];
    for (;;) {
      const header = parseHeader(this.queue.peek(14), this.maxMessageBytes);
      if (header === undefined || this.queue.length < header.headerBytes + header.payloadBytes) return messages;
      const message = this.frame(header, this.queue.take(header.headerBytes + header.payloadBytes));
      if (message !== undefined) messages.push(message);
    }
  }


  /** Unmasks one frame; returns a message when it completes one. */
  private frame(header: FrameHeader, bytes: Buffer): Message | undefined {
    const payload = bytes.subarray(header.headerBytes);
    for (let i = 0; i < payload.length; i++) payload[i]! ^= header.mask[i & 3]!;
    const { opcode, fin } = header;
    if (opcode >= Opcode.close) {
      if (!fin || payload.length > 125) throw new WebSocketProtocolError('control frames must be whole and at most 125 bytes');
      return { opcode, payload };
    }
    if ((opcode === Opcode.continuation) !== (this.fragmentOpcode !== undefined)) {
      throw new WebSocketProtocolError('unexpected continuation frame');
    }
    if (opcode !== Opcode.continuation && opcode !== Opcode.text && opcode !== Opcode.binary) {
      throw new WebSocketProtocolError(`unknown opcode ${opcode}`);
    }
    if (fin && this.fragmentOpcode === undefined) return { opcode, payload };
    this.fragmentOpcode ??= opcode;
    this.fragments.push(payload);
    this.fragmentBytes += payload.length;
    if (this.fragmentBytes > this.maxMessageBytes) throw new WebSocketProtocolError('message too big', CloseCode.tooBig);
    if (!fin) return undefined;
    const message = { opcode: this.fragmentOpcode, payload: Buffer.concat(this.fragments, this.fragmentBytes) };
    this.fragments = [];
    this.fragmentBytes = 0;
    this.fragmentOpcode = undefined;
    return message;
  }
}
