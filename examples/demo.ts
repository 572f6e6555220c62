// `npm run demo`: kube-auth-proxy in front of an example API server, on a machine without a
// cluster. Certificates and a kubeconfig go to certs/; the proxy runs as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startApiServer, type ApiServer } from './api-server.js';
import { ensurePki, projectRoot, writeDemoKubeconfig } from './demo-files.js';

/** kubectl proxy's default port; `DEMO_PORT` overrides it. */
const DEFAULT_PORT = '8001';
const CHURN_INTERVAL_MS = 5000;
const KEEP_DEMO_PODS = 5;
/** How long the proxy gets to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5000;

const say = (line: string) => console.log(`[demo] ${line}`);

/** Every few seconds a new pod demo-N in `default`, and the oldest beyond five go, so a watch has news. */
function startPodChurn(api: ApiServer): () => void {
  const alive: string[] = [];
  let next = 1;
  const timer = setInterval(() => {
    const name = `demo-${next++}`;
    api.createPod('default', name);
    alive.push(name);
    const removed = alive.splice(0, Math.max(0, alive.length - KEEP_DEMO_PODS));
    for (const old of removed) api.deletePod('default', old);
    say(`created pod default/${name}${removed.length > 0 ? `, deleted ${removed.join(', ')}` : ''}`);
  }, CHURN_INTERVAL_MS);
  return () => clearInterval(timer);
}

function printTryThese(address: string, https: boolean): void {
  const port = /:(\d+)$/.exec(address)?.[1] ?? DEFAULT_PORT;
  const base = https ? `--cacert certs/local-tls/ca.crt https://localhost:${port}` : `localhost:${port}`;
  console.log(
    [
      '',
      'Try these in another terminal:',
      `  curl ${base}/api/v1/namespaces/default/pods`,
      `  curl ${https ? `--cacert certs/local-tls/ca.crt 'https://localhost:${port}` : `'localhost:${port}`}/api/v1/namespaces/default/pods?watch=1'`,
      `The demo creates a pod demo-N in "default" every ${CHURN_INTERVAL_MS / 1000} s and deletes all but the`,
      `newest ${KEEP_DEMO_PODS}, so the watch shows ADDED and DELETED events as they happen.`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

/**
 * Starts the proxy with `extra` flags (`npm run demo -- --local-tls`), forwarding its output, and
 * prints the hints once it serves. --local-tls keeps its CA in certs/local-tls unless told otherwise.
 */
function startProxy(root: string, port: string, extra: readonly string[]): ChildProcess {
  const localTls = extra.includes('--local-tls') && !extra.some((flag) => flag.startsWith('--certs-dir'));
  const args = ['--kubeconfig', join('certs', 'kubeconfig'), '--port', port, ...extra, ...(localTls ? ['--certs-dir', join('certs', 'local-tls')] : [])];
  // Run as the command runs, so its `#!` line's Node flags apply (`npm run build` makes it executable).
  const command = join('dist', 'src', 'cli', 'main.js');
  say(`starting: ${command} ${args.join(' ')}`);
  const proxy = spawn(join(root, command), args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  proxy.stderr.pipe(process.stderr);
  let https = false;
  createInterface({ input: proxy.stdout }).on('line', (line) => {
    console.log(line);
    https ||= line.startsWith('Serving HTTPS');
    const serving = /^Starting to serve on (\S+)/.exec(line);
    // After the rest of the start lines, which arrive in the same write (four with --local-tls).
    if (serving) setImmediate(() => printTryThese(serving[1]!, https));
  });
  return proxy;
}

/** SIGTERM, then SIGKILL if the proxy is still there after {@link STOP_TIMEOUT_MS}. */
function stopProxy(proxy: ChildProcess): Promise<void> {
  if (proxy.exitCode !== null || proxy.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proxy.kill('SIGKILL'), STOP_TIMEOUT_MS);
    proxy.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proxy.kill('SIGTERM');
  });
}

function demoPort(): string {
  const port = process.env.DEMO_PORT ?? DEFAULT_PORT;
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new Error(`DEMO_PORT must be a port number, not "${port}"`);
  return port;
}

async function main(): Promise<void> {
  const root = projectRoot();
  const port = demoPort();
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/src/cli/main.js is missing: run `npm run build` (or `npm ci`) first');
  }
  const { pki, created } = ensurePki(join(root, 'certs'));
  say(created ? 'created a CA, a server and a client certificate in certs/' : 'reusing the certificates in certs/');
  const api = await startApiServer({ pki, record: false });
  writeDemoKubeconfig(join(root, 'certs'), api.url);
  say(`example API server on ${api.url}, which requires a client certificate; certs/kubeconfig points at it`);
  const proxy = startProxy(root, port, process.argv.slice(2));
  const stopChurn = startPodChurn(api);
  let stopping = false;
  const stop = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    stopChurn();
    await stopProxy(proxy);
    await api.close();
    process.exit(exitCode);
  };
  // Ctrl-C reaches the proxy too (same process group); both ways end in a clean exit 0.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(0));
  proxy.once('exit', (code, signal) => {
    if (stopping) return;
    say(`the proxy exited (${signal ?? `code ${code}`}); stopping`);
    void stop(code === 0 ? 0 : 1);
  });
}

main().catch((err: unknown) => {
  console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
