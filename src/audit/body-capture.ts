// Keeps the first bytes of a request or response body for the audit event, up to a cap, while the
// body streams on untouched: nothing is buffered beyond the cap, so streaming and memory stay as
// they are. A body cut at the cap is marked truncated and never written as an object.

export class BodyCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Every byte seen, kept or not. */
  total = 0;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.kept >= this.limit) return;
    const room = this.limit - this.kept;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.chunks.push(part);
    this.kept += part.length;
  }

  get truncated(): boolean {
    return this.total > this.kept;
  }

  /** The body parsed as JSON, or why it is not written: cut at the cap, or not JSON (protobuf, YAML, empty). */
  json(): { value: unknown } | { reason: string } {
    if (this.truncated) return { reason: `truncated: ${this.total} bytes, over the ${this.limit}-byte cap (--audit-body-limit)` };
    if (this.total === 0) return { reason: 'empty' };
    try {
      return { value: JSON.parse(Buffer.concat(this.chunks).toString('utf8')) as unknown };
    } catch {
      return { reason: 'not JSON' };
    }
  }
}
