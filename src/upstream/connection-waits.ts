// Requests waiting for a connection to the API server, and the bound on that wait. undici queues
// a dispatched request until its pool has a connection for it, with no limit in time; a request
// still waiting at its deadline is answered instead of hanging: 503 with Retry-After when every
// connection was busy, 504 when the one it waited for was never completed (a frozen API server).

import { performance } from 'node:perf_hooks';
import { LinkedSet, type LinkedEntry } from '../linked-set.js';

/** A request that can be told its wait is over. */
export interface Waiter {
  expire(): void;
}

/** What `reclaim` reads of an undici Pool: how many requests wait in its own queue. */
export interface QueuedCount {
  readonly stats: { readonly queued: number };
}

/** A request whose client left, read to its end to keep its connection; `giveUp` aborts it and frees the connection. */
export interface Abandoned {
  giveUp(): void;
}

interface Wait {
  readonly waiter: Waiter;
  readonly deadline: number;
}

/** A waiting request's place in the queue; `delete` takes it out. */
export type WaitEntry = LinkedEntry<Wait>;

export class ConnectionWaits {
  /** Insertion order is deadline order, since every wait has the same bound. A list, not a Map: linked-set.ts says why. */
  private readonly deadlines = new LinkedSet<Wait>();
  private timer: NodeJS.Timeout | undefined;
  /** Requests holding a connection for a client that left (response-relay.ts), oldest first. */
  private readonly abandoned = new LinkedSet<Abandoned>();
  private checkScheduled = false;

  constructor(
    readonly timeoutMs: number,
    /** The flag that set `timeoutMs`, for the answer's message. */
    readonly flag: '--upstream-queue-timeout' | '--request-timeout' = '--upstream-queue-timeout',
    /** Why requests may be waiting, when a connection is being made and has not completed. */
    readonly connectingProblem: () => string | undefined = () => undefined,
  ) {}

  /** How many requests wait now (a metrics gauge). */
  get size(): number {
    return this.deadlines.size;
  }

  add(waiter: Waiter): WaitEntry {
    const entry = this.deadlines.add({ waiter, deadline: performance.now() + this.timeoutMs });
    this.timer ??= this.schedule(this.timeoutMs);
    return entry;
  }

  /** The request got its connection, failed, or its client left; deleting twice is harmless. */
  delete(entry: WaitEntry): void {
    this.deadlines.delete(entry);
  }

  /**
   * A request whose client left keeps its connection only while no other request needs it:
   * requests waiting now take theirs once the burst of clients that left together is over
   * (some of the waiting ones may be leaving too; one whose close comes in a later turn still counts as waiting), and later ones through `reclaim`.
   */
  abandon(request: Abandoned): LinkedEntry<Abandoned> {
    const entry = this.abandoned.add(request);
    if (!this.checkScheduled) {
      this.checkScheduled = true;
      setImmediate(() => {
        this.checkScheduled = false;
        for (let waiting = this.deadlines.size; waiting > 0 && this.abandoned.size > 0; waiting--) this.abandoned.shift()!.giveUp();
      });
    }
    return entry;
  }

  /** The abandoned request ended; deleting twice is harmless. */
  release(entry: LinkedEntry<Abandoned>): void {
    this.abandoned.delete(entry);
  }

  /**
   * Called when a request did not get a connection at once from `pool`: if it waits in the pool's
   * queue (every connection busy), the oldest abandoned request gives its connection up for it.
   */
  reclaim(pool: QueuedCount): void {
    // The pool's stats walk its connections: only asked when there is something to reclaim.
    if (this.abandoned.size > 0 && pool.stats.queued > 0) this.abandoned.shift()!.giveUp();
  }

  private schedule(ms: number): NodeJS.Timeout {
    // One timer for all waits; it never keeps the process alive by itself.
    return setTimeout(() => this.sweep(), Math.max(ms, 1)).unref();
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    for (let wait = this.deadlines.first(); wait !== undefined; wait = this.deadlines.first()) {
      if (wait.deadline > now) {
        this.timer = this.schedule(wait.deadline - now);
        return;
      }
      this.deadlines.shift();
      wait.waiter.expire();
    }
  }
}
