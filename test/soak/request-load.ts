// A fixed number of small GETs at a fixed concurrency: `concurrency` keep-alive connections
// (an undici Pool, one request in flight on each), stopped at exactly `total`. Used for the warm-up
// and for the soak phase; a callback every `every` answers lets the caller sample the proxy.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** After this many failed requests the run stops: the proxy is broken, and the figures say so. */
const MAX_ERRORS = 100;
/** Per request: a proxy that stops answering fails the run instead of hanging it. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface LoadResult {
  /** Requests answered (any status). */
  readonly done: number;
  /** Answers other than 200, and failed requests. */
  readonly errors: number;
  readonly firstErrors: readonly string[];
  readonly elapsedS: number;
  /** Per answered request, ascending. */
  readonly latencyMs: number[];
}

export interface LoadRun {
  readonly url: string;
  readonly path: string;
  readonly total: number;
  readonly concurrency: number;
  /** Called with the number answered so far, every `every` answers. */
  readonly onProgress?: (done: number) => void;
  readonly every?: number;
}

/** Runs the requests; resolves when all are answered or after MAX_ERRORS failures. */
export async function runRequests(run: LoadRun): Promise<LoadResult> {
  const pool = new Pool(run.url, { connections: run.concurrency, pipelining: 1, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
  const latencyMs: number[] = [];
  const state = { issued: 0, done: 0, errors: 0, firstErrors: [] as string[] };
  const every = run.every ?? Infinity;
  const fail = (why: string) => {
    state.errors++;
    if (state.firstErrors.length < 5) state.firstErrors.push(why);
  };
  const worker = async () => {
    while (state.issued < run.total && state.errors < MAX_ERRORS) {
      state.issued++;
      const started = performance.now();
      try {
        const res = await pool.request({ path: run.path, method: 'GET' });
        await res.body.dump({ limit: 1024 * 1024 });
        if (res.statusCode !== 200) fail(`GET ${run.path} answered ${res.statusCode}`);
      } catch (err) {
        fail(`GET ${run.path} failed: ${(err as Error).message}`);
      }
      latencyMs.push(performance.now() - started);
      state.done++;
      if (state.done % every === 0) run.onProgress?.(state.done);
    }
  };
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: run.concurrency }, worker));
  } finally {
    await pool.close();
  }
  const elapsedS = (performance.now() - started) / 1000;
  return { done: state.done, errors: state.errors, firstErrors: state.firstErrors, elapsedS, latencyMs: latencyMs.sort((a, b) => a - b) };
}
