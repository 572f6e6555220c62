// The processes under test, each started as a child and awaited until it prints its listening
// line (or, for nginx, answers GET /version): the upstream, kubectl proxy and kube-auth-proxy.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePki, writeDemoKubeconfig } from '../../examples/demo-files.js';
import { PKI_FILES } from '../../examples/pki.js';
import { buildGoUpstream } from './go-upstream.js';
import { prepareNginx } from './nginx-upstream.js';
import { probe, type ProbeTarget } from './probe.js';
import type { UpstreamKind } from './options.js';

/** Both take `--pki-dir DIR --port 0 --token T=U` and print the same two start lines. */
const UPSTREAM_MAINS = {
  h2: fileURLToPath(new URL('./upstream-main.js', import.meta.url)),
  example: fileURLToPath(new URL('../../examples/api-server-main.js', import.meta.url)),
};
const PROXY_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;
/** Between readiness probes of a child that prints no start line. */
const READY_POLL_MS = 50;
/** stderr lines kept per child for the report; the count is kept in full. */
const KEPT_STDERR_LINES = 20;

/** A running child process with its stderr kept for the report. */
export interface BenchChild {
  readonly name: string;
  readonly pid: number;
  /** Lines the child wrote to stderr so far (the last few) and how many in all. */
  readonly stderr: () => { last: string[]; count: number };
  /** Why it is no longer running, or undefined while it runs. */
  readonly exitReason: () => string | undefined;
  readonly stop: () => Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every child still running; safe to call from an exit handler. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Runs a script's `main` (bench, soak): its result is the exit code; a failure is one line named
 * `name`, exit 2 when `cannotRun(err)` (nothing was measured) else 1; no child outlives it.
 */
export function runScript(name: string, main: () => Promise<number>, cannotRun: (err: unknown) => boolean): void {
  process.once('exit', killAll);
  process.once('SIGINT', () => {
    killAll();
    process.exit(130);
  });
  main().then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = cannotRun(err) ? 2 : 1;
    },
  );
}

function keepStderr(child: ChildProcess): () => { last: string[]; count: number } {
  const last: string[] = [];
  let count = 0;
  let partial = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    count += lines.length;
    last.push(...lines);
    last.splice(0, Math.max(0, last.length - KEPT_STDERR_LINES));
  });
  return () => ({ last: [...last], count });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function wrapChild(name: string, child: ChildProcess): BenchChild {
  const stderr = keepStderr(child);
  running.add(child);
  child.once('exit', () => running.delete(child));
  const exitReason = () =>
    child.exitCode !== null ? `exited with code ${child.exitCode}` : child.signalCode !== null ? `killed by ${child.signalCode}` : undefined;
  return { name, pid: child.pid!, stderr, exitReason, stop: () => stopChild(child) };
}

/**
 * Spawns `command` and resolves with what `ready` resolves with (the child is then serving); fails
 * when the child exits or cannot start first, or after START_TIMEOUT_MS. `ready` is told when to give up.
 */
function spawnReady<T>(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, ready: (proc: ChildProcess, gaveUp: () => boolean) => Promise<T>): Promise<{ child: BenchChild; ready: T }> {
  const proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = wrapChild(name, proc);
  let settled = false;
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${name} ${why}; stderr: ${child.stderr().last.join(' | ')}`));
    };
    const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    proc.once('error', (err) => fail(`could not be started (${err.message})`));
    const onExit = (code: number | null) => fail(`exited with ${code} before it was ready`);
    proc.once('exit', onExit);
    ready(proc, () => settled).then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        proc.off('exit', onExit);
        resolve({ child, ready: value });
      },
      (err: unknown) => fail(`was not ready: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
}

/** Spawns `command` and resolves with the first stdout match of `ready` (the child's start line). */
async function spawnUntil(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: BenchChild; match: RegExpExecArray; stdout: string }> {
  let stdout = '';
  const started = await spawnReady(name, command, args, env, (proc) =>
    new Promise<RegExpExecArray>((resolve) => {
      proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const match = ready.exec(stdout);
        if (match) resolve(match);
      });
    }),
  );
  return { child: started.child, match: started.ready, stdout };
}

/** Polls GET /version until it answers 200: for a child that prints no start line (nginx). */
async function untilServing(target: ProbeTarget, gaveUp: () => boolean): Promise<void> {
  while (!gaveUp() && (await probe(target, '/version', 1000)) !== undefined) await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
}

/**
 * The upstream in its own process (Go's net/http, nginx, the bench's Node h2 server, or the example
 * server), accepting `token`. nginx's config and files go beside `pkiDir`, in the caller's scratch directory.
 */
export async function startUpstream(kind: UpstreamKind, pkiDir: string, token: string, env: NodeJS.ProcessEnv): Promise<{ child: BenchChild; url: string; kubeconfig: string }> {
  const ready = /^listening on (https:\/\/\S+)$/m;
  if (kind === 'nginx') {
    // nginx reads the PKI files the Node mains would make; it prints nothing once it listens.
    ensurePki(pkiDir);
    const nginx = await prepareNginx(join(dirname(pkiDir), 'nginx'), pkiDir, token);
    const target = { url: nginx.url, headers: [`Authorization: Bearer ${token}`], ca: readFileSync(join(pkiDir, PKI_FILES.caCert), 'utf8') };
    const { child } = await spawnReady('upstream', nginx.command, nginx.args, env, (_proc, gaveUp) => untilServing(target, gaveUp));
    return { child, url: nginx.url, kubeconfig: writeDemoKubeconfig(pkiDir, nginx.url) };
  }
  if (kind === 'go') {
    // The Go server reads the PKI the Node mains would make; the kubeconfig is written here.
    ensurePki(pkiDir);
    const { child, match } = await spawnUntil('upstream', buildGoUpstream(), ['--pki-dir', pkiDir, '--token', token], env, ready);
    return { child, url: match[1]!, kubeconfig: writeDemoKubeconfig(pkiDir, match[1]!) };
  }
  const args = [UPSTREAM_MAINS[kind], '--pki-dir', pkiDir, '--port', '0', '--token', `${token}=bench`];
  const { child, match, stdout } = await spawnUntil('upstream', process.execPath, args, env, ready);
  const kubeconfig = /^kubeconfig for it: (.+)$/m.exec(stdout)?.[1];
  if (kubeconfig === undefined) throw new Error('upstream did not print its kubeconfig path');
  return { child, url: match[1]!, kubeconfig };
}

/** Both proxies print kubectl's start line; the URL is the address it names. `stdout`: what it printed with it. */
async function startProxy(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ child: BenchChild; url: string; stdout: string }> {
  const { child, match, stdout } = await spawnUntil(name, command, args, env, /^Starting to serve on (\S+)$/m);
  return { child, url: `http://${match[1]}`, stdout };
}

export function startKubectlProxy(kubeconfig: string, env: NodeJS.ProcessEnv): Promise<{ child: BenchChild; url: string; stdout: string }> {
  return startProxy('kubectl proxy', 'kubectl', ['proxy', '--kubeconfig', kubeconfig, '--port', '0'], env);
}

export function startOurProxy(kubeconfig: string, nodeFlags: readonly string[], proxyFlags: readonly string[], env: NodeJS.ProcessEnv): Promise<{ child: BenchChild; url: string; stdout: string }> {
  return startProxy('kube-auth-proxy', process.execPath, [...nodeFlags, PROXY_MAIN, '--kubeconfig', kubeconfig, '--port', '0', ...proxyFlags], env);
}
