// The --log-file destination on a disk that stops taking writes and then takes them again. A real
// file with a real limit: RLIMIT_FSIZE on this test process (prlimit) makes writes past it fail
// with EFBIG, as a full disk fails them with ENOSPC; truncating the file makes room again.
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createLogFile } from '../../src/observe/log-file.js';
import { waitFor } from '../helpers/waiting.js';

const line = (n: number) => `${JSON.stringify({ n, msg: 'x'.repeat(100) })}\n`;

void t.test('a failing file: reported once, lines lost and counted, and written again once there is room', { skip: existsSync('/usr/bin/prlimit') ? false : 'no prlimit here' }, async (t) => {
  const path = join(t.testdir({}), 'proxy.log');
  const reports: string[] = [];
  const file = createLogFile(openSync(path, 'a', 0o600), path, (message) => reports.push(message));
  const limit = (bytes: string) => execFileSync('prlimit', [`--pid=${process.pid}`, `--fsize=${bytes}`]);
  // Past the limit the kernel also sends SIGXFSZ, whose default ends the process.
  const ignore = () => undefined;
  process.on('SIGXFSZ', ignore);
  t.teardown(() => {
    limit('unlimited:');
    process.off('SIGXFSZ', ignore);
  });

  limit('1000:');
  for (let n = 0; n < 20; n += 1) file.write(line(n));
  await waitFor(() => reports.length > 0, 10_000, 'the failure reported');
  for (let n = 20; n < 40; n += 1) file.write(line(n));
  file.flushSync();
  t.same(reports, [`error: cannot write the log to ${path}: file too large; log lines are lost until it can be written again`], 'one report for the run of failures');

  const whole = (readFileSync(path, 'utf8').match(/\n/g) ?? []).length;
  t.ok(whole > 0 && whole < 40, `the lines before the limit were written (${whole})`);
  truncateSync(path, 0);
  file.write(line(40));
  await waitFor(() => reports.length > 1, 10_000, 'the recovery reported');
  const lost = Number(/; (\d+) lines were lost$/.exec(reports[1] ?? '')?.[1]);
  t.match(reports[1], `the log at ${path} can be written again;`);
  file.write(line(41));
  file.flushSync();
  limit('unlimited:');
  const written = readFileSync(path, 'utf8').split('\n').filter((text) => text !== '');
  t.ok(written.every((text) => (JSON.parse(text) as { n: number }).n >= 0), 'every line whole');
  t.same(written.map((text) => (JSON.parse(text) as { n: number }).n).slice(-2), [40, 41], 'lines are written again, in order');
  t.equal(lost, 40 - whole, `the lines lost are counted: every one not written whole (${lost} of 40)`);
});
