// The bound on a request's wait for an upstream connection: one timer for all waits, expiring
// them in order, none that left in time.
import t from 'tap';
import { ConnectionWaits, type Waiter } from '../../src/upstream/connection-waits.js';
import { withTimeout } from '../helpers/waiting.js';

function waiter(log: string[], name: string): Waiter & { expired: Promise<void> } {
  let done!: () => void;
  const expired = new Promise<void>((resolve) => (done = resolve));
  return {
    expired,
    expire() {
      log.push(name);
      done();
    },
  };
}

void t.test('waits that are still there at their deadline expire, in order; the others never do', async (t) => {
  const waits = new ConnectionWaits(50);
  const log: string[] = [];
  const [first, left, second] = [waiter(log, 'first'), waiter(log, 'left'), waiter(log, 'second')];
  waits.add(first);
  const leftWait = waits.add(left);
  waits.add(second);
  t.equal(waits.size, 3);
  waits.delete(leftWait);
  waits.delete(leftWait);
  t.equal(waits.size, 2, 'a second delete of the same wait changes nothing');
  await withTimeout(Promise.all([first.expired, second.expired]), 5_000, 'both waits expire');
  t.same(log, ['first', 'second']);
  t.equal(waits.size, 0);
});

void t.test('a wait added after others expired gets its own full bound', async (t) => {
  const waits = new ConnectionWaits(30);
  const log: string[] = [];
  const early = waiter(log, 'early');
  waits.add(early);
  await withTimeout(early.expired, 5_000, 'the first wait expires');
  const late = waiter(log, 'late');
  const addedAt = performance.now();
  waits.add(late);
  await withTimeout(late.expired, 5_000, 'the second wait expires');
  t.ok(performance.now() - addedAt >= 29, 'not before its own deadline');
  t.same(log, ['early', 'late']);
});

void t.test('a request queued behind busy connections reclaims one held for a client that left, oldest first', (t) => {
  const waits = new ConnectionWaits(1_000);
  const gaveUp: string[] = [];
  const abandoned = (name: string) => ({ giveUp: () => gaveUp.push(name) });
  const queued = { stats: { queued: 1 } };
  const connecting = { stats: { queued: 0 } };
  waits.abandon(abandoned('oldest'));
  const ended = waits.abandon(abandoned('ended'));
  waits.abandon(abandoned('newest'));
  waits.release(ended);
  waits.release(ended);
  waits.reclaim(connecting);
  t.same(gaveUp, [], 'a request waiting only for a new connection to open takes none');
  waits.reclaim(queued);
  t.same(gaveUp, ['oldest'], 'one queued request, one connection');
  waits.reclaim(queued);
  waits.reclaim(queued);
  t.same(gaveUp, ['oldest', 'newest'], 'one that ended by itself is not asked, and none twice');
  t.end();
});

void t.test('requests already waiting when others are abandoned take their connections, one each, after the turn', async (t) => {
  const waits = new ConnectionWaits(1_000);
  const gaveUp: string[] = [];
  const abandoned = (name: string) => ({ giveUp: () => gaveUp.push(name) });
  const waiting = waits.add({ expire: () => undefined });
  waits.abandon(abandoned('first'));
  waits.abandon(abandoned('second'));
  t.same(gaveUp, [], 'not within the turn: the waiting request may be leaving too');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(gaveUp, ['first'], 'one waiting request, one connection');
  waits.delete(waiting);
  waits.abandon(abandoned('third'));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(gaveUp, ['first'], 'with no one waiting, abandoned requests keep their connections');
});
