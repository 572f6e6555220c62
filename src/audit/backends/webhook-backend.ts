// The audit webhook backend: kube-apiserver's --audit-webhook-* options and their meaning
// (k8s.io/apiserver pkg/server/options/audit.go, plugin/pkg/audit/webhook, plugin/pkg/audit/buffered,
// pkg/util/webhook): events are POSTed as an audit.k8s.io/v1 EventList to the server of the
// --audit-webhook-config-file kubeconfig, in batches or one by one, retried with exponential backoff.
//
// Where this differs from kube-apiserver, and why:
// - Order is strict: one request at a time, and an event is sent only after every older one was
//   taken. kube sends batches from parallel goroutines, so a receiver may see them out of order.
// - Nothing is dropped while there is disk: kube retries a batch 5 times and then drops it, and
//   drops new events while its 10000-event buffer is full. Here a failed batch, and everything
//   behind it, moves to the spool (spool.ts) and is retried from there until the receiver takes
//   it, also after a restart. Only a full spool drops events, and every drop is reported.
// - Failures of every kind are retried (kube's audit webhook does the same, `retryOnError`: any
//   error), with kube's backoff (initial delay ×1.5 per failure, 20 % jitter), but without its
//   limit of 5 tries; the delay is capped at 5 minutes and a Retry-After answer is honoured.
// - blocking and blocking-strict: kube makes the request wait for its event; write() here returns
//   at once, so neither can hold up or fail a request. Both send each event in its own POST, in
//   order; blocking-strict (where kube would fail the request) marks every delivery failure it
//   reports, so that the log says which requests were served without their event delivered.
// - A spooled backlog is sent in batches of up to batchMaxSize, in every mode.

import * as http from 'node:http';
import * as https from 'node:https';
import { AUDIT_WEBHOOK } from '../../config/defaults.js';
import { ConfigError, messageOf } from '../../errors.js';
import type { Credentials } from '../../credentials/credentials.js';
import type { AuditBackend, AuditEvent } from '../event.js';
import { memoryQueue, openSpool, type SpoolQueue } from './spool.js';
import type { WebhookTarget } from './webhook-target.js';

export { loadWebhookTarget, type WebhookTarget } from './webhook-target.js';

/** kube-apiserver's --audit-webhook-mode values. */
export type WebhookMode = 'batch' | 'blocking' | 'blocking-strict';

/** The --audit-webhook-* options, and where undelivered events wait. */
export interface WebhookBackendOptions {
  /** --audit-webhook-config-file (for messages; the target is loaded by {@link loadWebhookTarget}). */
  readonly configFile: string;
  /** --audit-webhook-mode. */
  readonly mode: WebhookMode;
  /** --audit-webhook-batch-max-size: events per POST in batch mode. */
  readonly batchMaxSize: number;
  /** --audit-webhook-batch-max-wait: the longest an event waits for its batch to fill. */
  readonly batchMaxWaitMs: number;
  /** --audit-webhook-initial-backoff: the wait after the first failed POST. */
  readonly initialBackoffMs: number;
  /** The spool: `$XDG_STATE_HOME/kube-auth-proxy/audit-spool`. */
  readonly spoolDir: string;
  /** Cap on undelivered bytes in the spool; events beyond it are dropped. Default 256 MiB. */
  readonly spoolMaxBytes?: number;
  /** How long close() keeps trying to deliver before it spools the rest. Default 5 s. */
  readonly closeTimeoutMs?: number;
  /** --audit-webhook-batch-buffer-size: events held in memory before they go to the spool. Default 10000. */
  readonly bufferSize?: number;
  /** Limit on one POST, from connecting to the end of the answer. Default 30 s (kube's). */
  readonly requestTimeoutMs?: number;
  /** Cap on the retry delay. Default 5 min. */
  readonly maxBackoffMs?: number;
}

/** What the backend tells its owner. No message holds a credential. */
export interface WebhookEvents {
  /** A failed delivery, a spool problem: one line each. */
  error(message: string): void;
  /** Events that are lost (spool full, damaged spool line, written after close). */
  dropped(count: number): void;
  /** Events the receiver took. */
  delivered?(count: number): void;
}

/** kube-apiserver's defaults (pkg/server/options/audit.go, plugin/pkg/audit/webhook), and the spool's. */
export const WEBHOOK_DEFAULTS = {
  mode: 'batch',
  ...AUDIT_WEBHOOK,
  bufferSize: 10_000,
  maxBackoffMs: 5 * 60_000,
  requestTimeoutMs: 30_000,
  spoolMaxBytes: 256 * 1024 * 1024,
  closeTimeoutMs: 5_000,
} as const;

/** Used when the spool directory cannot be: a smaller queue, in memory. */
const MEMORY_QUEUE_MAX_BYTES = 64 * 1024 * 1024;
/** close() resolves at the latest this long after its deadline, whatever is stuck. */
const CLOSE_GRACE_MS = 2_000;
const BACKOFF_FACTOR = 1.5;
const BACKOFF_JITTER = 0.2;

/** An event waiting in memory: its JSON and when it came (performance.now()). */
interface Pending {
  readonly line: string;
  readonly at: number;
}

type Outcome = { readonly ok: true } | { readonly ok: false; readonly message: string; readonly retryAfterMs?: number };

function positiveInteger(flag: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(`${flag}: must be a positive integer, not ${value}`);
  return value;
}

function nonNegative(flag: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${flag}: must not be negative, not ${value}`);
  return value;
}

/**
 * The webhook backend. Events are sent in order, one POST at a time; what cannot be sent waits in
 * the spool (`options.spoolDir`), which a later backend on the same directory sends first.
 *
 * Spilling to the spool starts when a POST fails (that batch and every event in memory move there),
 * or when more than `bufferSize` events wait in memory, or at close()'s deadline. While the spool
 * holds anything, newer events join it (as their batch falls due), so that they stay behind it.
 * @throws ConfigError for option values kube-apiserver would refuse.
 */
export function createWebhookBackend(options: WebhookBackendOptions, target: WebhookTarget, events: WebhookEvents): AuditBackend {
  return new WebhookBackend(options, target, events);
}

class WebhookBackend implements AuditBackend {
  private readonly batchMaxSize: number;
  /** Events per POST from memory: 1 in the blocking modes. */
  private readonly memoryBatch: number;
  private readonly batchMaxWaitMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly bufferSize: number;
  private readonly requestTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly agent: http.Agent;
  private readonly credentials: Credentials;
  /** Prefix of every message. */
  private readonly label = 'audit webhook';
  /** Added to each delivery failure in blocking-strict mode. */
  private readonly strictNote: string;

  /** Newer than everything in the queue. */
  private memory: Pending[] = [];
  private queue: SpoolQueue | undefined;
  private readonly pumpDone: Promise<void>;
  /** Resolves the pump's wait, when it waits. */
  private wake: (() => void) | undefined;
  /** Consecutive failures, for the backoff. */
  private failures = 0;
  /** No POST before this (performance.now()). */
  private retryAt = 0;
  /** No spill before this, after the spool failed to write. */
  private spillRetryAt = 0;
  private closing = false;
  /** close()'s deadline passed: spool what is left and stop. */
  private stopNow = false;
  /** A POST failed during close(): spool the rest rather than retry. */
  private gaveUp = false;
  private finished = false;
  private closed: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** Events dropped because memory was full, since the last report. */
  private memoryDrops = 0;

  constructor(
    private readonly options: WebhookBackendOptions,
    private readonly target: WebhookTarget,
    private readonly events: WebhookEvents,
  ) {
    this.batchMaxSize = positiveInteger('--audit-webhook-batch-max-size', options.batchMaxSize);
    this.memoryBatch = options.mode === 'batch' ? this.batchMaxSize : 1;
    this.batchMaxWaitMs = nonNegative('--audit-webhook-batch-max-wait', options.batchMaxWaitMs);
    this.initialBackoffMs = nonNegative('--audit-webhook-initial-backoff', options.initialBackoffMs);
    this.maxBackoffMs = options.maxBackoffMs ?? WEBHOOK_DEFAULTS.maxBackoffMs;
    this.bufferSize = positiveInteger('--audit-webhook-batch-buffer-size', options.bufferSize ?? WEBHOOK_DEFAULTS.bufferSize);
    this.requestTimeoutMs = options.requestTimeoutMs ?? WEBHOOK_DEFAULTS.requestTimeoutMs;
    this.closeTimeoutMs = options.closeTimeoutMs ?? WEBHOOK_DEFAULTS.closeTimeoutMs;
    if (!['batch', 'blocking', 'blocking-strict'].includes(options.mode)) {
      throw new ConfigError(`--audit-webhook-mode: unknown mode ${JSON.stringify(options.mode)}, must be batch, blocking or blocking-strict`);
    }
    this.strictNote =
      options.mode === 'blocking-strict' ? ' (blocking-strict: kube-apiserver would have failed these requests; they were served)' : '';
    // One connection: one POST at a time keeps the order.
    this.agent =
      target.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 1, ...target.tls })
        : new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.credentials = target.credentials((message) => this.events.error(message));
    this.pumpDone = this.pump();
  }

  write(event: AuditEvent): void {
    try {
      if (this.finished) {
        this.events.dropped(1);
        this.events.error(`${this.label}: event ${event.auditID} came after close and is dropped`);
        return;
      }
      // Reached only while the spool cannot take events, or a POST hangs under a flood.
      if (this.memory.length >= 2 * this.bufferSize) {
        this.events.dropped(1);
        if (this.memoryDrops++ === 0) this.events.error(`${this.label}: ${this.memory.length} events wait in memory; dropping new ones`);
        return;
      }
      const length = this.memory.push({ line: JSON.stringify(event), at: performance.now() });
      if (length === 1 || length >= this.memoryBatch || length > this.bufferSize || this.closing) this.wake?.();
    } catch (err) {
      this.events.dropped(1);
      this.events.error(`${this.label}: event dropped: ${messageOf(err)}`);
    }
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    // One more try now, however long the backoff: the receiver may be back.
    this.retryAt = 0;
    const deadline = setTimeout(() => {
      this.stopNow = true;
      this.abort.abort();
      this.wake?.();
    }, this.closeTimeoutMs);
    this.wake?.();
    let grace: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => {
      grace = setTimeout(() => resolve('stuck'), this.closeTimeoutMs + CLOSE_GRACE_MS);
    });
    try {
      if ((await Promise.race([this.pumpDone, stuck])) === 'stuck') {
        this.events.error(`${this.label}: could not finish within ${this.closeTimeoutMs + CLOSE_GRACE_MS} ms; ${this.memory.length} event(s) still in memory may be lost`);
      }
    } finally {
      clearTimeout(deadline);
      clearTimeout(grace);
    }
  }

  // ---- the pump: the one task that sends and touches the spool -----------------------------------

  private async pump(): Promise<void> {
    try {
      this.queue = await this.openQueue();
      while (!this.stopNow) {
        const now = performance.now();
        try {
          if (await this.step(now)) continue;
        } catch (err) {
          // A spool read or delete failed: report, and try again after a backoff.
          this.events.error(`${this.label}: spool ${this.queue.description}: ${messageOf(err)}`);
          if (this.closing) this.gaveUp = true;
          else this.retryAt = performance.now() + this.nextBackoff();
          continue;
        }
        if (this.closing && this.memory.length === 0 && (this.queue.isEmpty() || this.gaveUp)) break;
        await this.idle(this.nextWake(now));
      }
    } catch (err) {
      this.events.error(`${this.label}: ${messageOf(err)}`);
    } finally {
      await this.finish();
    }
  }

  /** Does the next thing due, if any; false when there is nothing to do now. */
  private async step(now: number): Promise<boolean> {
    const queue = this.queue!;
    const due = this.memoryDue(now);
    // Behind a backlog, after a failure, or over the buffer, events go to the spool.
    const spill = due && (!queue.isEmpty() || now < this.retryAt || this.gaveUp || this.memory.length > this.bufferSize);
    if (spill && now >= this.spillRetryAt) {
      await this.spill();
      return true;
    }
    if (now < this.retryAt || this.gaveUp) return false;
    if (!queue.isEmpty()) {
      await this.sendFromQueue(queue);
      return true;
    }
    if (due) {
      await this.sendFromMemory();
      return true;
    }
    return false;
  }

  /** Whether the events in memory should leave it now (be sent or spooled). */
  private memoryDue(now: number): boolean {
    const oldest = this.memory[0];
    if (oldest === undefined) return false;
    return (
      this.closing ||
      this.memory.length >= this.memoryBatch ||
      this.memory.length > this.bufferSize ||
      now - oldest.at >= this.batchMaxWaitMs
    );
  }

  private nextWake(now: number): number | undefined {
    const times: number[] = [];
    const oldest = this.memory[0];
    if (oldest !== undefined) times.push(oldest.at + this.batchMaxWaitMs, this.spillRetryAt);
    if (oldest !== undefined || !this.queue!.isEmpty()) times.push(this.retryAt);
    const future = times.filter((t) => t > now);
    return future.length === 0 ? undefined : Math.min(...future);
  }

  /** Waits until `until` (performance.now()) or until something wakes the pump. */
  private async idle(until: number | undefined): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      if (until !== undefined) {
        timer = setTimeout(resolve, Math.max(0, until - performance.now()));
        // The owner's close() keeps the process up while it matters; a waiting batch alone does not.
        timer.unref();
      }
    });
    this.wake = undefined;
    clearTimeout(timer);
  }

  private async openQueue(): Promise<SpoolQueue> {
    const report = { error: (m: string) => this.events.error(m), dropped: (n: number) => this.events.dropped(n) };
    try {
      return await openSpool({ dir: this.options.spoolDir, maxBytes: this.options.spoolMaxBytes ?? WEBHOOK_DEFAULTS.spoolMaxBytes }, report);
    } catch (err) {
      const maxBytes = Math.min(MEMORY_QUEUE_MAX_BYTES, this.options.spoolMaxBytes ?? WEBHOOK_DEFAULTS.spoolMaxBytes);
      this.events.error(
        `${this.label}: cannot use the spool directory ${this.options.spoolDir} (${messageOf(err)}); undelivered events wait in memory only, up to ${maxBytes} bytes, and are lost at exit`,
      );
      return memoryQueue(maxBytes, report);
    }
  }

  private async sendFromQueue(queue: SpoolQueue): Promise<void> {
    const lines = await queue.peek(this.batchMaxSize);
    if (lines.length === 0) return;
    const outcome = await this.post(lines);
    if (outcome.ok) {
      await queue.commit(lines.length);
      this.delivered(lines.length);
      return;
    }
    this.failed(outcome, lines.length);
    // Newer events join the backlog now rather than pile up during the backoff.
    if (this.memory.length > 0 && performance.now() >= this.spillRetryAt) await this.spill();
  }

  private async sendFromMemory(): Promise<void> {
    const batch = this.memory.splice(0, this.memoryBatch);
    const outcome = await this.post(batch.map((p) => p.line));
    if (outcome.ok) {
      this.delivered(batch.length);
      return;
    }
    this.failed(outcome, batch.length);
    // Back at the head, ahead of newer events, and then all of them to the spool.
    this.memory = [...batch, ...this.memory];
    await this.spill();
  }

  /** Moves every event in memory to the spool, in order; those it cannot write stay in memory. */
  private async spill(): Promise<void> {
    const pending = this.memory;
    this.memory = [];
    const result = await this.queue!.append(pending.map((p) => p.line));
    if (result.error === undefined) {
      this.spillRetryAt = 0;
      this.memoryDrops = 0;
      return;
    }
    const now = performance.now();
    this.memory = [...result.unwritten.map((line) => ({ line, at: now })), ...this.memory];
    this.spillRetryAt = now + this.nextBackoff();
    this.events.error(`${this.label}: ${result.error}; ${this.memory.length} event(s) wait in memory`);
    if (this.closing) this.gaveUp = true;
  }

  private delivered(count: number): void {
    this.failures = 0;
    this.retryAt = 0;
    this.events.delivered?.(count);
  }

  private failed(outcome: Extract<Outcome, { ok: false }>, count: number): void {
    const what = `POST ${this.target.displayUrl} with ${count} event(s) failed: ${outcome.message}${this.strictNote}`;
    if (this.closing) {
      this.gaveUp = true;
      this.events.error(`${this.label}: ${what}; undelivered events are kept in ${this.queue!.description}`);
      return;
    }
    const delay = Math.max(this.nextBackoff(), Math.min(outcome.retryAfterMs ?? 0, this.maxBackoffMs));
    this.retryAt = performance.now() + delay;
    this.events.error(`${this.label}: ${what}; events wait in ${this.queue!.description}, next try in ${(delay / 1000).toFixed(1)} s`);
  }

  /** kube's wait.Backoff: initial × 1.5^(failures-1), plus up to 20 % jitter; capped. */
  private nextBackoff(): number {
    this.failures++;
    const base = this.initialBackoffMs * BACKOFF_FACTOR ** Math.min(this.failures - 1, 64);
    return Math.min(this.maxBackoffMs, base * (1 + BACKOFF_JITTER * Math.random()));
  }

  /** The last step: whatever is still in memory goes to the spool; then the spool is closed. */
  private async finish(): Promise<void> {
    this.finished = true;
    try {
      const pending = this.memory;
      this.memory = [];
      if (pending.length > 0 && this.queue === undefined) {
        this.events.dropped(pending.length);
        this.events.error(`${this.label}: ${pending.length} event(s) lost: the queue never opened`);
      } else if (pending.length > 0 && this.queue !== undefined) {
        const result = await this.queue.append(pending.map((p) => p.line));
        if (result.error !== undefined) {
          this.events.dropped(result.unwritten.length);
          this.events.error(`${this.label}: ${result.error}; ${result.unwritten.length} event(s) lost`);
        }
      }
      await this.queue?.close();
    } catch (err) {
      this.events.error(`${this.label}: closing the spool ${this.options.spoolDir}: ${messageOf(err)}`);
    } finally {
      this.agent.destroy();
    }
  }

  // ---- one POST ------------------------------------------------------------------------------------

  private async post(lines: readonly string[]): Promise<Outcome> {
    let authorization: string | undefined;
    try {
      authorization = (await this.credentials.current()).authorization;
    } catch (err) {
      return { ok: false, message: `no credentials: ${messageOf(err)}` };
    }
    const body = Buffer.from(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[${lines.join(',')}]}`);
    return postOnce({
      url: this.target.url,
      agent: this.agent,
      body,
      authorization,
      signal: this.abort.signal,
      timeoutMs: this.requestTimeoutMs,
    });
  }
}

interface PostRequest {
  readonly url: URL;
  readonly agent: http.Agent;
  readonly body: Buffer;
  readonly authorization: string | undefined;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

/** One POST: 2xx is success; anything else (status, network, timeout, abort) is a failure to retry. */
function postOnce({ url, agent, body, authorization, signal, timeoutMs }: PostRequest): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'application/json',
      'Content-Length': body.length,
      Accept: 'application/json, */*',
      'User-Agent': 'kube-auth-proxy (audit webhook)',
      ...(authorization === undefined ? {} : { Authorization: authorization }),
    };
    const request = (url.protocol === 'https:' ? https : http).request(url, { method: 'POST', agent, headers, signal }, (response) => {
      const status = response.statusCode ?? 0;
      response.on('end', () => done(status >= 200 && status < 300 ? { ok: true } : statusFailure(status, response)));
      response.on('error', (err) => done({ ok: false, message: describeNetworkError(err, signal) }));
      response.on('close', () => done({ ok: false, message: `the connection closed before the answer (${status}) ended` }));
      response.resume();
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (err) => done({ ok: false, message: describeNetworkError(err, signal) }));
    request.end(body);
  });
}

function statusFailure(status: number, response: http.IncomingMessage): Outcome {
  const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
  return {
    ok: false,
    message: `answered ${status} ${response.statusMessage ?? ''}`.trimEnd(),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/** Retry-After in seconds or as an HTTP date. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function describeNetworkError(err: Error, signal: AbortSignal): string {
  if (signal.aborted) return 'cut off at the close deadline';
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}
