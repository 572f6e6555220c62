// The --log-file destination: appends pino's lines to the file, in order, in the background, and
// lives through a full or failing disk. pino's own file destination (sonic-boom) re-emits a failed
// write as an uncaught error, and its flush at exit retries a failing write forever: one ENOSPC
// crashed the proxy into an exit that never ended. Here a failed write loses the lines it carried,
// is reported once per run of failures (on stderr: the log itself cannot take the report), and the
// next lines try again; what waits for a slow disk is bounded.

import { writeSync, write as writeFd } from 'node:fs';
import { errnoCode } from '../kubeconfig/fs-errors.js';

/** Lines waiting for the disk beyond this are dropped (and counted) rather than held in memory. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
const NEWLINE = 0x0a;

/** Go's words for the errors a write can meet. */
const WRITE_ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  EROFS: 'read-only file system',
  EBADF: 'bad file descriptor',
};

function reasonOf(err: unknown): string {
  const code = errnoCode(err);
  if (code !== undefined) return WRITE_ERRNO_TEXT[code] ?? code.toLowerCase();
  return err instanceof Error ? err.message.replace(/\s*\n\s*/g, ' ') : String(err);
}

/** Newlines in `text` from `start` on, before `end`. */
function countLines(text: Buffer, start = 0, end = text.length): number {
  let count = 0;
  for (let at = text.indexOf(NEWLINE, start); at !== -1 && at < end; at = text.indexOf(NEWLINE, at + 1)) count += 1;
  return count;
}

/** A chunk to write; `start` is 1 when it begins with the newline that ends a broken line (not a line of its own). */
interface Chunk {
  readonly bytes: Buffer;
  readonly start: number;
}

/** The lines of `chunk` whose newline did not go out in the first `written` bytes. */
function linesLost(chunk: Chunk, written: number): number {
  return countLines(chunk.bytes, chunk.start) - countLines(chunk.bytes, chunk.start, written);
}

/** What the logger writes to; `flushSync` is for the moment the process exits. */
export interface LogFile {
  write(text: string): void;
  flushSync(): void;
}

/**
 * A destination for the open file `fd` (named `path` in reports). `report` receives one line when
 * writing starts to fail and one when it works again, with the count of lines lost in between.
 */
export function createLogFile(fd: number, path: string, report: (message: string) => void): LogFile {
  let pending: string[] = [];
  let pendingBytes = 0;
  let writing = false;
  /** Lines lost since writing last worked; undefined while it works. */
  let lost: number | undefined;
  /** A write that failed half-way left a line without its end: the next write ends it first. */
  let brokenLine = false;

  /** Counts lines lost; the first loss of a run is reported, with `why`. */
  function lose(lines: number, why: () => string): void {
    if (lost === undefined) report(`error: ${why()}; log lines are lost until it can be written again`);
    lost = (lost ?? 0) + lines;
  }

  /** After a write of `chunk` that got `written` bytes out, and failed with `err` if given. */
  function settle(chunk: Chunk, written: number, err?: unknown): void {
    if (err !== undefined) {
      if (written > 0) brokenLine = chunk.bytes[written - 1] !== NEWLINE;
      lose(linesLost(chunk, written), () => `cannot write the log to ${path}: ${reasonOf(err)}`);
      return;
    }
    brokenLine = false;
    if (lost === undefined) return;
    report(`the log at ${path} can be written again; ${lost} lines were lost`);
    lost = undefined;
  }

  /** Writes all of `chunk` from `offset`, then calls `done` with the bytes written and any error. */
  function writeAll(chunk: Buffer, offset: number, done: (written: number, err?: unknown) => void): void {
    writeFd(fd, chunk, offset, chunk.length - offset, null, (err, bytes) => {
      if (err !== null) return done(offset, err);
      if (offset + bytes < chunk.length) return writeAll(chunk, offset + bytes, done);
      done(chunk.length);
    });
  }

  function takePending(): Chunk {
    const chunk = { bytes: Buffer.from((brokenLine ? '\n' : '') + pending.join(''), 'utf8'), start: brokenLine ? 1 : 0 };
    pending = [];
    pendingBytes = 0;
    return chunk;
  }

  function writeNext(): void {
    if (pending.length === 0) {
      writing = false;
      return;
    }
    writing = true;
    const chunk = takePending();
    writeAll(chunk.bytes, 0, (written, err) => {
      settle(chunk, written, err);
      writeNext();
    });
  }

  return {
    write(text) {
      const bytes = Buffer.byteLength(text);
      if (pendingBytes + bytes > MAX_PENDING_BYTES) {
        lose(countLines(Buffer.from(text)), () => `the log at ${path} is not keeping up (${pendingBytes} bytes waiting)`);
        return;
      }
      pending.push(text);
      pendingBytes += bytes;
      if (!writing) writeNext();
    },
    flushSync() {
      // One attempt, no retry: at exit a failing disk must not keep the process.
      if (pending.length === 0) return;
      const chunk = takePending();
      let written = 0;
      try {
        while (written < chunk.bytes.length) {
          const bytes = writeSync(fd, chunk.bytes, written);
          if (bytes === 0) break;
          written += bytes;
        }
      } catch (err) {
        return settle(chunk, written, err);
      }
      settle(chunk, written);
    },
  };
}
