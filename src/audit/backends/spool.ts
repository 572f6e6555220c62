// The audit webhook's on-disk queue: events the receiver has not taken yet, oldest first, kept
// across restarts. kube-apiserver drops events once its 10000-event buffer is full; the spool is
// what lets this proxy keep them while the receiver is down.
//
// Layout of the directory (0700; files 0600):
//   000000000001.jsonl, 000000000002.jsonl, …  segments: one event JSON per line, appended in order
//   cursor.json                                 {"segment": N, "offset": B}: segment N's first B
//                                               bytes are delivered (written atomically by rename)
//   lock                                        the pid of the process using the directory
// A segment is deleted once every event in it is delivered, so a crash at any point leaves every
// undelivered event on disk; at worst the last batch sent before the crash is sent again (the
// receiver sees it twice, with the same auditIDs). A line cut short by a crash is dropped, counted.

import { constants } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../../errors.js';
import { errnoCode } from '../../kubeconfig/fs-errors.js';

/** Where the queue tells of events it had to drop (full, or cut short by a crash). */
export interface SpoolReport {
  error(message: string): void;
  dropped(count: number): void;
}

/** What became of lines given to {@link SpoolQueue.append}. */
export interface AppendResult {
  /** Lines that were neither stored nor dropped because writing failed, in order; the caller keeps them. */
  readonly unwritten: readonly string[];
  readonly error?: string;
}

/** A FIFO of event lines (JSON, no newline). One caller at a time: calls must not overlap. */
export interface SpoolQueue {
  /** For messages: the directory, or that events are only in memory. */
  readonly description: string;
  /** Whether nothing is waiting. */
  isEmpty(): boolean;
  /**
   * Stores lines after everything already queued. A line that would take the queue past its byte
   * cap is dropped (and reported); later, smaller lines may still fit. Never throws.
   */
  append(lines: readonly string[]): Promise<AppendResult>;
  /** Up to `max` of the oldest lines, without removing them. Empty only when the queue is. */
  peek(max: number): Promise<readonly string[]>;
  /** Removes the `count` oldest lines: they were delivered. */
  commit(count: number): Promise<void>;
  /** Flushes to disk and releases the directory. */
  close(): Promise<void>;
}

/** Bytes a segment grows to before the next one is started. */
export const SEGMENT_BYTES = 4 * 1024 * 1024;

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const SEGMENT_NAME = /^(\d{12})\.jsonl$/;
const CURSOR = 'cursor.json';
const CURSOR_TMP = 'cursor.json.tmp';
const LOCK = 'lock';

/** Options of {@link openSpool}. */
export interface SpoolOptions {
  readonly dir: string;
  /** Cap on undelivered bytes (lines plus their newlines). */
  readonly maxBytes: number;
  /** Default {@link SEGMENT_BYTES}; small values let tests see several segments. */
  readonly segmentBytes?: number;
}

interface Segment {
  readonly seq: number;
  /** Bytes in the file. */
  size: number;
}

/** A line of the head segment and the bytes committing it moves the cursor by (incl. skipped lines). */
interface Entry {
  readonly line: string;
  bytes: number;
}

function segmentName(seq: number): string {
  return `${String(seq).padStart(12, '0')}.jsonl`;
}

function lineBytes(line: string): number {
  return Buffer.byteLength(line) + 1;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/** Takes the directory for this process; refuses one that a live process holds. */
async function lock(dir: string): Promise<void> {
  const path = join(dir, LOCK);
  try {
    await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: FILE_MODE });
    return;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
  // Our own pid too: two backends of one process must not share a directory either.
  if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) throw new Error(`in use by process ${holder} (${path})`);
  await writeFile(path, `${process.pid}\n`, { mode: FILE_MODE });
}

/** The spool in `options.dir`, created if missing, with whatever an earlier run left in it. */
export async function openSpool(options: SpoolOptions, report: SpoolReport): Promise<SpoolQueue> {
  const { dir } = options;
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  // An existing directory keeps its mode; this one holds request data, so it is made private.
  await chmod(dir, DIR_MODE);
  await lock(dir);
  try {
    const segments: Segment[] = [];
    for (const name of await readdir(dir)) {
      const match = SEGMENT_NAME.exec(name);
      if (match) segments.push({ seq: Number(match[1]), size: (await stat(join(dir, name))).size });
    }
    segments.sort((a, b) => a.seq - b.seq);
    const cursor = await readCursor(dir);
    let headOffset = 0;
    // The cursor counts only if it names a segment that exists: the ones before it are delivered
    // (their deletion was cut short). Anything else is stale, and redelivery is the safe side.
    const at = cursor === undefined ? -1 : segments.findIndex((s) => s.seq === cursor.segment);
    if (cursor !== undefined && at !== -1 && cursor.offset <= segments[at]!.size) {
      for (const delivered of segments.splice(0, at)) await unlinkIfPresent(join(dir, segmentName(delivered.seq)));
      headOffset = cursor.offset;
    } else if (cursor !== undefined) {
      await unlinkIfPresent(join(dir, CURSOR));
    }
    const lastSeq = Math.max(0, cursor?.segment ?? 0, ...segments.map((s) => s.seq));
    return new DiskSpool(options, report, segments, headOffset, lastSeq + 1);
  } catch (err) {
    await unlinkIfPresent(join(dir, LOCK)).catch(() => undefined);
    throw err;
  }
}

async function readCursor(dir: string): Promise<{ segment: number; offset: number } | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, CURSOR), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const value = JSON.parse(text) as { segment?: unknown; offset?: unknown };
    const { segment, offset } = value;
    if (Number.isSafeInteger(segment) && Number.isSafeInteger(offset) && (offset as number) >= 0) {
      return { segment: segment as number, offset: offset as number };
    }
  } catch {
    // a torn cursor is treated as none
  }
  return { segment: -1, offset: 0 };
}

class DiskSpool implements SpoolQueue {
  readonly description: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  /** Undelivered bytes on disk. */
  private bytes: number;
  /** The head segment's lines from `headOffset` on, once read; lines appended to it are added. */
  private head: { readonly seq: number; readonly entries: Entry[]; index: number } | undefined;
  /** The segment this process appends to (always the last one); earlier runs' segments are only read. */
  private writer: { readonly seq: number; readonly handle: FileHandle } | undefined;
  private closed = false;

  constructor(
    private readonly options: SpoolOptions,
    private readonly report: SpoolReport,
    private readonly segments: Segment[],
    private headOffset: number,
    private nextSeq: number,
  ) {
    this.description = options.dir;
    this.maxBytes = options.maxBytes;
    this.segmentBytes = options.segmentBytes ?? SEGMENT_BYTES;
    this.bytes = segments.reduce((sum, s) => sum + s.size, 0) - headOffset;
  }

  isEmpty(): boolean {
    return this.segments.length === 0;
  }

  async append(lines: readonly string[]): Promise<AppendResult> {
    // Decide what fits first, so that a write error later never turns a counted drop into a retry.
    const kept: string[] = [];
    let keptBytes = 0;
    let dropped = 0;
    for (const line of lines) {
      const size = lineBytes(line);
      if (this.bytes + keptBytes + size > this.maxBytes) dropped++;
      else {
        kept.push(line);
        keptBytes += size;
      }
    }
    if (dropped > 0) {
      this.report.dropped(dropped);
      this.report.error(`audit webhook spool ${this.options.dir} is full (${this.maxBytes} bytes): ${dropped} event(s) dropped`);
    }
    let written = 0;
    try {
      while (written < kept.length) written += await this.writeSome(kept, written);
      return { unwritten: [] };
    } catch (err) {
      return { unwritten: kept.slice(written), error: `writing to the audit webhook spool ${this.options.dir}: ${messageOf(err)}` };
    }
  }

  /** Writes lines from `from` on into the current segment, up to where it is full; returns how many. */
  private async writeSome(lines: readonly string[], from: number): Promise<number> {
    let segment = this.segments.at(-1);
    if (this.writer === undefined || segment === undefined || segment.seq !== this.writer.seq || segment.size >= this.segmentBytes) {
      segment = await this.startSegment();
    }
    const writer = this.writer!;
    const entries: Entry[] = [];
    let size = segment.size;
    for (let i = from; i < lines.length; i++) {
      const bytes = lineBytes(lines[i]!);
      // A line longer than a segment still goes in, alone.
      if (entries.length > 0 && size + bytes > this.segmentBytes) break;
      entries.push({ line: lines[i]!, bytes });
      size += bytes;
    }
    const data = Buffer.from(entries.map((e) => `${e.line}\n`).join(''));
    try {
      let done = 0;
      while (done < data.length) done += (await writer.handle.write(data, done, data.length - done)).bytesWritten;
    } catch (err) {
      // Cut off a partial line, so that the next append starts on a line boundary.
      await writer.handle.truncate(segment.size).catch(() => undefined);
      throw err;
    }
    segment.size += data.length;
    this.bytes += data.length;
    if (this.head?.seq === segment.seq) for (const entry of entries) this.head.entries.push(entry);
    return entries.length;
  }

  private async startSegment(): Promise<Segment> {
    await this.closeWriter();
    const seq = this.nextSeq++;
    const handle = await open(join(this.options.dir, segmentName(seq)), constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_EXCL, FILE_MODE);
    const segment = { seq, size: 0 };
    this.segments.push(segment);
    this.writer = { seq, handle };
    return segment;
  }

  private async closeWriter(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    await writer?.handle.close();
  }

  async peek(max: number): Promise<readonly string[]> {
    for (;;) {
      const segment = this.segments[0];
      if (segment === undefined) return [];
      if (this.head?.seq !== segment.seq) this.head = { seq: segment.seq, entries: await this.readHead(segment), index: 0 };
      const { entries, index } = this.head;
      if (index < entries.length) return entries.slice(index, index + max).map((e) => e.line);
      // Nothing usable was left in it (only lines cut short or damaged).
      await this.removeHead();
    }
  }

  /** The head segment's events from the cursor on; damaged lines are dropped and reported. */
  private async readHead(segment: Segment): Promise<Entry[]> {
    let file: Buffer;
    try {
      file = await readFile(join(this.options.dir, segmentName(segment.seq)));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      // Removed by someone else: what it held is gone; the queue moves on rather than stick.
      this.report.error(`audit webhook spool ${this.options.dir}: ${segmentName(segment.seq)} disappeared; its events are lost`);
      return [];
    }
    const data = file.subarray(this.headOffset);
    const entries: Entry[] = [];
    let skippedBytes = 0;
    let damaged = 0;
    let start = 0;
    while (start < data.length) {
      const end = data.indexOf(0x0a, start);
      const stop = end === -1 ? data.length : end + 1;
      const line = data.toString('utf8', start, end === -1 ? data.length : end);
      // A line without its newline was being written when a process died.
      if (end !== -1 && isJson(line)) {
        entries.push({ line, bytes: stop - start + skippedBytes });
        skippedBytes = 0;
      } else {
        damaged++;
        skippedBytes += stop - start;
      }
      start = stop;
    }
    const last = entries.at(-1);
    if (last !== undefined) last.bytes += skippedBytes;
    if (damaged > 0) {
      this.report.dropped(damaged);
      this.report.error(`audit webhook spool ${this.options.dir}: ${damaged} damaged line(s) in ${segmentName(segment.seq)} dropped`);
    }
    return entries;
  }

  async commit(count: number): Promise<void> {
    const head = this.head;
    if (head === undefined || count <= 0) return;
    const taken = head.entries.slice(head.index, head.index + count);
    const bytes = taken.reduce((sum, e) => sum + e.bytes, 0);
    head.index += taken.length;
    this.headOffset += bytes;
    this.bytes -= bytes;
    if (head.index >= head.entries.length) await this.removeHead();
    else await this.writeCursor(head.seq, this.headOffset);
  }

  private async removeHead(): Promise<void> {
    const segment = this.segments.shift();
    if (segment === undefined) return;
    this.bytes -= segment.size - this.headOffset;
    this.headOffset = 0;
    this.head = undefined;
    if (this.writer?.seq === segment.seq) await this.closeWriter();
    await unlinkIfPresent(join(this.options.dir, segmentName(segment.seq)));
    // With no segment left the cursor means nothing; removing it leaves the directory empty.
    if (this.segments.length === 0) await unlinkIfPresent(join(this.options.dir, CURSOR));
  }

  private async writeCursor(segment: number, offset: number): Promise<void> {
    const tmp = join(this.options.dir, CURSOR_TMP);
    await writeFile(tmp, JSON.stringify({ segment, offset }), { mode: FILE_MODE });
    await rename(tmp, join(this.options.dir, CURSOR));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writer?.handle.datasync();
    } finally {
      await this.closeWriter();
      await unlinkIfPresent(join(this.options.dir, LOCK));
    }
  }
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** The queue used when the spool directory cannot be: events wait in memory, up to `maxBytes`, and die with the process. */
export function memoryQueue(maxBytes: number, report: SpoolReport): SpoolQueue {
  const lines: string[] = [];
  let bytes = 0;
  return {
    description: 'memory (no spool directory)',
    isEmpty: () => lines.length === 0,
    append(more) {
      let dropped = 0;
      for (const line of more) {
        const size = lineBytes(line);
        if (bytes + size > maxBytes) dropped++;
        else {
          lines.push(line);
          bytes += size;
        }
      }
      if (dropped > 0) {
        report.dropped(dropped);
        report.error(`audit webhook: ${dropped} event(s) dropped: the in-memory queue is full (${maxBytes} bytes)`);
      }
      return Promise.resolve({ unwritten: [] });
    },
    peek: (max) => Promise.resolve(lines.slice(0, max)),
    commit(count) {
      for (const line of lines.splice(0, count)) bytes -= lineBytes(line);
      return Promise.resolve();
    },
    close() {
      // Nothing keeps them past this process.
      if (lines.length > 0) {
        report.dropped(lines.length);
        report.error(`audit webhook: ${lines.length} undelivered event(s) lost: there was no spool directory to keep them in`);
        lines.length = 0;
      }
      return Promise.resolve();
    },
  };
}
