// The in-flight list that replaces per-request Maps and Sets on the hot path (src/linked-set.ts).
import t from 'tap';
import { LinkedSet } from '../src/linked-set.js';

void t.test('keeps insertion order through deletes at the head, middle and tail', async (t) => {
  const set = new LinkedSet<string>();
  const entries = ['a', 'b', 'c', 'd', 'e'].map((value) => set.add(value));
  set.delete(entries[2]!);
  set.delete(entries[0]!);
  set.delete(entries[4]!);
  t.same([...set], ['b', 'd']);
  t.equal(set.size, 2);
  t.equal(set.first(), 'b');
  set.add('f');
  t.same([...set], ['b', 'd', 'f']);
});

void t.test('a deleted entry is inert: deleting it again, or from another set, changes nothing', async (t) => {
  const set = new LinkedSet<number>();
  const other = new LinkedSet<number>();
  const one = set.add(1);
  set.add(2);
  other.add(3);
  other.delete(one);
  t.same([...set], [1, 2], 'an entry of another set is not removed');
  set.delete(one);
  set.delete(one);
  t.same([...set], [2]);
  t.equal(set.size, 1);
  t.equal(one.value, undefined, 'a deleted entry no longer holds its value');
});

void t.test('shift takes the oldest; the current entry can be deleted while iterating', async (t) => {
  const set = new LinkedSet<string>();
  const entries = new Map(['x', 'y', 'z'].map((value) => [value, set.add(value)]));
  const seen: string[] = [];
  for (const value of set) {
    seen.push(value);
    set.delete(entries.get(value)!);
  }
  t.same(seen, ['x', 'y', 'z']);
  t.equal(set.size, 0);
  t.equal(set.shift(), undefined);
  set.add('p');
  set.add('q');
  t.equal(set.shift(), 'p');
  t.same([...set], ['q']);
});
