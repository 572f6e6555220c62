// What both watch cells do as a client: many watches opened through a target, each on its own
// connection as every watch client holds one, and a POST to the upstream's event triggers.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { WATCH_PATH } from './cells.js';
import type { ProbeTarget } from './probe.js';

/** Watches opened at a time: a thousand connects at once would overflow a listen backlog, not measure a proxy. */
const OPEN_BATCH = 100;

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

/** Opens one watch; resolves once its 200 and headers are in. Every later chunk goes to `onText`. */
function openWatch(target: ProbeTarget, timeoutMs: number, onText: (text: string) => void): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = send(target, 'GET', `${WATCH_PATH}?watch=1`, timeoutMs, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch answered ${res.statusCode}`));
      req.setTimeout(0);
      res.setEncoding('utf8');
      res.on('data', onText);
      res.on('error', () => undefined);
      resolve(req);
    });
    req.once('timeout', () => req.destroy(new Error(`watch not open within ${timeoutMs} ms`)));
    req.once('error', reject);
  });
}

/**
 * Opens `count` watches through `target`, OPEN_BATCH at a time; `reader(i)` receives watch i's text.
 * Returns their requests (destroy them to close the watches). On failure the ones already open are closed.
 */
export async function openWatches(target: ProbeTarget, count: number, timeoutMs: number, reader: (index: number) => (text: string) => void): Promise<ClientRequest[]> {
  const open: ClientRequest[] = [];
  for (let start = 0; start < count; start += OPEN_BATCH) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(OPEN_BATCH, count - start) }, (_, i) => openWatch(target, timeoutMs, reader(start + i))));
    for (const result of batch) if (result.status === 'fulfilled') open.push(result.value);
    const failed = batch.find((result) => result.status === 'rejected');
    if (failed === undefined) continue;
    for (const req of open) req.destroy();
    throw new Error(`${open.length} of ${count} watches open, then: ${(failed.reason as Error).message}`);
  }
  return open;
}

/** POSTs to one of the upstream's triggers; resolves with the body of its 200. */
export function trigger(upstream: ProbeTarget, path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = send(upstream, 'POST', path, timeoutMs, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.once('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`POST ${path} answered ${res.statusCode}`))));
    });
    req.once('timeout', () => req.destroy(new Error(`POST ${path} timed out`)));
    req.once('error', reject);
  });
}

/** Resolves once `condition()` holds or `timeoutMs` has passed, whichever is first. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** The value below which `fraction` of the ascending `sorted` lie (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}
