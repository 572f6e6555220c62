// `kubectl port-forward` as a child process, and a round trip through the local port it opens:
// for tests of upgrades through the proxy with real kubectl. Every wait is bounded.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { connect } from 'node:net';

export interface PortForward {
  readonly child: ChildProcessWithoutNullStreams;
  readonly localPort: number;
  stderr(): string;
  /** Stops kubectl by its pid and waits for it, bounded by 10 s. */
  stop(): Promise<void>;
}

/** Starts `kubectl …args` (a port-forward) and resolves with the local port it prints, within 20 s. */
export function startPortForward(args: readonly string[], env: NodeJS.ProcessEnv): Promise<PortForward> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', [...args], { env });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kubectl port-forward printed no local port within 20 s; stdout: ${stdout} stderr: ${stderr}`));
    }, 20_000);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /^Forwarding from 127\.0\.0\.1:(\d+) -> \d+$/m.exec(stdout);
      if (match === null) return;
      clearTimeout(timer);
      resolve({ child, localPort: Number(match[1]), stderr: () => stderr, stop: () => stopChild(child) });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubectl port-forward exited with ${code}; stderr: ${stderr}`));
    });
  });
}

function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubectl (pid ${child.pid}) did not exit within 10 s`)), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    process.kill(child.pid!, 'SIGTERM');
  });
}

/** Sends `payload` to a local port, half-closes, and resolves with everything read until the other side closes (within `timeoutMs`). */
export function echoThrough(port: number, payload: Buffer, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`echo through port ${port} not finished within ${timeoutMs} ms; got ${Buffer.concat(chunks).length} bytes`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('end', () => {
      clearTimeout(timer);
      socket.end();
      resolve(Buffer.concat(chunks));
    });
    socket.end(payload);
  });
}
