// Bytes as they arrive from a socket, for frame parsers: chunks are joined only when a whole frame
// is taken, so a multi-megabyte stream costs no repeated copying.

export class ByteQueue {
  private chunks: Buffer[] = [];
  /** How many bytes are queued. */
  length = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first `bytes` bytes (fewer if fewer are queued), left in the queue. */
  peek(bytes: number): Buffer {
    const head = this.chunks[0];
    if (head !== undefined && head.length >= bytes) return head.subarray(0, bytes);
    return Buffer.concat(this.chunks, Math.min(bytes, this.length));
  }

  /** Removes the first `bytes` bytes; the queued chunks are the caller's own, so it may write to them. */
  take(bytes: number): Buffer {
    const parts: Buffer[] = [];
    for (let needed = bytes; needed > 0; ) {
      const head = this.chunks[0]!;
      if (head.length <= needed) {
        parts.push(head);
        this.chunks.shift();
      } else {
        parts.push(head.subarray(0, needed));
        this.chunks[0] = head.subarray(needed);
      }
      needed -= parts.at(-1)!.length;
    }
    this.length -= bytes;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
  }
}
