// The soak script at a tiny size, so that it cannot rot: every phase runs, completes and writes its
// JSON. No timing is asserted (the machine may be loaded); only completeness: every connection
// held, every watch got every event, every exec session echoed byte-exact, every GET answered.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

/** The compiled script; `npm test` runs tsc before tap. */
const RUN = fileURLToPath(new URL('../../dist/test/soak/run.js', import.meta.url));
/** Well above what it takes (about 20 s on a loaded 2-core box); a hang fails the test instead of tap's timeout. */
const RUN_TIMEOUT_MS = 90_000;

const SIZES = { connections: 200, watches: 20, events: 10, exec: 5, requests: 5000 };

function runSoak(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGINT'), RUN_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, ...output });
    });
  });
}

interface SoakJson {
  passed: boolean;
  problems: string[];
  results: {
    idle: { requested: number; opened: number; openAtMeasurement: number; answered: number; clientErrors: number; settle: { settled: boolean }; settleBare: { settled: boolean } };
    watches: { opened: number; delivered: number; outOfOrder: number; settle: { settled: boolean } };
    exec: { sessions: number; exact: number; settle: { settled: boolean } };
    soak: { requests: number; done: number; errors: number; samples: unknown[]; settle: { settled: boolean } };
  };
}

void t.test('npm run soak at a tiny size: all four phases complete and the JSON is written', async (t) => {
  const json = join(t.testdir(), 'soak.json');
  const args = Object.entries(SIZES).flatMap(([flag, value]) => [`--${flag}`, String(value)]);
  const result = await runSoak([...args, '--event-interval-ms', '50', '--json', json]);
  t.equal(result.code, 0, `exit code 0; stdout:\n${result.stdout}\nstderr:\n${result.stderr.slice(-2000)}`);
  for (const phase of ['idle:', 'watches:', 'exec:', 'soak:']) t.match(result.stdout, new RegExp(`^${phase}`, 'm'), `the report has the ${phase} section`);

  const { passed, problems, results } = JSON.parse(readFileSync(json, 'utf8')) as SoakJson;
  t.ok(passed, `passed; problems: ${problems.join(' | ')}`);
  t.match(results.idle, { requested: SIZES.connections, opened: SIZES.connections, openAtMeasurement: SIZES.connections, answered: SIZES.connections, clientErrors: 0 }, 'every idle connection held, every keep-alive GET answered');
  t.ok(results.idle.settleBare.settled, "idle, bare connections: the proxy's descriptors came back");
  t.match(results.watches, { opened: SIZES.watches, delivered: SIZES.watches * SIZES.events, outOfOrder: 0 }, 'every watch got every event, in order');
  t.match(results.exec, { sessions: SIZES.exec, exact: SIZES.exec }, 'every exec session echoed byte-exact');
  t.match(results.soak, { requests: SIZES.requests, done: SIZES.requests, errors: 0 }, 'every GET answered 200');
  t.equal(results.soak.samples.length, 200, 'RSS and descriptors sampled 200 times');
  for (const phase of ['idle', 'watches', 'exec', 'soak'] as const) t.ok(results[phase].settle.settled, `${phase}: the proxy's descriptors came back`);
});
