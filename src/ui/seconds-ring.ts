// Per-second counters over the last minute, in fixed typed arrays: recording is an index and an
// add, with no allocation, so it can run on every request whether a page is open or not.

/** Seconds a series covers. */
export const SERIES_SECONDS = 60;

export class SecondsRing {
  private readonly values: Float64Array;
  /** Gauges: the value each index was last set to, which seconds without a change start from. */
  private readonly last: Float64Array;
  /** The second (since the epoch) the newest slot holds. */
  private newest = 0;

  /** `width` values per second; `carry` makes a new second start from the gauge's last value instead of 0 (counters). */
  constructor(
    private readonly width: number,
    private readonly carry = false,
  ) {
    this.values = new Float64Array(SERIES_SECONDS * width);
    this.last = new Float64Array(width);
  }

  /** Moves the ring forward to `second`, clearing (or carrying into) the slots skipped. */
  private advance(second: number): number {
    if (second <= this.newest) return this.slotOf(Math.max(second, this.newest - SERIES_SECONDS + 1));
    const steps = Math.min(second - this.newest, SERIES_SECONDS);
    for (let step = 1; step <= steps; step++) {
      const slot = this.slotOf(this.newest + step);
      for (let i = 0; i < this.width; i++) this.values[slot + i] = this.carry ? this.last[i]! : 0;
    }
    this.newest = second;
    return this.slotOf(second);
  }

  private slotOf(second: number): number {
    return (second % SERIES_SECONDS) * this.width;
  }

  add(second: number, index: number, amount = 1): void {
    this.values[this.advance(second) + index]! += amount;
  }

  /** A gauge's new value: each second keeps the largest it had. */
  set(second: number, index: number, value: number): void {
    const at = this.advance(second) + index;
    this.last[index] = value;
    if (value > this.values[at]!) this.values[at] = value;
  }

  /** The series up to `second`, oldest first, one array of `width` values per second. */
  series(second: number): number[][] {
    this.advance(second);
    const out: number[][] = [];
    for (let s = second - SERIES_SECONDS + 1; s <= second; s++) {
      const slot = this.slotOf(s);
      out.push(Array.from(this.values.subarray(slot, slot + this.width)));
    }
    return out;
  }
}
