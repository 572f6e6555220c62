// What is in flight, per request, kept in a doubly linked list rather than a Map, Set or WeakMap.
//
// Why: objects entered in a long-lived Map, Set or WeakMap for their short life, and deleted again
// when done, are promoted to V8's old generation in bulk by its young-generation GC; linked to
// each other instead, they die young (measured alone by test/bench/gc-promotion.ts). With one
// entry per request (an in-flight set, a queue of deadlines), most requests' objects were promoted:
// at c=64, 240–410 KB per scavenge against 2–26 KB for a bare undici forwarder, and scavenge pauses
// of about 3 ms instead of 0.8 (test/bench/README.md, "Where ours' CPU and memory go").

/** One entry: the handle that deletes it. */
export interface LinkedEntry<T> {
  /** @internal Cleared on delete, so that an entry the GC already promoted holds nothing young. */
  value: T | undefined;
  /** @internal */ prev: LinkedEntry<T> | undefined;
  /** @internal */ next: LinkedEntry<T> | undefined;
  /** @internal */ list: LinkedSet<T> | undefined;
}

/** Insertion-ordered; add, delete and the oldest entry in O(1). */
export class LinkedSet<T> {
  private head: LinkedEntry<T> | undefined;
  private tail: LinkedEntry<T> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends `value`; keep the entry to delete it. */
  add(value: T): LinkedEntry<T> {
    const entry: LinkedEntry<T> = { value, prev: this.tail, next: undefined, list: this };
    if (this.tail === undefined) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
    this.count++;
    return entry;
  }

  /** Removes the entry; a second delete of the same entry does nothing. */
  delete(entry: LinkedEntry<T>): void {
    if (entry.list !== this) return;
    if (entry.prev === undefined) this.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.value = entry.prev = entry.next = entry.list = undefined;
    this.count--;
  }

  /** The oldest value. */
  first(): T | undefined {
    return this.head?.value;
  }

  /** Removes and returns the oldest value. */
  shift(): T | undefined {
    const head = this.head;
    if (head === undefined) return undefined;
    const value = head.value;
    this.delete(head);
    return value;
  }

  /** Values in insertion order; deleting the current entry while iterating is safe. */
  *[Symbol.iterator](): IterableIterator<T> {
    let entry = this.head;
    while (entry !== undefined) {
      const { next, value } = entry;
      yield value as T;
      entry = next;
    }
  }
}
