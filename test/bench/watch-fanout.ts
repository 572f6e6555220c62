// The watch cell: N watches held open at once through a target, one event written upstream, and
// how long each watch took to see it; with them all open, the proxy's RSS and how fast it still
// answers GET /version (a proxy whose pool the watches filled would not answer at all).
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { WATCH_EVENT_PATH, WATCH_PATH } from './cells.js';
import { probe, type ProbeTarget } from './probe.js';

/** Watches opened at a time: a thousand connects at once would overflow a listen backlog, not measure a proxy. */
const OPEN_BATCH = 100;
/** GET /version requests timed one after another while the watches are open. */
const VERSION_PROBES = 20;

export interface FanoutResult {
  readonly opened: number;
  /** Seconds from the first watch requested to the last one open. */
  readonly openS: number;
  /** Watches that saw the event. */
  readonly received: number;
  /** Per watch that saw it, from the trigger's send to the event's arrival; ascending. */
  readonly latencyMs: readonly number[];
  /** GET /version through the target while the watches are open; ascending. */
  readonly versionMs: readonly number[];
}

interface OpenWatch {
  readonly request: ClientRequest;
  receivedAt?: number;
}

function headerRecord(lines: readonly string[]): Record<string, string> {
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1).trim()]));
}

/** A request of its own connection (agent: false), as every watch client holds one. */
function send(target: ProbeTarget, method: string, path: string, timeoutMs: number, onResponse: (res: IncomingMessage) => void): ClientRequest {
  const url = new URL(path, target.url);
  const options = { method, headers: headerRecord(target.headers), ca: target.ca, agent: false as const, timeout: timeoutMs };
  const req = url.protocol === 'https:' ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
  req.end();
  return req;
}

/** Opens one watch; resolves once its 200 and headers are in. Each later chunk is searched for `marker`. */
function openWatch(target: ProbeTarget, marker: string, timeoutMs: number): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const watch: { request?: ClientRequest; receivedAt?: number } = {};
    let tail = '';
    const req = send(target, 'GET', `${WATCH_PATH}?watch=1`, timeoutMs, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch answered ${res.statusCode}`));
      req.setTimeout(0);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        // The marker may straddle two chunks: keep enough of the last one.
        const text = tail + chunk;
        if (watch.receivedAt === undefined && text.includes(marker)) watch.receivedAt = performance.now();
        tail = text.slice(-marker.length);
      });
      res.on('error', () => undefined);
      resolve(watch as OpenWatch);
    });
    watch.request = req;
    req.once('timeout', () => req.destroy(new Error(`watch not open within ${timeoutMs} ms`)));
    req.once('error', reject);
  });
}

/** The upstream's trigger: one event to every watch it holds. */
function trigger(upstream: ProbeTarget, marker: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = send(upstream, 'POST', `${WATCH_EVENT_PATH}?name=${marker}`, timeoutMs, (res) => {
      res.resume();
      res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`trigger answered ${res.statusCode}`))));
    });
    req.once('timeout', () => req.destroy(new Error('trigger timed out')));
    req.once('error', reject);
  });
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function timedVersions(target: ProbeTarget): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < VERSION_PROBES; i++) {
    const started = performance.now();
    const failure = await probe(target, '/version', 5_000);
    if (failure !== undefined) throw new Error(`while the watches were open: ${failure}`);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

/**
 * Opens `count` watches through `target`, reads `whileOpen()` (the proxy's RSS), times
 * GET /version, has `upstream` write one event, waits for it on every watch, and closes them all.
 */
export async function runWatchFanout(target: ProbeTarget, upstream: ProbeTarget, count: number, whileOpen: () => void, timeoutMs = 60_000): Promise<FanoutResult> {
  const marker = `bench-event-${Math.random().toString(36).slice(2)}`;
  const watches: OpenWatch[] = [];
  const openedAt = performance.now();
  try {
    for (let start = 0; start < count; start += OPEN_BATCH) {
      const batch = await Promise.allSettled(Array.from({ length: Math.min(OPEN_BATCH, count - start) }, () => openWatch(target, marker, timeoutMs)));
      for (const result of batch) if (result.status === 'fulfilled') watches.push(result.value);
      const failed = batch.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw new Error(`${watches.length} of ${count} watches open, then: ${(failed.reason as Error).message}`);
    }
    const openS = (performance.now() - openedAt) / 1000;
    whileOpen();
    const versionMs = await timedVersions(target);
    const sentAt = performance.now();
    await trigger(upstream, marker, timeoutMs);
    await until(() => watches.every((watch) => watch.receivedAt !== undefined), timeoutMs);
    const latencyMs = watches.flatMap((watch) => (watch.receivedAt === undefined ? [] : [watch.receivedAt - sentAt])).sort((a, b) => a - b);
    return { opened: watches.length, openS, received: latencyMs.length, latencyMs, versionMs };
  } finally {
    for (const watch of watches) watch.request.destroy();
  }
}

/** The value below which `fraction` of the ascending `sorted` lie (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}
