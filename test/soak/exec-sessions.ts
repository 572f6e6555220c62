// Phase exec: N exec sessions open at once through the proxy (WebSocket, v5.channel.k8s.io, as
// kubectl ≥ 1.31 speaks it), each running `cat` in the example API server: random bytes go in on
// stdin, stdin is closed, and what comes back on stdout must be the same bytes, followed by a
// Success status and a normal close.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'undici';
import { memory } from '../bench/proc-stats.js';
import { percentile } from '../bench/watch-fanout.js';
import { fdBreakdown, gaugesWhen, newUpstreamConnections, settleFds, tcpConnections, type FdBreakdown, type Settled } from './gauges.js';
import type { SoakOptions } from './options.js';
import { UPSTREAM_POOL, type SoakSession } from './session.js';
import { RECONNECT_QUIET_MS, RECONNECT_WINDOW_MS } from './watch-events.js';

const EXEC_PATH = '/api/v1/namespaces/default/pods/web-0/exec?command=cat&stdin=true&stdout=true&stderr=true';
const PROTOCOL = 'v5.channel.k8s.io';
/** client-go writes stdin in 32 KiB messages. */
const STDIN_MESSAGE = 32 * 1024;
const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, close: 255 } as const;
const OPEN_TIMEOUT_MS = 30_000;
const SESSION_TIMEOUT_MS = 120_000;

interface Outcome {
  readonly stdout: Buffer;
  readonly status?: string;
  readonly closeCode: number;
  readonly durationMs: number;
}

/** One exec session: open, then echo `payload` through cat. */
class ExecClient {
  readonly ws: WebSocket;
  private readonly stdout: Buffer[] = [];
  private status: string | undefined;

  constructor(url: string) {
    this.ws = new WebSocket(url, { protocols: [PROTOCOL] });
    this.ws.binaryType = 'arraybuffer';
    this.ws.addEventListener('message', (event) => {
      const data = Buffer.from(event.data as ArrayBuffer);
      if (data[0] === Channel.stdout) this.stdout.push(data.subarray(1));
      else if (data[0] === Channel.error) this.status = data.subarray(1).toString('utf8');
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no 101 within ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
      this.ws.addEventListener('open', () => {
        clearTimeout(timer);
        if (this.ws.protocol === PROTOCOL) resolve();
        else reject(new Error(`negotiated "${this.ws.protocol}"`));
      });
      this.ws.addEventListener('close', (event) => {
        clearTimeout(timer);
        reject(new Error(`closed before it opened (${event.code})`));
      });
    });
  }

  /** Sends `payload` on stdin, closes stdin (v5), and resolves when the server has closed. */
  echo(payload: Buffer): Promise<Outcome> {
    const started = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.ws.close(), SESSION_TIMEOUT_MS);
      this.ws.addEventListener('close', (event) => {
        clearTimeout(timer);
        resolve({ stdout: Buffer.concat(this.stdout), status: this.status, closeCode: event.code, durationMs: performance.now() - started });
      });
      for (let offset = 0; offset < payload.length; offset += STDIN_MESSAGE) {
        this.ws.send(Buffer.concat([Buffer.of(Channel.stdin), payload.subarray(offset, offset + STDIN_MESSAGE)]));
      }
      this.ws.send(Buffer.of(Channel.close, Channel.stdin));
    });
  }
}

export interface ExecResult {
  readonly sessions: number;
  readonly bytesEach: number;
  readonly opened: number;
  readonly openS: number;
  readonly before: FdBreakdown;
  readonly rssBeforeMiB: number;
  readonly rssWithOpenMiB: number;
  readonly withOpen: FdBreakdown;
  readonly openUpgradesGauge: number;
  readonly exact: number;
  readonly failures: readonly string[];
  readonly echoS: number;
  readonly sessionMs: { p50: number; max: number };
  /** API-server connections the proxy opened after the sessions ended. */
  readonly reconnects: number;
  readonly settle: Settled;
  readonly openUpgradesAfter: number;
  readonly problems: string[];
}

function check(outcome: Outcome, payload: Buffer): string | undefined {
  if (!outcome.stdout.equals(payload)) return `stdout ${outcome.stdout.length} bytes, not the ${payload.length} sent`;
  if (outcome.status === undefined || (JSON.parse(outcome.status) as { status?: string }).status !== 'Success') return `status ${outcome.status ?? 'missing'}`;
  if (outcome.closeCode !== 1000) return `closed with ${outcome.closeCode}`;
  return undefined;
}

async function echoAll(clients: readonly ExecClient[], bytes: number): Promise<{ outcomes: Outcome[]; failures: string[] }> {
  const payloads = clients.map(() => randomBytes(bytes));
  const outcomes = await Promise.all(clients.map((client, i) => client.echo(payloads[i]!)));
  const failures = outcomes.flatMap((outcome, i) => {
    const failure = check(outcome, payloads[i]!);
    return failure === undefined ? [] : [`session ${i}: ${failure}`];
  });
  return { outcomes, failures };
}

export async function runExecPhase(session: SoakSession, options: SoakOptions, log: (line: string) => void): Promise<ExecResult> {
  const { pid } = session.ports;
  const before = fdBreakdown(session.ports);
  const rssBeforeMiB = memory(pid).rssMiB;
  const url = session.proxyUrl.replace(/^http:/, 'ws:') + EXEC_PATH;
  const openedAt = performance.now();
  const clients = Array.from({ length: options.execSessions }, () => new ExecClient(url));
  try {
    const opened = await Promise.allSettled(clients.map((client) => client.opened()));
    const refused = opened.find((result) => result.status === 'rejected');
    if (refused !== undefined) throw new Error(`${opened.filter((r) => r.status === 'fulfilled').length} of ${clients.length} sessions opened, then: ${(refused.reason as Error).message}`);
    const openS = (performance.now() - openedAt) / 1000;
    const figures = { withOpen: fdBreakdown(session.ports), rssWithOpenMiB: memory(pid).rssMiB };
    const openUpgradesGauge = (await gaugesWhen(session.metricsUrl, (gauges) => gauges.upgrades >= clients.length, 5_000)).upgrades;
    log(`  exec: ${clients.length} sessions open after ${openS.toFixed(1)} s, RSS ${figures.rssWithOpenMiB.toFixed(1)} MiB; echoing ${options.execBytes / 1024} KiB each`);
    const echoStarted = performance.now();
    const known = new Set(tcpConnections(session.ports).upstream);
    const { outcomes, failures } = await echoAll(clients, options.execBytes);
    const echoS = (performance.now() - echoStarted) / 1000;
    const reconnects = await newUpstreamConnections(session.ports, known, RECONNECT_QUIET_MS, RECONNECT_WINDOW_MS);
    const durations = outcomes.map((outcome) => outcome.durationMs).sort((a, b) => a - b);
    const settle = await settleFds(session.ports, before, UPSTREAM_POOL, 20_000);
    const openUpgradesAfter = (await gaugesWhen(session.metricsUrl, (gauges) => gauges.upgrades === 0, 5_000)).upgrades;
    const problems = [...failures.slice(0, 5)];
    if (openUpgradesGauge !== clients.length) problems.push(`kube_auth_proxy_open_upgrades read ${openUpgradesGauge} with ${clients.length} sessions open`);
    if (openUpgradesAfter !== 0) problems.push(`kube_auth_proxy_open_upgrades read ${openUpgradesAfter} after every session ended`);
    if (!settle.settled) problems.push(`descriptors not back within ${settle.waitedMs} ms: ${JSON.stringify(settle.after)} (before ${JSON.stringify(before)})`);
    const sessionMs = { p50: percentile(durations, 0.5), max: durations.at(-1) ?? NaN };
    const result = { sessions: options.execSessions, bytesEach: options.execBytes, opened: clients.length, openS, before, rssBeforeMiB, ...figures, openUpgradesGauge };
    return { ...result, exact: outcomes.length - failures.length, failures, echoS, sessionMs, reconnects, settle, openUpgradesAfter, problems };
  } finally {
    for (const client of clients) if (client.ws.readyState !== WebSocket.CLOSED) client.ws.close();
  }
}
