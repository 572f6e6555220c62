// Watches held open by a test: many at once through one client that caps nothing, each with its
// text so far, so a test can wait (bounded) for an event on every one of them.

import { Agent, request, type Dispatcher } from 'undici';
import { withTimeout, waitFor } from './waiting.js';

/** One connection per watch, as separate watch clients (informers, browser tabs) hold them. */
export function watchClients(): Agent {
  return new Agent({ connections: null });
}

export interface OpenWatch {
  readonly body: Dispatcher.ResponseData['body'];
  text: string;
  ended: boolean;
}

export async function openWatch(dispatcher: Dispatcher, url: string): Promise<OpenWatch> {
  const response = await request(url, { dispatcher });
  if (response.statusCode !== 200) throw new Error(`watch answered ${response.statusCode}: ${await response.body.text()}`);
  const watch: OpenWatch = { body: response.body, text: '', ended: false };
  response.body.setEncoding('utf8');
  response.body.on('data', (chunk: string) => (watch.text += chunk));
  response.body.on('end', () => (watch.ended = true));
  response.body.on('error', () => (watch.ended = true));
  return watch;
}

/** Opens `count` watches of `url`, `batch` at a time (a listen backlog is not what is tested), within `timeoutMs`. */
export async function openWatches(dispatcher: Dispatcher, url: string, count: number, timeoutMs: number, batch = 100): Promise<OpenWatch[]> {
  const open = async () => {
    const watches: OpenWatch[] = [];
    for (let start = 0; start < count; start += batch) {
      watches.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - start) }, () => openWatch(dispatcher, url)))));
    }
    return watches;
  };
  return withTimeout(open(), timeoutMs, `${count} watches open`);
}

/** Resolves once every watch's text contains `needle`; rejects after `timeoutMs`. */
export function allSee(watches: readonly OpenWatch[], needle: string, timeoutMs: number): Promise<void> {
  return waitFor(() => watches.every((watch) => watch.text.includes(needle)), timeoutMs, `${needle} on all ${watches.length} watches`);
}
