// The example API server as a process of its own (examples/api-server-main.ts), for faults only a
// process can have: frozen with SIGSTOP (its kernel still accepts and ACKs, nothing answers),
// thawed with SIGCONT, or killed. Same PKI and admin token as the test cluster's in-process one.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { ADMIN_TOKEN, type TestCluster } from './cluster.js';

const MAIN = fileURLToPath(new URL('../../dist/examples/api-server-main.js', import.meta.url));

export interface ApiServerProcess {
  readonly child: ChildProcess;
  /** `https://127.0.0.1:PORT`. */
  readonly url: string;
  /** SIGSTOP: the process stops; connections stay open and new ones complete in the kernel. */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
}

/** Starts it on a free port with `cluster`'s PKI, waits (bounded) for its `listening on` line; stopped at teardown. */
export function startApiServerProcess(t: Test, cluster: TestCluster, timeoutMs = 20_000): Promise<ApiServerProcess> {
  const args = [MAIN, '--pki-dir', join(cluster.dir, 'pki'), '--port', '0', '--token', `${ADMIN_TOKEN}=token-admin`];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const signal = (name: NodeJS.Signals) => () => void (child.exitCode === null && child.signalCode === null && process.kill(child.pid!, name));
  t.teardown(() => {
    signal('SIGCONT')();
    signal('SIGKILL')();
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the API server process printed no address within ${timeoutMs} ms: ${output}`)), timeoutMs);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the API server process exited with ${code}: ${output}`));
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const url = /^listening on (https:\/\/\S+)$/m.exec(output)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, url, freeze: signal('SIGSTOP'), thaw: signal('SIGCONT') });
    });
  });
}
