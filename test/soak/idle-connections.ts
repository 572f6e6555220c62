// Phase idle: N connections to the proxy held open at once, in two stages. First N bare
// connections (nothing sent yet, what a client's pre-connect or an idle pool holds): with them all
// open, the proxy's RSS and descriptors, and a GET on a fresh connection (still served, and how
// fast). Then N connections each sending one keep-alive GET and holding the connection after its
// answer: every one must get its 200; how many are still open when the last answer comes shows the
// proxy's idle timeout (Node's keepAliveTimeout, 5 s). After each stage the client closes them all
// and the proxy's descriptors must come back to where they were.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { memory } from '../bench/proc-stats.js';
import { probe } from '../bench/probe.js';
import { fdBreakdown, settleFds, type FdBreakdown, type Settled } from './gauges.js';
import type { SoakOptions } from './options.js';
import { UPSTREAM_POOL, type SoakSession } from './session.js';

/** Connections opened at a time: more would overflow the listen backlog (511), which is not what is measured. */
const OPEN_BATCH = 500;
const OPEN_TIMEOUT_MS = 30_000;
const FRESH_PROBES = 5;
/** Well within the proxy's headers timeout (10 s), which closes a connection that sends nothing. */
const ACCEPT_TIMEOUT_MS = 5000;
const HEAD_END = '\r\n\r\n';

/** One client connection, as the soak holds it. */
interface Held {
  readonly socket: Socket;
  /** The proxy ended it before the client did. */
  closedByProxy: boolean;
  closed: boolean;
  error?: string;
  /** performance.now() when its answer was read, and when it closed. */
  answeredAt: number;
  closedAt?: number;
}

export interface IdleResult {
  readonly requested: number;
  readonly before: FdBreakdown;
  readonly rssBeforeMiB: number;
  /** Stage 1, bare connections: how long they took to open, and what the proxy held with them open. */
  readonly opened: number;
  readonly openS: number;
  readonly openAtMeasurement: number;
  readonly withOpen: FdBreakdown;
  readonly rssWithOpenMiB: number;
  readonly freshMs: readonly number[];
  readonly openAfterFresh: number;
  readonly settleBare: Settled;
  /** Stage 2, one keep-alive GET each: answered with 200, and still open when the last answer came. */
  readonly answered: number;
  readonly requestsS: number;
  readonly openAfterRequests: number;
  readonly withUsed: FdBreakdown;
  readonly rssWithUsedMiB: number;
  /** --idle-hold-ms: how long they were then held before the client closed them. */
  readonly holdMs: number;
  /** Closed by the proxy before the client closed them, and after how long idle (median, seconds). */
  readonly closedByProxy: number;
  readonly proxyIdleCloseS: number;
  readonly clientErrors: number;
  readonly settle: Settled;
  readonly rssAfterMiB: number;
  readonly problems: string[];
}

/** Whether `text` holds a whole response (Content-Length or chunked). */
function complete(text: string): boolean {
  const end = text.indexOf(HEAD_END);
  if (end < 0) return false;
  const length = /^content-length:\s*(\d+)/im.exec(text.slice(0, end));
  if (length) return text.length - end - HEAD_END.length >= Number(length[1]);
  return text.endsWith('\r\n0\r\n\r\n');
}

/** Connects; resolves once connected. Nothing is sent yet. */
function connectHeld(port: number): Promise<Held> {
  const socket = connect(port, '127.0.0.1');
  const held: Held = { socket, closedByProxy: false, closed: false, answeredAt: NaN };
  socket.once('end', () => (held.closedByProxy = !socket.writableEnded));
  socket.once('error', (err) => (held.error = err.message));
  socket.once('close', () => {
    held.closed = true;
    held.closedAt = performance.now();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => socket.destroy(new Error(`not connected within ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(held);
    });
    socket.once('close', () => reject(new Error(held.error ?? 'closed before it connected')));
  });
}

/** Sends one keep-alive GET and resolves once its 200 is read; the connection stays open. */
function askOnce(held: Held, port: number, path: string): Promise<void> {
  const { socket } = held;
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!complete(text)) return;
      clearTimeout(timer);
      socket.off('data', onData);
      held.answeredAt = performance.now();
      if (text.startsWith('HTTP/1.1 200 ')) resolve();
      else reject(new Error(`answered "${text.slice(0, text.indexOf('\r\n'))}"`));
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(held.error ?? 'closed before the answer')));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  });
}

/** Runs `step` on `count` items, OPEN_BATCH at a time; stops at the first batch with a failure. */
async function inBatches<T>(count: number, step: (index: number) => Promise<T>, done: T[], what: string): Promise<string | undefined> {
  for (let start = 0; start < count; start += OPEN_BATCH) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(OPEN_BATCH, count - start) }, (_, i) => step(start + i)));
    for (const result of batch) if (result.status === 'fulfilled') done.push(result.value);
    const failed = batch.find((result) => result.status === 'rejected');
    if (failed !== undefined) return `${done.length} of ${count} ${what}, then: ${(failed.reason as Error).message}`;
  }
  return undefined;
}

/** Connects and sends one GET; resolves once its 200 is read. A failed one is closed. */
async function connectAndAsk(port: number): Promise<Held> {
  const held = await connectHeld(port);
  try {
    await askOnce(held, port, '/version');
    return held;
  } catch (err) {
    held.socket.destroy();
    throw err;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[(sorted.length - 1) >> 1]!;
}

async function timedFresh(proxyUrl: string, failures: string[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < FRESH_PROBES; i++) {
    const started = performance.now();
    const failure = await probe({ url: proxyUrl, headers: [] }, '/version', 10_000);
    if (failure !== undefined) failures.push(`a GET on a fresh connection while they were open: ${failure}`);
    times.push(performance.now() - started);
  }
  return times;
}

/** Ends every connection from the client side and waits (bounded) until all have closed. */
async function closeAll(held: readonly Held[], timeoutMs: number): Promise<number> {
  for (const connection of held) connection.socket.end();
  const deadline = Date.now() + timeoutMs;
  while (held.some((connection) => !connection.closed) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const stuck = held.filter((connection) => !connection.closed);
  for (const connection of stuck) connection.socket.destroy();
  return stuck.length;
}

/** Stage 1: bare connections, measured with them all open, then closed by the client. */
async function bareStage(session: SoakSession, options: SoakOptions, before: FdBreakdown, problems: string[], log: (line: string) => void) {
  const held: Held[] = [];
  const openedAt = performance.now();
  const failure = await inBatches(options.connections, () => connectHeld(session.ports.proxyPort), held, 'connected');
  if (failure !== undefined) problems.push(failure);
  const withOpen = await acceptedAll(session, held.length);
  const openS = (performance.now() - openedAt) / 1000;
  const openAtMeasurement = stillOpen(held);
  const rssWithOpenMiB = memory(session.ports.pid).rssMiB;
  log(`  idle: ${openAtMeasurement} bare connections open after ${openS.toFixed(1)} s, RSS ${rssWithOpenMiB.toFixed(1)} MiB, ${withOpen.fds} fds`);
  const freshMs = await timedFresh(session.proxyUrl, problems);
  const openAfterFresh = stillOpen(held);
  if (openAtMeasurement < options.connections || withOpen.client < options.connections) {
    problems.push(`${openAtMeasurement} of ${options.connections} bare connections open when measured, ${withOpen.client} accepted by the proxy`);
  }
  const stuck = await closeAll(held, 30_000);
  if (stuck > 0) problems.push(`${stuck} bare connections not closed within 30 s of the client's end`);
  const settleBare = await settleFds(session.ports, before, UPSTREAM_POOL, 20_000);
  if (!settleBare.settled) problems.push(`descriptors not back after the bare connections within ${settleBare.waitedMs} ms: ${JSON.stringify(settleBare.after)}`);
  return { opened: held.length, openS, openAtMeasurement, withOpen, rssWithOpenMiB, freshMs, openAfterFresh, settleBare, errors: countErrors(held) };
}

/** Stage 2: one keep-alive GET on each connection, then held until the client closes them. */
async function usedStage(session: SoakSession, options: SoakOptions, before: FdBreakdown, problems: string[], log: (line: string) => void) {
  const used: Held[] = [];
  const startedAt = performance.now();
  const failure = await inBatches(options.connections, () => connectAndAsk(session.ports.proxyPort), used, 'answered');
  if (failure !== undefined) problems.push(failure);
  const requestsS = (performance.now() - startedAt) / 1000;
  const openAfterRequests = stillOpen(used);
  const withUsed = fdBreakdown(session.ports);
  const rssWithUsedMiB = memory(session.ports.pid).rssMiB;
  log(`  idle: ${used.length} keep-alive GETs answered in ${requestsS.toFixed(1)} s, ${openAfterRequests} connections still open`);
  if (options.idleHoldMs > 0) await new Promise((resolve) => setTimeout(resolve, options.idleHoldMs));
  const byProxy = used.filter((connection) => connection.closedByProxy);
  const proxyIdleCloseS = median(byProxy.map((connection) => ((connection.closedAt ?? NaN) - connection.answeredAt) / 1000));
  const stuck = await closeAll(used, 30_000);
  if (stuck > 0) problems.push(`${stuck} keep-alive connections not closed within 30 s of the client's end`);
  const settle = await settleFds(session.ports, before, UPSTREAM_POOL, 20_000);
  if (!settle.settled) problems.push(`descriptors not back within ${settle.waitedMs} ms: ${JSON.stringify(settle.after)} (before ${JSON.stringify(before)})`);
  return { answered: used.length, requestsS, openAfterRequests, withUsed, rssWithUsedMiB, holdMs: options.idleHoldMs, closedByProxy: byProxy.length, proxyIdleCloseS, settle, errors: countErrors(used) };
}

/** A connection the kernel completed may wait in the listen backlog: polls until the proxy has accepted `count` (bounded). */
async function acceptedAll(session: SoakSession, count: number): Promise<FdBreakdown> {
  const deadline = Date.now() + ACCEPT_TIMEOUT_MS;
  for (;;) {
    const now = fdBreakdown(session.ports);
    if (now.client >= count || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function stillOpen(held: readonly Held[]): number {
  return held.filter((connection) => !connection.closed).length;
}

function countErrors(held: readonly Held[]): number {
  return held.filter((connection) => connection.error !== undefined).length;
}

export async function runIdlePhase(session: SoakSession, options: SoakOptions, log: (line: string) => void): Promise<IdleResult> {
  const before = fdBreakdown(session.ports);
  const rssBeforeMiB = memory(session.ports.pid).rssMiB;
  const problems: string[] = [];
  const { errors: bareErrors, ...bare } = await bareStage(session, options, before, problems, log);
  const { errors: usedErrors, ...used } = await usedStage(session, options, before, problems, log);
  const clientErrors = bareErrors + usedErrors;
  if (clientErrors > 0) problems.push(`${clientErrors} connections ended with a socket error`);
  return { requested: options.connections, before, rssBeforeMiB, ...bare, ...used, clientErrors, rssAfterMiB: memory(session.ports.pid).rssMiB, problems };
}
