// Brings up what the soak runs against, with the bench's process helpers: the example API server
// (it serves watches of a pod store and exec over WebSocket) in its own process, and the built
// proxy in front of it, with exec allowed and its metrics listener on, warmed up.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { PKI_FILES } from '../../examples/pki.js';
import { DEFAULT_UPSTREAM_CONNECTIONS } from '../../src/config/defaults.js';
import { startOurProxy, startUpstream, type BenchChild } from '../bench/processes.js';
import { childEnv } from '../bench/session.js';
import type { ProxyPorts } from './gauges.js';
import type { SoakOptions } from './options.js';

/** API-server connections the proxy may keep for short requests (its --upstream-connections). */
export const UPSTREAM_POOL = DEFAULT_UPSTREAM_CONNECTIONS;

export interface SoakSession {
  /** `http://127.0.0.1:PORT` of the proxy. */
  readonly proxyUrl: string;
  readonly ports: ProxyPorts;
  readonly metricsUrl: string;
  /** The API server directly (TLS, bearer token), for what the soak does behind the proxy's back. */
  readonly upstream: { readonly url: string; readonly token: string; readonly dispatcher: Agent };
  readonly proxyCommand: string;
}

const METRICS_LINE = /"address":"([^"]+)","msg":"serving \/metrics/;

/** The metrics address from the proxy's start-up log, which may follow its start line. */
async function metricsAddress(proxy: BenchChild, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = proxy.stderr().last.find((text) => METRICS_LINE.test(text));
    if (line !== undefined) return `http://${METRICS_LINE.exec(line)![1]!}`;
    if (Date.now() > deadline) throw new Error(`the proxy did not log its metrics address within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Starts both processes in `dir` (a scratch directory); what did start is pushed to `children`. */
export async function startSoakSession(dir: string, options: SoakOptions, children: BenchChild[]): Promise<SoakSession> {
  const env = childEnv(dir);
  const token = randomBytes(16).toString('hex');
  const pkiDir = join(dir, 'pki');
  const upstream = await startUpstream('example', pkiDir, token, env);
  children.push(upstream.child);
  // exec is refused by default (kubectl's --reject-paths); the exec phase needs it.
  const proxyFlags = ['--allow-exec', '--metrics-address', '127.0.0.1:0', ...options.proxyFlags];
  const proxy = await startOurProxy(upstream.kubeconfig, options.nodeFlags, proxyFlags, env);
  children.push(proxy.child);
  const ca = readFileSync(join(pkiDir, PKI_FILES.caCert), 'utf8');
  return {
    proxyUrl: proxy.url,
    ports: { pid: proxy.child.pid, proxyPort: portOf(proxy.url), upstreamPort: portOf(upstream.url) },
    metricsUrl: await metricsAddress(proxy.child, 10_000),
    upstream: { url: upstream.url, token, dispatcher: new Agent({ connect: { ca }, headersTimeout: 30_000, bodyTimeout: 30_000 }) },
    proxyCommand: ['node', ...options.nodeFlags, 'dist/src/cli/main.js', '--kubeconfig', 'KUBECONFIG', '-p', '0', ...proxyFlags].join(' '),
  };
}
