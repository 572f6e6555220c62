// `npm run soak`: load and soak phases against the built proxy in front of the example API server,
// loopback only (issue 14, "Load and soak"). Prints a report and writes JSON (--json).
// Exit 0 when every phase ran complete and met its goals, 1 when one did not, 2 when the soak
// could not start at all.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { machine } from '../bench/environment.js';
import { runScript, type BenchChild } from '../bench/processes.js';
import { runExecPhase } from './exec-sessions.js';
import { openFilesLimit } from './gauges.js';
import { runIdlePhase } from './idle-connections.js';
import { parseSoakOptions, type Phase, type SoakOptions } from './options.js';
import { renderReport, type PhaseResults, type RunInfo } from './report.js';
import { runRequests } from './request-load.js';
import { startSoakSession, type SoakSession } from './session.js';
import { runSoakPhase } from './soak-phase.js';
import { runWatchPhase } from './watch-events.js';

const log = (line: string) => console.error(line);
/** Before the first phase: fills the proxy's short-request pool and loads its lazily-required code. */
const WARM_UP_REQUESTS = 2000;
/** Between phases: what the last one left behind is already checked, this only lets the CPU calm down. */
const PHASE_GAP_MS = 300;
/** Descriptors the soak process and the proxy need beyond the idle phase's connections. */
const FD_HEADROOM = 1000;

class SetupError extends Error {}

const RUNNERS: { [P in Phase]: (session: SoakSession, options: SoakOptions, log: (line: string) => void) => Promise<NonNullable<PhaseResults[P]>> } = {
  idle: runIdlePhase,
  watches: runWatchPhase,
  exec: runExecPhase,
  soak: runSoakPhase,
};

function limitText(limit: { soft: number; hard: number }): string {
  return `${limit.soft}/${limit.hard}`;
}

/** Node raises its soft open-files limit to the hard one at start; the hard one must fit the idle phase. */
function checkOpenFiles(options: SoakOptions, pid: number | 'self'): string | undefined {
  const needed = options.phases.includes('idle') ? options.connections + FD_HEADROOM : FD_HEADROOM;
  const limit = openFilesLimit(pid);
  if (limit.soft >= needed) return undefined;
  return `${pid === 'self' ? 'the soak process' : 'the proxy'} may open ${limit.soft} files (soft limit; hard ${limit.hard}) and needs ${needed}: raise it (ulimit -n ${needed}) or lower --connections`;
}

async function warmUp(session: SoakSession, options: SoakOptions): Promise<string> {
  const total = Math.min(WARM_UP_REQUESTS, Math.max(options.concurrency * 4, Math.ceil(options.requests / 10)));
  const load = await runRequests({ url: session.proxyUrl, path: options.path, total, concurrency: options.concurrency });
  if (load.errors > 0) throw new SetupError(`warm-up: ${load.errors} of ${total} requests failed: ${load.firstErrors.join(' | ')}`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return `${total} GET ${options.path} at c=${options.concurrency} in ${load.elapsedS.toFixed(1)} s`;
}

interface PhasesRun {
  results: PhaseResults;
  errors: Partial<Record<Phase, string>>;
  phaseS: Partial<Record<Phase, number>>;
}

async function runPhases(session: SoakSession, options: SoakOptions): Promise<PhasesRun> {
  const results: PhaseResults = {};
  const errors: Partial<Record<Phase, string>> = {};
  const phaseS: Partial<Record<Phase, number>> = {};
  for (const phase of options.phases) {
    log(`phase ${phase}…`);
    const startedAt = Date.now();
    try {
      // Each runner's result type matches its phase (RUNNERS' type says so).
      (results as Record<Phase, unknown>)[phase] = await RUNNERS[phase](session, options, log);
    } catch (err) {
      errors[phase] = err instanceof Error ? err.message : String(err);
      log(`phase ${phase} could not run: ${errors[phase]}`);
    }
    phaseS[phase] = (Date.now() - startedAt) / 1000;
    await new Promise((resolve) => setTimeout(resolve, PHASE_GAP_MS));
  }
  return { results, errors, phaseS };
}

function writeJson(path: string, content: object): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(content, null, 2) + '\n');
  log(`wrote ${path}`);
}

async function main(): Promise<number> {
  const options = parseSoakOptions(process.argv.slice(2));
  const selfLimit = checkOpenFiles(options, 'self');
  if (selfLimit !== undefined) throw new SetupError(selfLimit);
  const started = { at: new Date(), machine: machine() };
  const dir = mkdtempSync(join(tmpdir(), 'kube-auth-proxy-soak-'));
  const children: BenchChild[] = [];
  try {
    const session = await startSoakSession(dir, options, children).catch((err: unknown) => {
      throw new SetupError(`could not start the API server and the proxy: ${err instanceof Error ? err.message : String(err)}`);
    });
    const proxyLimit = checkOpenFiles(options, session.ports.pid);
    if (proxyLimit !== undefined) throw new SetupError(proxyLimit);
    log(`proxy on ${session.proxyUrl} (pid ${session.ports.pid}), API server on ${session.upstream.url}`);
    const warmUpText = await warmUp(session, options);
    const { results, errors, phaseS } = await runPhases(session, options);
    const notes = children.flatMap((child) => (child.exitReason() === undefined ? [] : [`${child.name} ${child.exitReason()}; stderr: ${child.stderr().last.slice(-3).join(' | ')}`]));
    const info: RunInfo = {
      startedAt: started.at.toISOString().replace(/\.\d+Z$/, 'Z'),
      elapsedS: (Date.now() - started.at.getTime()) / 1000,
      ...{ machine: started.machine, node: process.version, proxyCommand: session.proxyCommand, warmUp: warmUpText, phaseS },
      openFiles: { soak: limitText(openFilesLimit('self')), proxy: limitText(openFilesLimit(session.ports.pid)) },
    };
    process.stdout.write(renderReport(info, options.phases, results, errors, notes));
    const problems = [...Object.entries(errors).map(([phase, error]) => `${phase}: ${error}`), ...(Object.entries(results) as [string, { problems: string[] }][]).flatMap(([phase, result]) => result.problems.map((problem) => `${phase}: ${problem}`))];
    writeJson(options.json, { info, options, results, errors, notes, problems, passed: problems.length === 0 });
    await session.upstream.dispatcher.close();
    return problems.length === 0 && notes.length === 0 ? 0 : 1;
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

runScript('soak', main, (err) => err instanceof SetupError);
