// Shows, with nothing of the proxy in it, why per-request state stays out of long-lived Maps,
// Sets and WeakMaps on the hot path (src/linked-set.ts), and why no per-request object is a
// literal with a getter (src/server/request-handler.ts): 64 "requests" of about 20 KB each are
// in flight, each for a few milliseconds, like small GETs at c=64. Registered in a Map, Set or
// WeakMap for their lifetime (deleted again when done), or built as such a literal, their
// objects are promoted to V8's old generation; linked to each other instead, they die young.
// Each variant runs in a child process under --trace-gc-nvp; the report is the young-generation
// GC's average pause and the bytes it promoted per scavenge.
//
//   npm run build && node dist/test/bench/gc-promotion.js
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const VARIANTS = ['nothing', 'Map', 'Set', 'WeakMap', 'linked list', 'literal with a getter'] as const;
type Variant = (typeof VARIANTS)[number];
const RUN_MS = 3000;
const IN_FLIGHT = 64;

interface Request {
  readonly parts: { a: number[]; b: string }[];
  readonly first?: unknown;
  prev?: Request | undefined;
  next?: Request | undefined;
}

function simulate(variant: Variant): void {
  const map = new Map<Request, number>();
  const set = new Set<Request>();
  const weak = new WeakMap<Request, { request: Request }>();
  let head: Request | undefined;
  const startedAt = Date.now();
  let served = 0;
  const start = (): void => {
    const parts = Array.from({ length: 40 }, (_, i) => ({ a: new Array<number>(50).fill(i), b: `part ${i}` }));
    const request: Request =
      variant === 'literal with a getter'
        ? {
            parts,
            get first() {
              return parts[0];
            },
          }
        : { parts };
    if (variant === 'Map') map.set(request, served);
    else if (variant === 'Set') set.add(request);
    else if (variant === 'WeakMap') weak.set(request, { request });
    else if (variant === 'linked list') {
      request.next = head;
      if (head !== undefined) head.prev = request;
      head = request;
    }
    setTimeout(() => {
      map.delete(request);
      set.delete(request);
      if (variant === 'linked list') {
        if (request.prev === undefined) head = request.next;
        else request.prev.next = request.next;
        if (request.next !== undefined) request.next.prev = request.prev;
        request.prev = request.next = undefined;
      }
      served++;
      if (Date.now() - startedAt < RUN_MS) start();
    }, 2 + (served % 5));
  };
  for (let i = 0; i < IN_FLIGHT; i++) start();
}

function measure(variant: Variant): string {
  const child = spawnSync(process.execPath, ['--max-semi-space-size=4', '--trace-gc-nvp', fileURLToPath(import.meta.url), variant], { encoding: 'utf8' });
  // The first scavenges run while the 64 requests start; they are left out.
  const scavenges = child.stdout.split('\n').filter((line) => line.includes('gc=s ')).slice(5);
  let pause = 0;
  let promoted = 0;
  for (const line of scavenges) {
    pause += Number(/\bpause=([\d.]+)/.exec(line)?.[1] ?? 0);
    promoted += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
  }
  const n = Math.max(1, scavenges.length);
  return `| ${variant} | ${scavenges.length} | ${(pause / n).toFixed(2)} ms | ${Math.round(promoted / n / 1024)} KiB |`;
}

const asked = process.argv[2] as Variant | undefined;
if (asked !== undefined && VARIANTS.includes(asked)) simulate(asked);
else {
  console.log(`${IN_FLIGHT} requests in flight for ${RUN_MS / 1000} s, node --max-semi-space-size=4\n`);
  console.log('| per-request state in | scavenges | pause (mean) | promoted per scavenge |\n|---|---:|---:|---:|');
  for (const variant of VARIANTS) console.log(measure(variant));
}
