// Runs a credential plugin once: our environment plus the kubeconfig's `env` and
// KUBERNETES_EXEC_INFO, stdin only when interactive, stderr passed through to ours (as kubectl
// does) and its last lines kept for the error. A plugin that outlives the timeout is killed
// with everything it started.

import { spawn } from 'node:child_process';
import type { ExecConfig } from '../../kubeconfig/types.js';
import { CredentialError } from '../credentials.js';

/** The most stdout we read from a plugin; real ones print a few KiB. */
const MAX_STDOUT_BYTES = 1024 * 1024;
/** How much of the plugin's stderr is quoted in the error. */
const STDERR_TAIL_BYTES = 500;

export interface PluginRun {
  readonly execInfo: string;
  readonly interactive: boolean;
  readonly timeoutMs: number;
  /** Where the plugin's stderr goes (our stderr). */
  readonly stderr: NodeJS.WritableStream;
}

/** client-go replaces ANSI escapes in the install hint so a kubeconfig cannot drive the terminal. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

function notFound(config: ExecConfig): CredentialError {
  const hint = config.installHint === undefined ? '' : ` (${printable(config.installHint).trim().replace(/\s*\n\s*/g, ' ')})`;
  return new CredentialError(
    `exec: executable ${config.command} not found${hint}; see https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins`,
  );
}

function lastLines(stderr: Buffer): string {
  const text = stderr.toString('utf8').trim();
  if (text === '') return '';
  return `: ${text.slice(-STDERR_TAIL_BYTES).split('\n').map((line) => line.trim()).filter(Boolean).join(' | ')}`;
}

/** Resolves with the plugin's stdout; rejects with a CredentialError naming the plugin. */
export function runPlugin(config: ExecConfig, run: PluginRun): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...Object.fromEntries(config.env.map((e) => [e.name, e.value])), KUBERNETES_EXEC_INFO: run.execInfo };
    // Its own process group when not interactive, so a timeout kills what the plugin started too;
    // an interactive plugin must stay in our session to reach the terminal.
    const child = spawn(config.command, config.args, {
      env,
      stdio: [run.interactive ? 'inherit' : 'ignore', 'pipe', 'pipe'],
      detached: !run.interactive,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrTail = Buffer.alloc(0);
    let settled = false;
    const finish = (error: CredentialError | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined) reject(error);
      else resolve(Buffer.concat(stdout).toString('utf8'));
    };
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(run.interactive ? child.pid : -child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      kill();
      finish(new CredentialError(`exec: executable ${config.command} did not finish within ${run.timeoutMs / 1000}s and was killed`, 503));
      child.stdout.destroy();
      child.stderr.destroy();
    }, run.timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes <= MAX_STDOUT_BYTES) stdout.push(chunk);
      else {
        kill();
        finish(new CredentialError(`exec: executable ${config.command} printed more than ${MAX_STDOUT_BYTES} bytes`));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      run.stderr.write(chunk);
      stderrTail = Buffer.concat([stderrTail, chunk]).subarray(-STDERR_TAIL_BYTES * 2);
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') finish(notFound(config));
      else finish(new CredentialError(`exec: executable ${config.command}: ${err.message}`));
    });
    // 'close' waits for stdout to end, so nothing the plugin printed is lost.
    child.once('close', (code, signal) => {
      if (code === 0) return finish(undefined);
      const how = signal === null ? `failed with exit code ${code}` : `was killed by signal ${signal}`;
      finish(new CredentialError(`exec: executable ${config.command} ${how}${lastLines(stderrTail)}`));
    });
  });
}
