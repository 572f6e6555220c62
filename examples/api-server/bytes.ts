// A deterministic byte pattern that the example API server streams and that clients can hash on
// their own, so that large transfers are checked without either side holding them in memory.
import { createHash } from 'node:crypto';

/** Byte `i` of the pattern is `i % 251`: a prime period, so chunk boundaries never line up with it. */
const PERIOD = 251;
/** The largest chunk {@link patternChunks} yields; bigger requests are split. */
export const MAX_PATTERN_CHUNK = 1024 * 1024;

let patternBuffer: Buffer | undefined;

function pattern(): Buffer {
  if (!patternBuffer) {
    patternBuffer = Buffer.allocUnsafe(MAX_PATTERN_CHUNK + PERIOD);
    for (let i = 0; i < patternBuffer.length; i++) patternBuffer[i] = i % PERIOD;
  }
  return patternBuffer;
}

/**
 * Yields the first `size` bytes of the pattern in chunks of `chunkSize` (at most
 * {@link MAX_PATTERN_CHUNK}). Chunks are views of one shared buffer: copy them to keep them.
 */
export function* patternChunks(size: number, chunkSize = 64 * 1024): Generator<Buffer> {
  const step = Math.max(1, Math.min(chunkSize, MAX_PATTERN_CHUNK));
  const buffer = pattern();
  for (let offset = 0; offset < size; offset += step) {
    const start = offset % PERIOD;
    yield buffer.subarray(start, start + Math.min(step, size - offset));
  }
}

const digests = new Map<number, string>();

/** The sha256 (hex) of the first `size` bytes of the pattern that `/test/bytes?size=N` serves. */
export function expectedBytesSha256(size: number): string {
  let digest = digests.get(size);
  if (digest === undefined) {
    const hash = createHash('sha256');
    for (const chunk of patternChunks(size, MAX_PATTERN_CHUNK)) hash.update(chunk);
    digest = hash.digest('hex');
    digests.set(size, digest);
  }
  return digest;
}
