// What /readyz costs the API server: the proxy's own recent connections answer for it, a probe
// (one TLS handshake) runs only without them, one at a time, and its answer is reused for a second.
import t from 'tap';
import { UpstreamHealth } from '../../src/upstream/upstream-health.js';

const SERVER = new URL('https://127.0.0.1:6443');
const REFUSED = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
const REFUSED_TEXT = 'dial tcp 127.0.0.1:6443: connect: connection refused (server https://127.0.0.1:6443)';

/** A health whose probe counts its runs and answers as `outcome` says, on a clock the test moves. */
function setup() {
  const clock = { ms: 1_000_000 };
  const probe = { runs: 0, outcome: 'ok' as 'ok' | 'refused' };
  const health = new UpstreamHealth(
    SERVER,
    () => {
      probe.runs++;
      return probe.outcome === 'ok' ? Promise.resolve() : Promise.reject(REFUSED);
    },
    () => clock.ms,
  );
  return { health, clock, probe };
}

void t.test('without evidence it probes once, however many ask at the same time, and reuses the answer for a second', async (t) => {
  const { health, clock, probe } = setup();
  t.same(await Promise.all([health.problem(undefined), health.problem(undefined), health.problem(undefined)]), [undefined, undefined, undefined]);
  t.equal(probe.runs, 1, 'one probe for three checks');
  clock.ms += 999;
  await health.problem(undefined);
  t.equal(probe.runs, 1, 'reused within the second');
  clock.ms += 2;
  await health.problem(undefined);
  t.equal(probe.runs, 2, 'probed again after it');
});

void t.test('a connection the proxy made in the last 5 s answers for the server: no probe', async (t) => {
  const { health, clock, probe } = setup();
  health.connected({});
  clock.ms += 4_999;
  t.equal(await health.problem(undefined), undefined);
  t.equal(probe.runs, 0);
  clock.ms += 2;
  await health.problem(undefined);
  t.equal(probe.runs, 1, 'older evidence is checked');
});

void t.test('a failed connection or a closed one makes the next check probe; a failed probe names the cause, reused for a second', async (t) => {
  const { health, clock, probe } = setup();
  health.connected({});
  health.disconnected();
  probe.outcome = 'refused';
  t.equal(await health.problem(undefined), REFUSED_TEXT, 'a connection closed: the probe finds the server gone');
  t.equal(probe.runs, 1);
  t.equal(await health.problem(undefined), REFUSED_TEXT);
  t.equal(probe.runs, 1, 'the failure is reused within the second');
  health.failed(REFUSED, {});
  probe.outcome = 'ok';
  clock.ms += 1_001;
  t.equal(await health.problem(undefined), undefined, 'a traffic failure is only a reason to probe: the probe decides');
  t.equal(probe.runs, 2);
});

void t.test('requests waiting for a connection are told the stage the oldest attempt of their pool hangs in', async (t) => {
  const { health, clock } = setup();
  t.equal(health.connectingProblem('requests'), undefined, 'nothing under way');
  const attempt = {};
  health.connecting(attempt, 'requests', undefined);
  health.connecting({}, 'streams', undefined);
  clock.ms += 2_500;
  t.equal(health.connectingProblem('requests'), 'connection unanswered for 2.5s', 'through a forward proxy the stage is unknown');
  health.failed(REFUSED, attempt);
  t.equal(health.connectingProblem('requests'), undefined, 'the attempt ended');
  t.equal(health.connectingProblem('streams'), 'connection unanswered for 2.5s', 'pools are told apart');
});
