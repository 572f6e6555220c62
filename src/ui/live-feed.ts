// The page's live updates over Server-Sent Events. Nothing runs while no page is open. With pages
// open, what happened is batched into one JSON text written to every page, at most every BATCH_MS:
// the first change after a quiet spell goes out at once, later ones wait for the next slot. A busy
// proxy costs one serialisation per batch, not one event per request per page. Once a second a
// batch goes out anyway, with the charts and the open streams' bytes.

import type { ServerResponse } from 'node:http';
import type { TrafficRecorder } from './traffic-recorder.js';
import { toRequestRow, toStreamRow } from './wire-rows.js';
import type { Snapshot, Update } from './wire-types.js';

/** How often a batch goes out at most. */
export const BATCH_MS = 200;
/** The charts move once a second, with or without traffic. */
const SUMMARY_MS = 1_000;
/**
 * Rows per batch at most (500 a second): a busier proxy sends its newest rows and the number it
 * skipped, so a page costs the same at any load. The charts still count every request.
 */
const MAX_ROWS_PER_BATCH = 100;
/** A page that has not read this much is too slow to follow: it is dropped (it reconnects and gets a snapshot). */
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;

const EVENT_STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class LiveFeed {
  private readonly pages = new Set<ServerResponse>();
  /** The once-a-second batch, while pages are open. */
  private ticker: NodeJS.Timeout | undefined;
  /** The next batch, when a change is waiting for its slot. */
  private pending: NodeJS.Timeout | undefined;
  private batchAt = 0;
  /** The first row id not yet sent to the open pages. */
  private sentUpTo = 0;
  private summaryAt = 0;
  /** Streams were open at the last batch: the next one must say they closed. */
  private hadStreams = false;

  constructor(private readonly recorder: TrafficRecorder) {}

  /** Everything a page starts from: the whole buffer, the open streams, the charts. */
  snapshot(): Snapshot {
    const { recorder } = this;
    return {
      history: recorder.history,
      rows: recorder.rowsSince(0).map(([id, recorded]) => toRequestRow(id, recorded)),
      streams: recorder.openStreams().map(toStreamRow),
      summary: recorder.summary.summary(),
    };
  }

  /** Answers a page's `EventSource`: a snapshot now, then batches until it leaves. */
  subscribe(res: ServerResponse): void {
    if (this.pages.size === 0) this.sentUpTo = this.recorder.nextId;
    res.writeHead(200, EVENT_STREAM_HEADERS);
    // Rows the next batch repeats are skipped by the page (it keys rows by id).
    res.write(`retry: 2000\n${event('snapshot', this.snapshot())}`);
    this.pages.add(res);
    res.once('close', () => {
      this.pages.delete(res);
      if (this.pages.size === 0) this.stop();
    });
    this.ticker ??= setInterval(() => this.batch(), SUMMARY_MS).unref();
    this.recorder.onChange = () => this.changed();
  }

  private changed(): void {
    if (this.pending !== undefined) return;
    const wait = Math.max(0, this.batchAt + BATCH_MS - Date.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.batch();
    }, wait).unref();
  }

  private batch(): void {
    const { recorder } = this;
    const now = Date.now();
    const rows = recorder.rowsSince(Math.max(this.sentUpTo, recorder.nextId - MAX_ROWS_PER_BATCH));
    const skipped = recorder.nextId - this.sentUpTo - rows.length;
    this.sentUpTo = recorder.nextId;
    const streams = recorder.openStreams();
    // Timers fire a little early or late: a tick that comes close enough is on time.
    const summaryDue = now - this.summaryAt >= SUMMARY_MS - BATCH_MS;
    if (rows.length === 0 && streams.length === 0 && !this.hadStreams && !summaryDue) return;
    this.batchAt = now;
    this.hadStreams = streams.length > 0;
    if (summaryDue) this.summaryAt = now;
    const update: Update = {
      rows: rows.map(([id, recorded]) => toRequestRow(id, recorded)),
      streams: streams.map(toStreamRow),
      ...(skipped > 0 ? { skipped } : {}),
      ...(summaryDue ? { summary: recorder.summary.summary(now) } : {}),
    };
    this.broadcast(event('update', update));
  }

  private broadcast(text: string): void {
    for (const page of this.pages) {
      if (page.writableLength > MAX_UNREAD_BYTES) page.destroy();
      else page.write(text);
    }
  }

  private stop(): void {
    this.recorder.onChange = undefined;
    clearInterval(this.ticker);
    clearTimeout(this.pending);
    this.ticker = undefined;
    this.pending = undefined;
  }

  /** Ends every page's stream (shutdown). */
  close(): void {
    this.stop();
    for (const page of this.pages) page.end();
    this.pages.clear();
  }
}
