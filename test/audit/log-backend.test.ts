// The audit log file backend against kube-apiserver's --audit-log-* options and lumberjack's
// rotation (gopkg.in/natefinch/lumberjack.v2): lines, modes, appending, rotation names and sizes,
// maxbackup / maxage pruning, gzip, maxsize 0, volume, start-up errors, and the failure paths.
// Real files in t.testdir(); every wait is on close() or a bounded poll.
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { createLogBackend, LOG_DEFAULTS, openCheck, type LogBackend, type LogBackendOptions } from '../../src/audit/backends/log-backend.js';
import type { AuditEvent } from '../../src/audit/event.js';
import { ConfigError } from '../../src/errors.js';

const MiB = 1024 * 1024;
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const NAME = /^audit-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})\.log(\.gz)?$/;

function event(i: number, query = ''): AuditEvent {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `id-${String(i).padStart(6, '0')}`,
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/default/pods${query}`,
    verb: 'list',
    user: { username: 'alice', groups: ['system:authenticated'] },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: '2026-12-02T08:23:29.123456Z',
    stageTimestamp: '2026-12-02T08:23:29.223456Z',
  };
}

/** Event i whose line (newline included) is exactly `bytes` long. */
function sized(i: number, bytes: number): AuditEvent {
  const bare = Buffer.byteLength(JSON.stringify(event(i, '?x=')) + '\n');
  const e = event(i, `?x=${'a'.repeat(bytes - bare)}`);
  if (Buffer.byteLength(JSON.stringify(e) + '\n') !== bytes) throw new Error('sized() miscounted');
  return e;
}

/** Lumberjack's timestamp, written out here independently of the backend's. */
function stamp(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
}

function stampTime(text: string): number {
  return Date.parse(`${text.slice(0, 10)}T${text.slice(11, 19).replaceAll('-', ':')}${text.slice(19)}Z`);
}

function options(path: string, more: Partial<LogBackendOptions> = {}): LogBackendOptions {
  return { path, maxSizeMB: 0, maxBackups: 0, maxAgeDays: 0, compress: false, ...more };
}

function open(opts: LogBackendOptions): { backend: LogBackend; errors: string[] } {
  const errors: string[] = [];
  return { backend: createLogBackend(opts, (message) => errors.push(message)), errors };
}

function lines(text: string): string[] {
  const all = text.split('\n');
  if (all.pop() !== '') throw new Error('file does not end with a newline');
  return all;
}

function readLines(file: string): string[] {
  const data = readFileSync(file);
  return lines((file.endsWith('.gz') ? gunzipSync(data) : data).toString('utf8'));
}

function ids(file: string): string[] {
  return readLines(file).map((line) => (JSON.parse(line) as AuditEvent).auditID);
}

function range(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, k) => `id-${String(from + k).padStart(6, '0')}`);
}

/** Files in dir named like backups of audit.log, oldest first. */
function backups(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => {
      // A real date too, as Go's time.Parse wants: 2026-02-30 is no backup.
      const text = NAME.exec(entry.name)?.[1];
      return entry.isFile() && text !== undefined && stamp(stampTime(text)) === text;
    })
    .map((entry) => entry.name)
    .sort();
}

const mode = (path: string): number => statSync(path).mode & 0o777;

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

void t.test('kube-apiserver defaults', async (t) => {
  t.same(LOG_DEFAULTS, { maxSizeMB: 100, maxAgeDays: 366, maxBackups: 100, compress: false });
});

void t.test('one JSON event per line, in the order written, across turns of the event loop', async (t) => {
  const file = join(t.testdir(), 'audit.log');
  const { backend, errors } = open(options(file));
  const written: AuditEvent[] = [];
  for (let i = 0; i < 300; i += 1) {
    // Newlines, U+2028 and non-ASCII in values must not break a line.
    const e = { ...event(i), annotations: { note: `line\nbreak \u2028 é ${i}` } };
    written.push(e);
    backend.write(e);
    if (i % 100 === 99) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await backend.close();
  const got = readLines(file).map((line) => JSON.parse(line) as unknown);
  t.equal(got.length, 300);
  t.same(got, written);
  t.same(errors, []);
  t.equal(backend.droppedEvents, 0);
});

void t.test('creates the file 0600 and missing directories 0700, past the umask; existing parents untouched', async (t) => {
  const root = t.testdir();
  chmodSync(root, 0o755);
  // The umask takes the owner's read bit: only an explicit chmod gives 0600 and 0700.
  const umask = process.umask(0o400);
  t.teardown(() => process.umask(umask));
  const file = join(root, 'a', 'b', 'c', 'audit.log');
  const { backend, errors } = open(options(file));
  backend.write(event(1));
  await backend.close();
  t.equal(mode(file).toString(8), '600');
  for (const dir of ['a', 'a/b', 'a/b/c']) t.equal(mode(join(root, dir)).toString(8), '700', dir);
  t.equal(mode(root).toString(8), '755');
  t.same(ids(file), range(1, 2));
  t.same(errors, []);
});

void t.test('appends to an existing file and leaves its mode alone', async (t) => {
  const dir = t.testdir({ 'audit.log': '{"earlier":true}\n' });
  const file = join(dir, 'audit.log');
  chmodSync(file, 0o640);
  const { backend, errors } = open(options(file, { maxSizeMB: 1 }));
  backend.write(event(1));
  backend.write(event(2));
  await backend.close();
  const got = readLines(file);
  t.same(got.slice(0, 1), ['{"earlier":true}']);
  t.same(ids(file).slice(1), range(1, 3));
  t.equal(mode(file).toString(8), '640');
  t.same(backups(dir), []);
  t.same(errors, []);
});

void t.test('rotates before a write would pass maxsize, to lumberjack backup names', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'audit.log');
  const before = Date.now();
  const { backend, errors } = open(options(file, { maxSizeMB: 1 }));
  // 1 KiB lines: exactly 1024 fit in a MiB, and a file at exactly maxsize is not rotated yet.
  for (let i = 0; i < 2600; i += 1) backend.write(sized(i, 1024));
  await backend.close();
  const after = Date.now();
  const old = backups(dir);
  t.equal(old.length, 2);
  t.same(readdirSync(dir).sort(), [...old, 'audit.log'].sort());
  for (const name of old) {
    const time = stampTime(NAME.exec(name)?.[1] ?? '');
    t.ok(time >= before - 1 && time <= after + 10, `${name} is stamped with the rotation time (UTC)`);
    t.equal(statSync(join(dir, name)).size, MiB, `${name} holds exactly 1 MiB`);
    t.equal(mode(join(dir, name)).toString(8), '600');
  }
  t.equal(mode(file).toString(8), '600', 'the new file is 0600 too');
  t.same([...old.flatMap((name) => ids(join(dir, name))), ...ids(file)], range(0, 2600));
  t.equal(readLines(file).length, 2600 - 2048);
  t.same(errors, []);
});

void t.test('an existing file counts toward maxsize; a file exactly at maxsize is rotated at the next write', async (t) => {
  const earlier = `${'x'.repeat(MiB - 1025)}\n`;
  const dir = t.testdir({ 'audit.log': earlier });
  const file = join(dir, 'audit.log');
  const first = open(options(file, { maxSizeMB: 1 }));
  // 1024 bytes left: a 1024-byte event still fits.
  first.backend.write(sized(1, 1024));
  await first.backend.close();
  t.same(backups(dir), []);
  t.equal(statSync(file).size, MiB);

  // As in lumberjack, the new file takes the old one's mode: an operator's 0640 survives rotation.
  chmodSync(file, 0o640);
  const second = open(options(file, { maxSizeMB: 1 }));
  second.backend.write(sized(2, 500));
  await second.backend.close();
  const old = backups(dir);
  t.equal(old.length, 1);
  t.equal(mode(file).toString(8), '640');
  t.equal(mode(join(dir, old[0] ?? '')).toString(8), '640');
  const backup = readFileSync(join(dir, old[0] ?? '')).toString();
  t.equal(backup.slice(0, earlier.length), earlier);
  t.equal(backup.length, MiB);
  t.same(ids(file), range(2, 3));
  t.same([...first.errors, ...second.errors], []);
});

void t.test('an event larger than maxsize is still written, in a file of its own', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'audit.log');
  // The clock stands still: both rotations want one name, and the second must not overwrite the
  // first (lumberjack would); it moves on by a millisecond.
  const now = Date.now();
  const realNow = Date.now.bind(Date);
  Date.now = () => now;
  t.teardown(() => {
    Date.now = realNow;
  });
  const { backend, errors } = open(options(file, { maxSizeMB: 1 }));
  backend.write(sized(0, 500));
  backend.write(sized(1, MiB + MiB / 2));
  backend.write(sized(2, 500));
  await backend.close();
  Date.now = realNow;
  const old = backups(dir);
  t.same(old, [`audit-${stamp(now)}.log`, `audit-${stamp(now + 1)}.log`]);
  t.same(old.map((name) => ids(join(dir, name))), [range(0, 1), range(1, 2)]);
  t.equal(statSync(join(dir, old[1] ?? '')).size, MiB + MiB / 2);
  t.same(ids(file), range(2, 3));
  t.same(errors, []);
});

void t.test('maxbackup keeps the newest backups, at open and after each rotation', async (t) => {
  const now = Date.now();
  const name = (hoursAgo: number): string => `audit-${stamp(now - hoursAgo * HOUR)}.log`;
  const dir = t.testdir({
    [name(1)]: 'one\n',
    // The same backup half compressed: x and x.gz count once, as in lumberjack.
    [`${name(1)}.gz`]: gzipSync('one\n'),
    [name(2)]: 'two\n',
    [name(3)]: 'three\n',
    [`${name(4)}.gz`]: gzipSync('four\n'),
    [name(5)]: 'five\n',
    // Not backups of audit.log: left alone.
    'other.log': 'x\n',
    'audit-notatime.log': 'x\n',
    'audit-2026-02-30T00-00-00.000.log': 'x\n',
    'audit.log.1': 'x\n',
    [`audit-${stamp(now - 9 * DAY)}.txt`]: 'x\n',
    // A directory with a backup's name: never removed.
    [`audit-${stamp(now - 9 * DAY)}.log`]: {},
  });
  const file = join(dir, 'audit.log');
  const opts = options(file, { maxSizeMB: 1, maxBackups: 2 });
  const first = open(opts);
  await first.backend.close();
  t.same(backups(dir), [name(2), name(1), `${name(1)}.gz`].sort());
  t.same(
    readdirSync(dir).filter((n) => !backups(dir).includes(n)).sort(),
    [`audit-${stamp(now - 9 * DAY)}.log`, 'audit-2026-02-30T00-00-00.000.log', `audit-${stamp(now - 9 * DAY)}.txt`, 'audit-notatime.log', 'audit.log', 'audit.log.1', 'other.log'].sort(),
  );

  const second = open(opts);
  for (let i = 0; i < 1100; i += 1) second.backend.write(sized(i, 1024));
  await second.backend.close();
  const left = backups(dir);
  t.equal(left.length, 3, 'the new backup and the newest old one (as x and x.gz)');
  t.same(left.slice(0, 2), [name(1), `${name(1)}.gz`]);
  t.same(ids(join(dir, left[2] ?? '')), range(0, 1024));
  t.same([...first.errors, ...second.errors], []);
});

void t.test('maxage removes backups older than that many days by the time in their name', async (t) => {
  const now = Date.now();
  const names = [10 * DAY, 4 * DAY, HOUR].map((ago) => `audit-${stamp(now - ago)}.log`);
  const [tenDays = '', fourDays = '', hour = ''] = names;
  const dir = t.testdir({ [tenDays]: 'a\n', [fourDays]: 'b\n', [hour]: 'c\n', [`${tenDays}.gz`]: gzipSync('a\n') });
  // By name, not by mtime: the file times say the opposite.
  utimesSync(join(dir, tenDays), new Date(now), new Date(now));
  utimesSync(join(dir, fourDays), new Date(now - 30 * DAY), new Date(now - 30 * DAY));
  const file = join(dir, 'audit.log');
  const { backend, errors } = open(options(file, { maxSizeMB: 1, maxAgeDays: 5 }));
  await backend.close();
  t.same(backups(dir), [fourDays, hour]);
  t.same(errors, []);

  const ancient = `audit-${stamp(now - 1000 * DAY)}.log`;
  writeFileSync(join(dir, ancient), 'z\n');
  const unlimited = open(options(file, { maxSizeMB: 1, maxAgeDays: 0 }));
  await unlimited.backend.close();
  t.same(backups(dir), [ancient, fourDays, hour], 'maxage 0 removes nothing');
});

void t.test('compress gzips backups (streaming) and removes the plain ones', async (t) => {
  const earlier = `audit-${stamp(Date.now() - HOUR)}.log`;
  const dir = t.testdir({ [earlier]: 'earlier\n' });
  const file = join(dir, 'audit.log');
  const { backend, errors } = open(options(file, { maxSizeMB: 1, compress: true }));
  for (let i = 0; i < 2600; i += 1) backend.write(sized(i, 1024));
  await backend.close();
  const old = backups(dir);
  t.equal(old.length, 3);
  t.ok(
    old.every((name) => name.endsWith('.log.gz')),
    'no plain backup left',
  );
  t.same(readdirSync(dir).sort(), [...old, 'audit.log'].sort());
  t.same(readLines(join(dir, `${earlier}.gz`)), ['earlier'], 'a backup from before start-up is compressed too');
  const rotated = old.filter((name) => name !== `${earlier}.gz`);
  for (const name of rotated) t.equal(mode(join(dir, name)).toString(8), '600', `${name} keeps the log's mode`);
  t.same([...rotated.flatMap((name) => ids(join(dir, name))), ...ids(file)], range(0, 2600));
  t.same(errors, []);
});

void t.test('a compression that fails is one line to onError, and logging goes on', async (t) => {
  const earlier = `audit-${stamp(Date.now() - HOUR)}.log`;
  // A directory where the .gz would go makes gzip fail.
  const dir = t.testdir({ [earlier]: 'earlier\n', [`${earlier}.gz`]: {} });
  const file = join(dir, 'audit.log');
  const { backend, errors } = open(options(file, { maxSizeMB: 1, compress: true }));
  backend.write(event(1));
  await backend.close();
  t.equal(errors.length, 1);
  t.match(errors[0], /^audit log: cannot compress .*audit-.*\.log: .*is a directory/);
  t.notMatch(errors[0], /\n/);
  t.equal(readFileSync(join(dir, earlier), 'utf8'), 'earlier\n', 'the plain backup is kept');
  t.ok(statSync(join(dir, `${earlier}.gz`)).isDirectory(), 'the directory is not removed');
  t.same(ids(file), range(1, 2));
  t.equal(backend.droppedEvents, 0);
});

void t.test('maxsize 0 never rotates nor prunes: a plain append-only file', async (t) => {
  const ancient = `audit-${stamp(Date.now() - 1000 * DAY)}.log`;
  const dir = t.testdir({ [ancient]: 'old\n' });
  const file = join(dir, 'audit.log');
  const { backend, errors } = open(options(file, { maxSizeMB: 0, maxBackups: 1, maxAgeDays: 1, compress: true }));
  for (let i = 0; i < 2600; i += 1) backend.write(sized(i, 1024));
  await backend.close();
  t.same(readdirSync(dir).sort(), [ancient, 'audit.log'].sort());
  t.equal(statSync(file).size, 2600 * 1024);
  t.same(ids(file), range(0, 2600));
  t.same(errors, []);
});

void t.test('10 000 events written at once, then close(): exactly 10 000 lines', async (t) => {
  const file = join(t.testdir(), 'audit.log');
  const { backend, errors } = open(options(file, { ...LOG_DEFAULTS }));
  for (let i = 0; i < 10_000; i += 1) backend.write(event(i));
  await backend.close();
  t.same(ids(file), range(0, 10_000));
  t.same(errors, []);
  t.equal(backend.droppedEvents, 0);
});

void t.test('a path that cannot be created fails at start with one line naming --audit-log-path', async (t) => {
  const dir = t.testdir({ plain: 'a file\n', sub: {} });
  const underFile = join(dir, 'plain', 'audit.log');
  t.throws(() => createLogBackend(options(underFile), () => undefined), ConfigError);
  for (const [path, reason] of [
    [underFile, `mkdir ${join(dir, 'plain')}: not a directory`],
    [join(dir, 'sub'), `open ${join(dir, 'sub')}: is a directory`],
  ] as const) {
    let message = '';
    try {
      openCheck({ path });
    } catch (err) {
      t.type(err, ConfigError);
      message = (err as Error).message;
    }
    t.equal(message, `--audit-log-path ${path}: cannot create the audit log: ${reason}`);
  }
  t.doesNotThrow(() => openCheck({ path: '-' }));
});

void t.test('a failing disk: events lost are counted, one report per run of failures, writing goes on', { skip: existsSync('/dev/full') ? false : 'no /dev/full here' }, async (t) => {
  // /dev/full takes opens and fails every write with ENOSPC. maxsize 0: nothing to rename.
  const { backend, errors } = open(options('/dev/full'));
  for (let i = 0; i < 3; i += 1) backend.write(event(i));
  await until(() => backend.droppedEvents === 3, 'the first failed write');
  backend.write(event(3));
  backend.write(event(4));
  await backend.close();
  t.equal(backend.droppedEvents, 5);
  t.same(errors, ['audit log: write /dev/full: no space left on device; 3 events lost']);
});

void t.test('write after close goes to onError and never throws', async (t) => {
  const file = join(t.testdir(), 'audit.log');
  const { backend, errors } = open(options(file));
  backend.write(event(1));
  await backend.close();
  t.doesNotThrow(() => backend.write(event(2)));
  t.equal(errors.length, 1);
  t.match(errors[0], /^audit log: event id-000002 \(ResponseComplete\) written after the log was closed/);
  t.equal(backend.droppedEvents, 1);
  t.same(ids(file), range(1, 2));
  await backend.close();
});

void t.test('stdout: a stalled stream holds at most maxPendingBytes, reports once per episode; close waits for the callbacks', async (t) => {
  const line = 500;
  const original = process.stdout.write.bind(process.stdout);
  const chunks: string[] = [];
  const callbacks: (() => void)[] = [];
  // Our lines are held back (the stall); anything else, tap's own output, goes through.
  process.stdout.write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = Buffer.from(chunk).toString('utf8');
    const callback = rest.find((arg) => typeof arg === 'function') as ((err?: Error) => void) | undefined;
    if (!text.startsWith('{"kind":"Event"')) return original(chunk, ...(rest as []));
    chunks.push(text);
    callbacks.push(() => callback?.());
    return true;
  };
  t.teardown(() => {
    process.stdout.write = original;
  });

  const { backend, errors } = open(options('-', { maxPendingBytes: 10 * line }));
  for (let i = 0; i < 25; i += 1) backend.write(sized(i, line));
  const droppedFirst = backend.droppedEvents;
  await until(() => callbacks.length === 1, 'the first stdout write');
  // Still stalled: more events are dropped in the same episode, without another report.
  for (let i = 25; i < 30; i += 1) backend.write(sized(i, line));
  const droppedStalled = backend.droppedEvents;
  const errorsStalled = errors.length;
  callbacks[0]?.();
  // The callback's continuations are microtasks: all done before the next macrotask.
  await new Promise<void>((resolve) => setImmediate(resolve));
  for (let i = 30; i < 55; i += 1) backend.write(sized(i, line));
  let closed = false;
  const closing = backend.close().then(() => {
    closed = true;
  });
  await until(() => callbacks.length === 2, 'the second stdout write');
  await new Promise<void>((resolve) => setImmediate(resolve));
  const closedBeforeCallback = closed;
  callbacks[1]?.();
  await closing;
  process.stdout.write = original;

  t.equal(droppedFirst, 15);
  t.equal(droppedStalled, 20);
  t.equal(errorsStalled, 1);
  t.equal(errors.length, 2, 'a second episode, a second report');
  t.match(errors[0], /^audit log: - is not keeping up/);
  t.equal(backend.droppedEvents, 35);
  t.equal(closedBeforeCallback, false, 'close() waits for the write callback');
  t.equal(chunks.length, 2);
  t.same(
    chunks.flatMap((chunk) => lines(chunk).map((l) => (JSON.parse(l) as AuditEvent).auditID)),
    [...range(0, 10), ...range(30, 40)],
  );
  t.equal(process.stdout.destroyed, false, 'stdout is not closed');
});
