// Finds or installs wrk, runs one load cell with it and reads the result from a Lua `done`
// hook that prints exact counters as JSON (wrk's own summary rounds bytes to 2 digits).
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCommand } from './debian-tools.js';


const DONE_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH-JSON {"durationUs":%.0f,"requests":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"p50Us":%.0f,"p99Us":%.0f}\\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

/** What wrk reports for one cell. */
export interface WrkResult {
  durationUs: number;
  requests: number;
  bytes: number;
  /** Socket errors by kind, and `status`: responses that were not 2xx or 3xx. */
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
}

export interface WrkRun {
  url: string;
  connections: number;
  durationS: number;
  headers: readonly string[];
}

/** Returns the command to run, installing wrk with apt-get when it is not on PATH. */
export function ensureWrk(): string {
  ensureCommand('wrk', 'wrk', 'the bench needs it as its load generator');
  return 'wrk';
}

/** wrk's version line, for the report header. */
export function wrkVersion(wrk: string): string {
  const result = spawnSync(wrk, ['-v'], { encoding: 'utf8' });
  return `${result.stdout}${result.stderr}`.split('\n')[0]?.trim() ?? 'unknown';
}

/** Writes the Lua hook into `dir` and returns its path. */
export function writeDoneScript(dir: string): string {
  const path = join(dir, 'bench-done.lua');
  writeFileSync(path, DONE_SCRIPT);
  return path;
}

function wrkArgs(run: WrkRun, script: string): string[] {
  // wrk needs threads ≤ connections; two threads are enough for this 2-core box's load.
  const threads = Math.min(run.connections, 2);
  const headers = run.headers.flatMap((header) => ['-H', header]);
  return ['-t', String(threads), '-c', String(run.connections), '-d', `${run.durationS}s`, '--timeout', '10s', '--latency', '-s', script, ...headers, run.url];
}

/** Runs wrk asynchronously (the children's output pipes must keep draining meanwhile). */
export function runWrk(wrk: string, script: string, run: WrkRun): Promise<WrkResult> {
  const child = spawn(wrk, wrkArgs(run, script), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const guard = setTimeout(() => child.kill('SIGKILL'), (run.durationS + 30) * 1000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(guard);
      const json = /^BENCH-JSON (.+)$/m.exec(output)?.[1];
      if (code !== 0 || json === undefined) reject(new Error(`wrk exited with ${code}: ${output.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve(JSON.parse(json) as WrkResult);
    });
  });
}
