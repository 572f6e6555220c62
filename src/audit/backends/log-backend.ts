// The audit log file backend: kube-apiserver's --audit-log-* options with its rotation, which is
// gopkg.in/natefinch/lumberjack.v2 (k8s.io/apiserver pkg/server/options/audit.go `getWriter`).
// Written here rather than with rotating-file-stream because that library rotates after the write
// that crosses the limit (lumberjack before it), keeps max files through a history file of its own
// (so it never prunes backups it did not make), has no max age, and stops for good at its first
// error; every one of those would show in the files an operator or a log shipper sees.
//
// Lumberjack's rules, as followed here: a backup is `<name without ext>-<UTC 2006-01-02T15-04-05.000><ext>`
// beside the log; the log is rotated when a write would take it past MaxSize MiB; after each
// rotation (and at open) backups beyond MaxBackups (newest kept, `x` and `x.gz` counting once) and
// older than MaxAge days by the time in their name are removed, and the rest gzipped when Compress.
// The new file takes the old one's mode. Deliberate differences: an event larger than MaxSize is
// written, alone in its file (lumberjack refuses the write, losing the event); a backup name already
// taken (two rotations in one millisecond) moves on by a millisecond instead of overwriting the older
// backup; directories made again at run time are 0700, like kube's at start-up (lumberjack: 0755).

import { chmodSync, closeSync, constants, createReadStream, createWriteStream, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { AUDIT_LOG } from '../../config/defaults.js';
import { ConfigError, messageOf } from '../../errors.js';
import { describeFsError, errnoCode } from '../../kubeconfig/fs-errors.js';
import type { AuditBackend, AuditEvent } from '../event.js';

/** kube-apiserver's --audit-log-path, --audit-log-maxsize, --audit-log-maxbackup, --audit-log-maxage, --audit-log-compress. */
export interface LogBackendOptions {
  /** The log file; `-` writes to standard output. */
  readonly path: string;
  /** MiB before the file is rotated; 0 = never rotated (kube since 2026-02: a plain append-only file). */
  readonly maxSizeMB: number;
  /** Backups kept (0 = all, subject to maxAgeDays). */
  readonly maxBackups: number;
  /** Days a backup is kept, by the time in its name (0 = no age limit). */
  readonly maxAgeDays: number;
  /** Gzip backups (`…log.gz`) once rotated. */
  readonly compress: boolean;
  /** Bytes of lines waiting for a stalled disk before events are dropped; 64 MiB unless given. */
  readonly maxPendingBytes?: number;
}

/** kube-apiserver's current defaults for the --audit-log-* options (apiserver commit 385343a, 2026-02). */
export const LOG_DEFAULTS = { ...AUDIT_LOG, compress: false } as const;

/** The log backend, with what it had to drop. */
export interface LogBackend extends AuditBackend {
  /** Events not written: dropped while the disk fell behind, lost to write errors, or written after close. */
  readonly droppedEvents: number;
}

const MEGABYTE = 1024 * 1024;
const DEFAULT_MAX_PENDING_BYTES = 64 * MEGABYTE;
/** Largest single write: bounds the copy made to join lines. */
const BATCH_BYTES = 256 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Drops are told to onDropped at once, then at most this often while they go on (and the rest at close). */
const DROP_REPORT_MS = 10_000;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const GZ = '.gz';
const NEWLINE = 0x0a;

// ---- names -------------------------------------------------------------------------------------

/** Go's filepath.Ext: from the last dot of the base name (so `.audit` is all extension). */
function goExt(base: string): string {
  const dot = base.lastIndexOf('.');
  return dot === -1 ? '' : base.slice(dot);
}

/** The part of a backup's name before its timestamp (`audit-`) and after it (`.log`). */
function backupAffixes(logPath: string): { readonly prefix: string; readonly ext: string } {
  const base = basename(logPath);
  const ext = goExt(base);
  return { prefix: `${base.slice(0, base.length - ext.length)}-`, ext };
}

/** Lumberjack's backup timestamp, `2006-01-02T15-04-05.000` in UTC. */
function backupTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 23).replaceAll(':', '-');
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})$/;

/** The time a backup timestamp names, or undefined when it is not one (as Go's time.Parse refuses it). */
function parseBackupTimestamp(text: string): number | undefined {
  if (!TIMESTAMP.test(text)) return undefined;
  const ms = Date.parse(`${text.slice(0, 10)}T${text.slice(11, 19).replaceAll('-', ':')}${text.slice(19)}Z`);
  // Date.parse rolls 2026-02-30 over to March; Go refuses it, and so does the round trip.
  return Number.isNaN(ms) || backupTimestamp(ms) !== text ? undefined : ms;
}

/** Where the log goes when rotated at `epochMs`. */
function backupPath(logPath: string, epochMs: number): string {
  const { prefix, ext } = backupAffixes(logPath);
  return join(dirname(logPath), `${prefix}${backupTimestamp(epochMs)}${ext}`);
}

interface Backup {
  readonly name: string;
  readonly time: number;
  readonly compressed: boolean;
}

/** The log's backups in its directory (plain and gzipped), newest first. */
async function listBackups(logPath: string): Promise<Backup[]> {
  const { prefix, ext } = backupAffixes(logPath);
  const backups: Backup[] = [];
  for (const entry of await readdir(dirname(logPath), { withFileTypes: true })) {
    if (entry.isDirectory() || !entry.name.startsWith(prefix)) continue;
    for (const suffix of [ext, ext + GZ]) {
      if (!entry.name.endsWith(suffix) || entry.name.length < prefix.length + suffix.length) continue;
      const time = parseBackupTimestamp(entry.name.slice(prefix.length, entry.name.length - suffix.length));
      if (time === undefined) continue;
      backups.push({ name: entry.name, time, compressed: suffix !== ext });
      break;
    }
  }
  return backups.sort((a, b) => b.time - a.time);
}

/** What lumberjack's mill does with backups (newest first): remove beyond count or age, compress the rest. */
function planMill(backups: readonly Backup[], options: LogBackendOptions, now: number): { remove: Backup[]; compress: Backup[] } {
  const remove: Backup[] = [];
  let kept = backups;
  if (options.maxBackups > 0 && options.maxBackups < kept.length) {
    // `x.log` and `x.log.gz` are one backup (a compression cut short leaves both).
    const names = new Set<string>();
    const remaining: Backup[] = [];
    for (const backup of kept) {
      names.add(backup.compressed ? backup.name.slice(0, -GZ.length) : backup.name);
      (names.size > options.maxBackups ? remove : remaining).push(backup);
    }
    kept = remaining;
  }
  if (options.maxAgeDays > 0) {
    const cutoff = now - options.maxAgeDays * DAY_MS;
    remove.push(...kept.filter((backup) => backup.time < cutoff));
    kept = kept.filter((backup) => backup.time >= cutoff);
  }
  return { remove, compress: options.compress ? kept.filter((backup) => !backup.compressed) : [] };
}

// ---- files -------------------------------------------------------------------------------------

/** One line for onError, whatever the error's message holds. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/** Go's words for the errors of writing, which describeFsError (made for reading) lacks. */
const WRITE_ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  EFBIG: 'file too large',
};

/** `op PATH: reason` in Go's words, as kube-apiserver would say it. */
function fsMessage(op: string, path: string, err: unknown): string {
  const code = errnoCode(err);
  if (code === undefined) return `${op} ${path}: ${oneLine(messageOf(err))}`;
  // We open to write, where Go too fails at the open (describeFsError speaks of reading files).
  if (code === 'EISDIR') return `${op} ${path}: is a directory`;
  // Node's recursive mkdir says EEXIST where a file is in the way; Go's MkdirAll, ENOTDIR.
  if (code === 'EEXIST' && op === 'mkdir') return `${op} ${path}: not a directory`;
  const text = WRITE_ERRNO_TEXT[code];
  if (text !== undefined) return `${op} ${path}: ${text}`;
  return describeFsError(op, path, err);
}

/** The directories between `first` (the first one mkdir created) and `deepest`, both included. */
function createdDirs(first: string, deepest: string): string[] {
  const dirs: string[] = [];
  for (let dir = deepest; dir.length > first.length; dir = dirname(dir)) dirs.push(dir);
  dirs.push(first);
  return dirs;
}

/**
 * Creates the audit log's missing directories (0700) and the file itself (0600), as kube-apiserver's
 * `ensureLogFile` does at start-up; an existing file is left as it is. Throws a one-line ConfigError
 * naming --audit-log-path when that fails. Nothing to do for `-` (stdout). createLogBackend calls it.
 */
export function openCheck(options: Pick<LogBackendOptions, 'path'>): void {
  if (options.path === '-') return;
  const path = resolve(options.path);
  let op = 'mkdir';
  let target = dirname(path);
  try {
    // mode only sets the bits the umask lets through: chmod makes it 0700 whatever the umask.
    const first = mkdirSync(target, { recursive: true, mode: DIR_MODE });
    if (first !== undefined) for (const dir of createdDirs(first, target)) chmodSync(dir, DIR_MODE);
    [op, target] = ['open', path];
    closeSync(openAppendSync(path));
  } catch (err) {
    throw new ConfigError(`--audit-log-path ${options.path}: cannot create the audit log: ${fsMessage(op, target, err)}`, { cause: err });
  }
}

const APPEND = constants.O_WRONLY | constants.O_APPEND;

function openAppendSync(path: string): number {
  try {
    const fd = openSync(path, APPEND | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
    fchmodSync(fd, FILE_MODE);
    return fd;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
    return openSync(path, APPEND);
  }
}

/** Opens `path` to append, creating it with `mode` (then chmod, past the umask) when missing, with its directories. */
async function openAppend(path: string, mode: number, makeDirs = true): Promise<FileHandle> {
  try {
    const handle = await open(path, APPEND | constants.O_CREAT | constants.O_EXCL, mode);
    await handle.chmod(mode).catch(async (err: unknown) => {
      await handle.close();
      throw err;
    });
    return handle;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') return open(path, APPEND);
    if (code !== 'ENOENT' || !makeDirs) throw err;
    // The directory went away while we ran: make it again, as lumberjack does.
    const first = await mkdir(dirname(path), { recursive: true, mode: DIR_MODE });
    if (first !== undefined) for (const dir of createdDirs(first, dirname(path))) await chmod(dir, DIR_MODE);
    return openAppend(path, mode, false);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** A backup name for now that no plain or gzipped backup has yet. */
async function freeBackupPath(logPath: string): Promise<string> {
  const now = Date.now();
  for (let ms = now; ms < now + 1000; ms += 1) {
    const candidate = backupPath(logPath, ms);
    if (!(await exists(candidate)) && !(await exists(candidate + GZ))) return candidate;
  }
  throw new Error(`no free backup name for ${logPath} within a second of ${backupTimestamp(now)}`);
}

/** Gzips `src` into `src.gz` with src's mode, streaming, then removes src; leaves no partial `.gz`. */
async function gzipFile(src: string): Promise<void> {
  const dst = src + GZ;
  const mode = (await stat(src)).mode & 0o777;
  try {
    await pipeline(createReadStream(src), createGzip(), createWriteStream(dst, { mode }));
    await chmod(dst, mode);
  } catch (err) {
    // unlink, not rm: never a directory that happens to carry the name.
    await unlink(dst).catch(() => undefined);
    throw err;
  }
  await unlink(src);
}

// ---- sinks -------------------------------------------------------------------------------------

/** A write that failed after `written` bytes of its chunk went out. */
class WriteFailure extends Error {
  constructor(
    message: string,
    readonly written: number,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** Where batches go: the log file (rotated) or standard output. */
interface Sink {
  /** Opens what needs opening, so that room() counts what is already there. */
  ready(): Promise<void>;
  /** Bytes that fit before a rotation is due; Infinity when there is no rotation. */
  room(): number;
  /** True when there is something to rotate away: an oversized event then gets a file to itself. */
  hasContent(): boolean;
  rotate(): Promise<void>;
  /** Writes all of `chunk`; rejects with a one-line message (a WriteFailure when some of it went out). */
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
}

class StdoutSink implements Sink {
  async ready(): Promise<void> {}
  room(): number {
    return Infinity;
  }
  hasContent(): boolean {
    return false;
  }
  async rotate(): Promise<void> {}
  write(chunk: Buffer): Promise<void> {
    // One write at a time, finished when its callback runs: stdout's own buffer stays small and
    // the queue in front of it holds the backlog, bounded.
    return new Promise((resolvePromise, reject) => {
      process.stdout.write(chunk, (err) => (err ? reject(new Error(`write to stdout: ${oneLine(err.message)}`)) : resolvePromise()));
    });
  }
  // stdout is the process's, not ours to close; the drain already waited for every callback.
  async close(): Promise<void> {}
}

class FileSink implements Sink {
  private handle: FileHandle | undefined;
  /** Bytes counted toward the next rotation: the file's size, or since a rotation that failed. */
  private size = 0;
  /** Only the first open continues an existing file whose size counts toward the limit. */
  private firstOpen = true;
  /** A failed write left half a line: the next write ends it first, so later lines stay whole. */
  private brokenLine = false;
  /** The new file after a rotation gets the old one's mode, as in lumberjack (an operator's 0640 stays). */
  private mode = FILE_MODE;
  private readonly maxBytes: number;

  constructor(
    private readonly path: string,
    maxSizeMB: number,
    private readonly onError: (message: string) => void,
    private readonly onRotated: () => void,
  ) {
    this.maxBytes = maxSizeMB > 0 ? maxSizeMB * MEGABYTE : 0;
  }

  room(): number {
    return this.maxBytes === 0 ? Infinity : this.maxBytes - this.size;
  }

  hasContent(): boolean {
    return this.size > 0;
  }

  async ready(): Promise<void> {
    await this.opened();
  }

  async write(chunk: Buffer): Promise<void> {
    const handle = await this.opened();
    if (this.brokenLine) {
      await this.writeAll(handle, Buffer.from('\n'));
      this.brokenLine = false;
    }
    await this.writeAll(handle, chunk);
  }

  private async writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
    let offset = 0;
    try {
      while (offset < chunk.length) offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
    } catch (err) {
      if (offset > 0 && chunk[offset - 1] !== NEWLINE) this.brokenLine = true;
      // Reopen for the next batch: the handle may be what broke (a stale NFS file, say).
      this.handle = undefined;
      await handle.close().catch(() => undefined);
      throw new WriteFailure(fsMessage('write', this.path, err), offset, { cause: err });
    } finally {
      this.size += offset;
    }
  }

  /** Lumberjack's rotate: close, rename to the backup name, open a new file, then mill. */
  async rotate(): Promise<void> {
    await this.closeHandle();
    let backup = '';
    try {
      this.mode = (await stat(this.path)).mode & 0o777;
      backup = await freeBackupPath(this.path);
      await rename(this.path, backup);
    } catch (err) {
      // Gone already (removed by hand): nothing to keep, start afresh. Otherwise write on in the
      // same file and try again after another maxsize, rather than at every batch.
      if (errnoCode(err) !== 'ENOENT') this.onError(`audit log: cannot rotate ${this.path}, writing on to it: ${fsMessage('rename', backup || this.path, err)}`);
    }
    this.size = 0;
    this.brokenLine = false;
    this.onRotated();
  }

  async close(): Promise<void> {
    await this.closeHandle();
  }

  private async opened(): Promise<FileHandle> {
    if (this.handle !== undefined) return this.handle;
    let handle: FileHandle;
    try {
      handle = await openAppend(this.path, this.mode);
    } catch (err) {
      throw new Error(fsMessage('open', this.path, err), { cause: err });
    }
    // Later opens follow a rotation (a new file) or a failed one (whose size no longer counts).
    if (this.firstOpen) this.size = (await handle.stat().catch(() => ({ size: 0 }))).size;
    this.firstOpen = false;
    this.handle = handle;
    return handle;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle === undefined) return;
    try {
      await handle.close();
    } catch (err) {
      this.onError(`audit log: ${fsMessage('close', this.path, err)}`);
    }
  }
}

// ---- the backend -------------------------------------------------------------------------------

function countNewlines(chunk: Buffer, end: number): number {
  let count = 0;
  for (let at = chunk.indexOf(NEWLINE); at !== -1 && at < end; at = chunk.indexOf(NEWLINE, at + 1)) count += 1;
  return count;
}

interface Line {
  readonly text: string;
  readonly bytes: number;
}

class LogFileBackend implements LogBackend {
  private readonly queue: Line[] = [];
  /** Index of the queue's first unwritten line (shifting a long array at every batch is quadratic). */
  private head = 0;
  /** Bytes queued, the batch being written included. */
  private pendingBytes = 0;
  private readonly maxPendingBytes: number;
  private dropped = 0;
  private overflowing = false;
  private writeFailing = false;
  private closed = false;
  private draining: Promise<void> | undefined;
  private milling: Promise<void> | undefined;
  private millAgain = false;
  private closing: Promise<void> | undefined;
  /** Drops not yet told to onDropped, and the timer that paces telling them. */
  private unreportedDrops = 0;
  private dropReportTimer: NodeJS.Timeout | undefined;
  private readonly sink: Sink;
  private readonly path: string;

  constructor(
    private readonly options: LogBackendOptions,
    private readonly onError: (message: string) => void,
    private readonly onDropped?: (count: number) => void,
  ) {
    this.maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.path = options.path === '-' ? '-' : resolve(options.path);
    this.sink = this.path === '-' ? new StdoutSink() : new FileSink(this.path, options.maxSizeMB, onError, () => this.mill());
    // Lumberjack mills when it opens the file too: backups left from earlier runs are pruned now.
    if (this.path !== '-') this.mill();
  }

  get droppedEvents(): number {
    return this.dropped;
  }

  write(event: AuditEvent): void {
    if (this.closed) {
      this.drop(1);
      this.onError(`audit log: event ${event.auditID} (${event.stage}) written after the log was closed, dropped`);
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(event) + '\n';
    } catch (err) {
      this.drop(1);
      this.onError(`audit log: cannot encode event ${event.auditID}: ${oneLine(messageOf(err))}`);
      return;
    }
    const bytes = Buffer.byteLength(text);
    if (this.pendingBytes + bytes > this.maxPendingBytes) {
      this.drop(1);
      if (!this.overflowing) {
        this.overflowing = true;
        this.onError(`audit log: ${this.path} is not keeping up (${this.pendingBytes} bytes waiting), dropping events until it catches up`);
      }
      return;
    }
    this.queue.push({ text, bytes });
    this.pendingBytes += bytes;
    this.draining ??= this.drain();
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
    while (this.milling !== undefined) await this.milling;
    await this.sink.close();
    clearTimeout(this.dropReportTimer);
    this.dropReportTimer = undefined;
    this.reportDrops();
  }

  /** Counts lost events; onDropped hears of them now, or with the next paced report, so a metric shows a failing disk while it fails. */
  private drop(count: number): void {
    this.dropped += count;
    if (this.onDropped === undefined || count === 0) return;
    this.unreportedDrops += count;
    if (this.dropReportTimer === undefined) this.paceDropReports();
  }

  /** Tells what is unreported, then again every DROP_REPORT_MS while there is more; stops when a period had none. */
  private paceDropReports(): void {
    if (this.unreportedDrops === 0) {
      this.dropReportTimer = undefined;
      return;
    }
    this.reportDrops();
    this.dropReportTimer = setTimeout(() => this.paceDropReports(), DROP_REPORT_MS).unref();
  }

  private reportDrops(): void {
    const count = this.unreportedDrops;
    this.unreportedDrops = 0;
    if (count > 0) this.onDropped?.(count);
  }

  /** Writes the queue out, a batch at a time, then stops; write() starts it again. */
  private async drain(): Promise<void> {
    // Every event of this turn of the event loop goes in the first batch.
    await new Promise<void>((resolveTurn) => setImmediate(resolveTurn));
    try {
      while (this.head < this.queue.length) await this.writeBatch();
    } catch (err) {
      // Not expected (writeBatch reports its own failures); keeps the loop from dying silently.
      this.onError(`audit log: ${oneLine(messageOf(err))}`);
    }
    // Cleared in the same turn as the empty check, so a write() after it always starts a new drain.
    this.draining = undefined;
    if (this.head < this.queue.length) this.draining = this.drain();
  }

  private async writeBatch(): Promise<void> {
    const first = this.queue[this.head];
    if (first === undefined) return;
    let failure: unknown;
    try {
      await this.sink.ready();
      if (first.bytes > this.sink.room() && this.sink.hasContent()) {
        await this.sink.rotate();
        await this.sink.ready();
      }
    } catch (err) {
      failure = err;
    }
    // A file that cannot be opened still takes a batch off the queue (lost, and counted), so the
    // queue keeps moving instead of filling up behind it.
    const { lines, bytes } = this.take(failure === undefined ? Math.min(BATCH_BYTES, this.sink.room()) : BATCH_BYTES);
    const chunk = Buffer.from(lines.join(''), 'utf8');
    if (failure === undefined) {
      try {
        await this.sink.write(chunk);
      } catch (err) {
        failure = err;
      }
    }
    if (failure === undefined) {
      this.writeFailing = false;
    } else {
      // Lines that went out whole before the failure are written, not lost.
      const written = failure instanceof WriteFailure ? failure.written : 0;
      const lost = lines.length - countNewlines(chunk, written);
      this.drop(lost);
      // One report per run of failures, not one per batch.
      if (!this.writeFailing) this.onError(`audit log: ${oneLine(messageOf(failure))}; ${lost} events lost`);
      this.writeFailing = true;
    }
    this.pendingBytes -= bytes;
    this.compact();
    // Hysteresis: a disk hovering at the limit gives one report, not one per event.
    if (this.overflowing && this.pendingBytes <= this.maxPendingBytes / 2) this.overflowing = false;
  }

  /** Takes lines off the queue up to `limit` bytes; the first always, so an event larger than the limit goes alone. */
  private take(limit: number): { lines: string[]; bytes: number } {
    const lines: string[] = [];
    let bytes = 0;
    for (let line = this.queue[this.head]; line !== undefined; line = this.queue[this.head]) {
      if (lines.length > 0 && bytes + line.bytes > limit) break;
      lines.push(line.text);
      bytes += line.bytes;
      this.head += 1;
    }
    return { lines, bytes };
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Runs lumberjack's mill in the background, once more if asked while it runs. */
  private mill(): void {
    const { maxSizeMB, maxBackups, maxAgeDays, compress } = this.options;
    if (maxSizeMB <= 0 || (maxBackups <= 0 && maxAgeDays <= 0 && !compress)) return;
    this.millAgain = true;
    this.milling ??= this.millLoop();
  }

  private async millLoop(): Promise<void> {
    while (this.millAgain) {
      this.millAgain = false;
      await this.millOnce();
    }
    this.milling = undefined;
  }

  private async millOnce(): Promise<void> {
    const dir = dirname(this.path);
    let backups: Backup[];
    try {
      backups = await listBackups(this.path);
    } catch (err) {
      this.onError(`audit log: cannot list old audit logs: ${fsMessage('open', dir, err)}`);
      return;
    }
    const { remove, compress } = planMill(backups, this.options, Date.now());
    for (const backup of remove) {
      const file = join(dir, backup.name);
      await unlink(file).catch((err: unknown) => this.onError(`audit log: cannot remove old audit log: ${fsMessage('remove', file, err)}`));
    }
    for (const backup of compress) {
      const file = join(dir, backup.name);
      await gzipFile(file).catch((err: unknown) => this.onError(`audit log: cannot compress ${file}: ${fsMessage('gzip', file + GZ, err)}`));
    }
  }
}

/**
 * The audit log backend for `options`: one JSON event per line, in order, written in batches in
 * the background, rotated as kube-apiserver's lumberjack does. Creates the file and its
 * directories first (openCheck), throwing a ConfigError when it cannot. Later trouble (write,
 * rotation, compression, a disk that falls behind) goes to `onError` as one line, and logging
 * goes on; events lost are told to `onDropped` when first lost, then at most every 10 s, the rest
 * at close.
 */
export function createLogBackend(options: LogBackendOptions, onError: (message: string) => void, onDropped?: (count: number) => void): LogBackend {
  openCheck(options);
  return new LogFileBackend(options, onError, onDropped);
}
