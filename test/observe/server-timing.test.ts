// Server-Timing is built straight from the timeline's fields (it goes out on every response); it
// must name the same phases, in the same order, with the same figures as phases() does.
import t from 'tap';
import { RequestTimeline, type ConnectionTiming, type Phases } from '../../src/observe/timeline.js';

const ORDER = ['credentials', 'queue', 'dns', 'tcp', 'tls', 'upload', 'server'] as const;

function fromPhases(phases: Phases): string {
  return ORDER.filter((name) => phases[name] !== undefined)
    .map((name) => `${name};dur=${phases[name]}`)
    .join(', ');
}

void t.test('serverTiming() agrees with phases() for every mix of known and unknown times', async (t) => {
  const maybe = (i: number, bit: number, value: number): number | undefined => ((i >> bit) & 1 ? value : undefined);
  let checked = 0;
  for (let i = 0; i < 1 << 10; i++) {
    const timeline = new RequestTimeline();
    const base = timeline.startedAt;
    timeline.credentialsAt = maybe(i, 0, base + 1.2345);
    timeline.sentAt = maybe(i, 1, base + 9.87654);
    timeline.bodySentAt = maybe(i, 2, base + 11.5);
    timeline.requestBytes = (i >> 3) & 1 ? 10 : 0;
    timeline.firstByteAt = maybe(i, 4, base + 20.0001);
    if ((i >> 5) & 1) timeline.connection = 'reused';
    else if ((i >> 6) & 1) {
      const connection: ConnectionTiming = { startedAt: base + 1.5, used: true };
      connection.lookupAt = maybe(i, 7, base + 2.25);
      connection.connectAt = maybe(i, 8, base + 3.125);
      connection.readyAt = maybe(i, 9, base + 7.0625);
      timeline.connection = connection;
    }
    t.equal(timeline.serverTiming(), fromPhases(timeline.phases()), `case ${i}`);
    checked++;
  }
  t.equal(checked, 1024);
});
