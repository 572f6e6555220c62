// Keeps the first bytes of a request or response body for the audit event, up to a cap, while the
// body streams on untouched: nothing is buffered beyond the cap, so streaming and memory stay as
// they are. A body cut at the cap is marked truncated and never written as an object.
import { isKubernetesProtobuf, protobufObjectMeta } from './protobuf-meta.js';


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

  /** The body parsed as JSON, or why it is not written: cut at the cap, protobuf, not JSON (YAML), empty. */
  json(): { value: unknown } | { reason: string } {
    if (this.truncated) return { reason: `truncated: ${this.total} bytes, over the ${this.limit}-byte cap (--audit-body-limit)` };
    if (this.total === 0) return { reason: 'empty' };
    const body = this.body();
    // Decoding protobuf needs each type's schema; only the name is read from it (objectMeta).
    if (isKubernetesProtobuf(body)) return { reason: 'protobuf (application/vnd.kubernetes.protobuf): not decoded' };
    try {
      return { value: JSON.parse(body.toString('utf8')) as unknown };
    } catch {
      return { reason: 'not JSON' };
    }
  }

  /** `metadata.name` and `.namespace` of the object in the body, JSON or protobuf, when it is whole. */
  objectMeta(parsed: ReturnType<BodyCapture['json']>): { name?: string; namespace?: string } | undefined {
    if ('value' in parsed) {
      const metadata = (parsed.value as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
      if (typeof metadata !== 'object' || metadata === null) return undefined;
      return { ...(typeof metadata.name === 'string' ? { name: metadata.name } : {}), ...(typeof metadata.namespace === 'string' ? { namespace: metadata.namespace } : {}) };
    }
    return this.truncated ? undefined : protobufObjectMeta(this.body());
  }

  private body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}
