// Just enough of SPDY/3.1 (the draft kubectl's SPDY transport, moby/spdystream, speaks) for the
// example API server's exec and port-forward: frames in and out, header blocks compressed with
// zlib and the SPDY/3 dictionary (one zlib stream per direction per connection, flushed after
// each block, as Go's spdy framer does), and a server session that answers every stream the
// client opens. Flow control is not done: spdystream neither sends nor honours WINDOW_UPDATE.
import { ByteQueue } from './byte-queue.js';
import { constants as zlibConstants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';

/** Control frame types (SPDY/3 §2.6). */
export const FrameType = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;

/** FIN on data frames and SYN_STREAM/SYN_REPLY/HEADERS; UNIDIRECTIONAL on SYN_STREAM. */
export const Flag = { fin: 0x01, unidirectional: 0x02 } as const;

/** RST_STREAM status codes (SPDY/3 §2.6.3). */
export const RstStatus = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, internalError: 6, streamInUse: 8, streamAlreadyClosed: 9 } as const;

/** GOAWAY status codes. */
export const GoAwayStatus = { ok: 0, protocolError: 1, internalError: 2 } as const;

export const SPDY_VERSION = 3;

/** The largest frame payload a 24-bit length allows. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505203 Non-Authoritative Information' +
  '204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error' +
  '501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, ' +
  'Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/**
 * The SPDY/3 header compression dictionary (§2.6.10.1): length-prefixed header names and
 * values, then common strings. 1423 bytes, without the C string's trailing NUL, as Go's has it.
 */
export const SPDY_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.flatMap((word) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(word.length);
    return [length, Buffer.from(word, 'latin1')];
  }),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

/** A violation of the protocol by the peer: the connection ends with GOAWAY PROTOCOL_ERROR. */
export class SpdyProtocolError extends Error {
  override readonly name = 'SpdyProtocolError';
}

export interface DataFrame {
  readonly control: false;
  readonly streamId: number;
  readonly flags: number;
  readonly data: Buffer;
}

export interface ControlFrame {
  readonly control: true;
  readonly version: number;
  readonly type: number;
  readonly flags: number;
  readonly payload: Buffer;
}

export type Frame = DataFrame | ControlFrame;

/** A data frame; `fin` half-closes the stream. */
export function encodeDataFrame(streamId: number, data: Buffer = Buffer.alloc(0), fin = false): Buffer {
  if (data.length > MAX_FRAME_PAYLOAD) throw new RangeError('a data frame holds at most 16 MiB - 1');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(((fin ? Flag.fin : 0) << 24) | data.length, 4);
  return Buffer.concat([head, data]);
}

/** A control frame of this version with `payload`. */
export function encodeControlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(((flags << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([head, payload]);
}

function words(...values: number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => bytes.writeUInt32BE(value >>> 0, i * 4));
  return bytes;
}

/** SYN_STREAM, which clients send to open a stream (and tests, as clients, need). */
export function encodeSynStream(streamId: number, compressedHeaders: Buffer, flags = 0, priority = 0): Buffer {
  const fields = Buffer.alloc(10);
  fields.writeUInt32BE(streamId & 0x7fffffff, 0);
  fields.writeUInt32BE(0, 4);
  fields[8] = (priority & 0x7) << 5;
  return encodeControlFrame(FrameType.synStream, flags, Buffer.concat([fields, compressedHeaders]));
}

export function encodeSynReply(streamId: number, compressedHeaders: Buffer, flags = 0): Buffer {
  return encodeControlFrame(FrameType.synReply, flags, Buffer.concat([words(streamId & 0x7fffffff), compressedHeaders]));
}

export function encodeRstStream(streamId: number, status: number): Buffer {
  return encodeControlFrame(FrameType.rstStream, 0, words(streamId & 0x7fffffff, status));
}

export function encodePing(id: number): Buffer {
  return encodeControlFrame(FrameType.ping, 0, words(id));
}

export function encodeGoAway(lastGoodStreamId: number, status: number): Buffer {
  return encodeControlFrame(FrameType.goAway, 0, words(lastGoodStreamId & 0x7fffffff, status));
}

export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  return encodeControlFrame(FrameType.windowUpdate, 0, words(streamId & 0x7fffffff, delta & 0x7fffffff));
}

/** SETTINGS with (id, value) pairs and no per-entry flags. */
export function encodeSettings(entries: readonly (readonly [id: number, value: number])[]): Buffer {
  return encodeControlFrame(FrameType.settings, 0, words(entries.length, ...entries.flatMap(([id, value]) => [id & 0xffffff, value])));
}

/** The fields of a SYN_STREAM payload; its header block is still compressed. */
export function parseSynStream(payload: Buffer): { streamId: number; associatedToStreamId: number; priority: number; block: Buffer } {
  if (payload.length < 10) throw new SpdyProtocolError('SYN_STREAM shorter than 10 bytes');
  return {
    streamId: payload.readUInt32BE(0) & 0x7fffffff,
    associatedToStreamId: payload.readUInt32BE(4) & 0x7fffffff,
    priority: payload[8]! >> 5,
    block: payload.subarray(10),
  };
}

/** SYN_REPLY and HEADERS: a stream id, then a compressed header block. */
export function parseStreamHeaders(payload: Buffer): { streamId: number; block: Buffer } {
  if (payload.length < 4) throw new SpdyProtocolError('header frame shorter than 4 bytes');
  return { streamId: payload.readUInt32BE(0) & 0x7fffffff, block: payload.subarray(4) };
}

/** Frames of a byte stream; chunks are joined only once a whole frame is there. */
export class FrameParser {
  private readonly queue = new ByteQueue();

  /** Adds bytes and returns the frames they complete. */
  push(chunk: Buffer): Frame[] {
    this.queue.push(chunk);
    const frames: Frame[] = [];
    while (this.queue.length >= 8) {
      const length = this.queue.peek(8).readUInt32BE(4) & 0xffffff;
      if (this.queue.length < 8 + length) break;
      const bytes = this.queue.take(8 + length);
      const first = bytes.readUInt32BE(0);
      const flags = bytes[4]!;
      const payload = bytes.subarray(8);
      if ((first & 0x80000000) === 0) frames.push({ control: false, streamId: first & 0x7fffffff, flags, data: payload });
      else frames.push({ control: true, version: (first >>> 16) & 0x7fff, type: first & 0xffff, flags, payload });
    }
    return frames;
  }

}

/** Header name → values; names are lower case, as SPDY/3 requires. */
export type SpdyHeaders = Map<string, string[]>;

/** An uncompressed header block: 32-bit counts and lengths, multiple values joined by NUL. */
export function encodeHeaderBlock(headers: Readonly<Record<string, string | readonly string[]>>): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [words(entries.length)];
  for (const [name, value] of entries) {
    const nameBytes = Buffer.from(name.toLowerCase(), 'utf8');
    const valueBytes = Buffer.from(typeof value === 'string' ? value : value.join('\0'), 'utf8');
    parts.push(words(nameBytes.length), nameBytes, words(valueBytes.length), valueBytes);
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed header block; names that are not lower case or repeat are protocol errors. */
export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const headers: SpdyHeaders = new Map();
  let at = 0;
  const read = (): Buffer => {
    if (block.length - at < 4) throw new SpdyProtocolError('header block truncated');
    const length = block.readUInt32BE(at);
    if (block.length - at - 4 < length) throw new SpdyProtocolError('header block truncated');
    at += 4 + length;
    return block.subarray(at - length, at);
  };
  if (block.length < 4) throw new SpdyProtocolError('header block truncated');
  const count = block.readUInt32BE(0);
  at = 4;
  for (let i = 0; i < count; i++) {
    const name = read().toString('utf8');
    const value = read().toString('utf8');
    if (name === '' || name !== name.toLowerCase()) throw new SpdyProtocolError(`header name ${JSON.stringify(name)} is not lower case`);
    if (headers.has(name)) throw new SpdyProtocolError(`header ${name} sent twice`);
    headers.set(name, value.split('\0'));
  }
  if (at !== block.length) throw new SpdyProtocolError('bytes after the header block');
  return headers;
}

/**
 * One direction's zlib stream with the SPDY dictionary. Each call feeds bytes and ends with a
 * sync flush, so its result is everything those bytes produce; calls must not overlap.
 */
class ZlibChannel {
  private output: Buffer[] = [];
  private failure: Error | undefined;
  private onFailure: ((err: Error) => void) | undefined;

  constructor(private readonly stream: Deflate | Inflate) {
    stream.on('data', (chunk: Buffer) => this.output.push(chunk));
    // After an error zlib calls no flush callback: the step waiting for one fails instead.
    stream.on('error', (err: Error) => {
      this.failure = err;
      this.onFailure?.(err);
    });
  }

  step(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.onFailure = reject;
      this.stream.write(input);
      this.stream.flush(zlibConstants.Z_SYNC_FLUSH, () => {
        this.onFailure = undefined;
        const result = Buffer.concat(this.output);
        this.output = [];
        if (this.failure) reject(this.failure);
        else resolve(result);
      });
    });
  }

  close(): void {
    this.stream.destroy();
  }
}

/** Compresses header blocks for one connection's outgoing frames. */
export class HeaderCompressor {
  private readonly zlib = new ZlibChannel(createDeflate({ dictionary: SPDY_DICTIONARY, level: zlibConstants.Z_BEST_COMPRESSION }));
  private queue: Promise<unknown> = Promise.resolve();

  /** The compressed block; calls are serialised, so their results come in call order. */
  compress(headers: Readonly<Record<string, string | readonly string[]>>): Promise<Buffer> {
    const result = this.queue.then(() => this.zlib.step(encodeHeaderBlock(headers)));
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.zlib.close();
  }
}

/** Decompresses the header blocks of one connection's incoming frames, in arrival order. */
export class HeaderDecompressor {
  private readonly zlib = new ZlibChannel(createInflate({ dictionary: SPDY_DICTIONARY }));
  private queue: Promise<unknown> = Promise.resolve();

  decompress(block: Buffer): Promise<SpdyHeaders> {
    const result = this.queue.then(async () => {
      try {
        return decodeHeaderBlock(await this.zlib.step(block));
      } catch (err) {
        throw err instanceof SpdyProtocolError ? err : new SpdyProtocolError(`header block: ${(err as Error).message}`);
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.zlib.close();
  }
}
