// Runs the real kubectl (v1.32 on these machines) against a running proxy, bounded in time.

import { spawn } from 'node:child_process';
import type { ProxyProcess } from './proxy-process.js';

export interface KubectlResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs `kubectl --server <proxy> …args` to completion with `input` on its stdin, bounded by 30 s. */
export function kubectl(proxy: ProxyProcess, env: NodeJS.ProcessEnv, args: readonly string[], input?: Buffer): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--server', proxy.url, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kubectl ${args.join(' ')} did not finish within 30 s; stderr: ${stderr}`));
    }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout), stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
