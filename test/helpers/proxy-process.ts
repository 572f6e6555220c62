// Runs the real kube-auth-proxy command (the built dist/ binary) as a child process and waits,
// with a bound, for its "Starting to serve on …" line.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { leakedSecrets } from './planted-secrets.js';

/** The built command; `npm test` compiles before tap runs the .ts tests. */
export const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Node flags from the command's `#!/usr/bin/env -S node …` line: tests run it as users do. */
const NODE_FLAGS = /^#!.*\bnode\b(.*)$/.exec(readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '')?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];

export interface ProxyProcess {
  readonly child: ChildProcess;
  /** What followed "Starting to serve on ". */
  readonly address: string;
  /** `http://127.0.0.1:PORT` for TCP listeners. */
  readonly url: string;
  readonly port: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr matches `pattern` (logs are written after the response), or rejects after `timeoutMs`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and resolves with the exit code, bounded by `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/** An environment with no kubeconfig of the machine leaking in. */
export function isolatedEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extra };
  delete env.KUBECONFIG;
  delete env.KUBERNETES_MASTER;
  // A CI runner inside a pod must not hand its own service account to the tests.
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.KUBERNETES_SERVICE_PORT;
  // Nor its proxy settings: tests choose their own.
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy']) delete env[name];
  return { ...env, ...extra };
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`proxy did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Spawns the command with its output collected as text. */
function spawnCli(args: readonly string[], options: RunOptions) {
  const child = spawn(process.execPath, [...NODE_FLAGS, CLI, ...args], { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { child, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  return output;
}

/** Fails the test that stopped the proxy if its output holds a planted secret (planted-secrets.ts). */
function checkForLeaks(output: { stdout: string; stderr: string }): void {
  const leaked = leakedSecrets(output.stdout + output.stderr);
  if (leaked.length > 0) throw new Error(`the proxy's output contains planted secrets: ${leaked.join(', ')}`);
}

export function startProxyProcess(args: readonly string[], options: RunOptions = {}): Promise<ProxyProcess> {
  const output = spawnCli(args, options);
  const { child } = output;
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`proxy did not start within ${timeoutMs} ms; stderr: ${output.stderr}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${code} before serving; stderr: ${output.stderr}`));
    };
    child.once('exit', onExit);
    child.stdout.on('data', () => {
      const match = /^Starting to serve on (.+)$/m.exec(output.stdout);
      if (match === null) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      const address = match[1]!;
      const port = Number(/:(\d+)$/.exec(address)?.[1] ?? 0);
      resolve({
        child,
        address,
        port,
        url: `http://${address}`,
        stdout: () => output.stdout,
        stderr: () => output.stderr,
        waitForStderr: (pattern, waitMs = 10_000) =>
          new Promise<void>((resolveWait, rejectWait) => {
            if (pattern.test(output.stderr)) return resolveWait();
            const check = () => {
              if (!pattern.test(output.stderr)) return;
              clearTimeout(waitTimer);
              child.stderr.off('data', check);
              resolveWait();
            };
            const waitTimer = setTimeout(() => {
              child.stderr.off('data', check);
              rejectWait(new Error(`stderr did not match ${pattern} within ${waitMs} ms: ${output.stderr}`));
            }, waitMs);
            child.stderr.on('data', check);
          }),
        stop: async (signal = 'SIGTERM', stopTimeoutMs = 15_000) => {
          child.kill(signal);
          const code = await exited(child, stopTimeoutMs);
          checkForLeaks(output);
          return code;
        },
      });
    });
  });
}

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the command to completion (for start-up failures), bounded by `timeoutMs`. */
export function runProxy(args: readonly string[], options: RunOptions = {}): Promise<Finished> {
  const output = spawnCli(args, options);
  return exited(output.child, options.timeoutMs ?? 15_000).then((code) => {
    checkForLeaks(output);
    return { code, stdout: output.stdout, stderr: output.stderr };
  });
}
