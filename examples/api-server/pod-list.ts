// The PodList bodies of `/test/list?bytes=N`, built once per size: the benchmark's ~100 KB and
// ~20 MB lists. Shared by the example API server and the benchmark's own upstream.

const LIST_CACHE_SIZE = 4;
const listCache = new Map<number, Buffer>();
/** The largest list `/test/list` builds, to keep a typo from exhausting memory. */
export const MAX_LIST_BYTES = 256 * 1024 * 1024;

function benchPod(i: number): string {
  return JSON.stringify({
    metadata: {
      name: `bench-${i}`,
      namespace: 'bench',
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: '2025-01-01T00:00:00Z',
      labels: { app: 'bench', 'pod-template-hash': '5d8f7c9b6' },
    },
    spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: {} }], nodeName: `node-${i % 10}` },
    status: { phase: 'Running', podIP: `10.0.${(i >> 8) & 255}.${i & 255}` },
  });
}

/** A PodList whose JSON is about `bytes` long (it stops at the first pod past the size). */
export function listBody(bytes: number): Buffer {
  let body = listCache.get(bytes);
  if (body) return body;
  const items: string[] = [];
  for (let length = 100; length < bytes; ) {
    const pod = benchPod(items.length);
    items.push(pod);
    length += pod.length + 1;
  }
  body = Buffer.from(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1000"},"items":[${items.join(',')}]}`);
  if (listCache.size >= LIST_CACHE_SIZE) listCache.delete(listCache.keys().next().value!);
  listCache.set(bytes, body);
  return body;
}
