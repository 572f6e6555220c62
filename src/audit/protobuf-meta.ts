// The name and namespace inside a Kubernetes protobuf body (application/vnd.kubernetes.protobuf),
// read without the schemas: typed clients such as `kubectl create secret` send protobuf, and
// kube-apiserver names the created object in its event's objectRef. The envelope is the magic
// `k8s\0` and a runtime.Unknown whose field 2 holds the object; every top-level object keeps its
// ObjectMeta in field 1, whose fields 1 and 3 are name and namespace.

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const LENGTH_DELIMITED = 2;

export function isKubernetesProtobuf(body: Buffer): boolean {
  return body.length >= MAGIC.length && body.subarray(0, MAGIC.length).equals(MAGIC);
}

/** The length-delimited fields of one message, by field number (the first of each); undefined if it does not parse. */
function fields(message: Buffer): Map<number, Buffer> | undefined {
  const found = new Map<number, Buffer>();
  let at = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 35 && at < message.length; shift += 7) {
      const byte = message[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return undefined;
  };
  while (at < message.length) {
    const key = varint();
    if (key === undefined) return undefined;
    const wire = key & 7;
    const field = Math.floor(key / 8);
    if (wire === 0) {
      if (varint() === undefined) return undefined;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === LENGTH_DELIMITED) {
      const length = varint();
      if (length === undefined || at + length > message.length) return undefined;
      if (!found.has(field)) found.set(field, message.subarray(at, at + length));
      at += length;
    } else return undefined;
  }
  return at === message.length ? found : undefined;
}

/** `metadata.name` and `metadata.namespace` of a protobuf-encoded object, where present. */
export function protobufObjectMeta(body: Buffer): { name?: string; namespace?: string } | undefined {
  if (!isKubernetesProtobuf(body)) return undefined;
  const raw = fields(body.subarray(MAGIC.length))?.get(2);
  const metadata = raw && fields(raw)?.get(1);
  const meta = metadata && fields(metadata);
  if (meta === undefined) return undefined;
  const name = meta.get(1)?.toString('utf8');
  const namespace = meta.get(3)?.toString('utf8');
  return { ...(name ? { name } : {}), ...(namespace ? { namespace } : {}) };
}
