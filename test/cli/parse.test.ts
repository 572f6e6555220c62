// The command line to options: kubectl's flag rules (the last value wins, --as-group repeats),
// our flags' defaults, and every problem at once in flag language, as one ConfigError.
import t from 'tap';
import { parseCommandLine } from '../../src/cli/parse.js';
import * as defaults from '../../src/config/defaults.js';
import { ConfigError } from '../../src/errors.js';

void t.test('defaults as documented', async (t) => {
  const options = await parseCommandLine([]);
  t.match(options, {
    port: defaults.DEFAULT_PORT,
    address: defaults.DEFAULT_ADDRESS,
    apiPrefix: defaults.DEFAULT_API_PREFIX,
    upstreamConnections: defaults.DEFAULT_UPSTREAM_CONNECTIONS,
    upstreamQueueTimeoutMs: 10_000,
    requestTimeoutMs: 0,
    serverTiming: true,
    verbosity: 0,
  });
  t.equal(options.rejectPaths, undefined, "kubectl's default reject list applies later (effectiveRejectPaths)");
});

void t.test('pflag rules: the last value of a flag wins, --as-group collects', async (t) => {
  const options = await parseCommandLine(['--port', '1', '--port', '2', '--as-group', 'a', '--as-group', 'b', '-v', '6', '--upstream-queue-timeout', '1m30s']);
  t.equal(options.port, 2);
  t.same(options.asGroups, ['a', 'b']);
  t.equal(options.verbosity, 6);
  t.equal(options.upstreamQueueTimeoutMs, 90_000);
});

void t.test('every problem at once, naming its flag', async (t) => {
  const problems = parseCommandLine(['--port', 'abc', '--upstream-queue-timeout', 'soon', '--upstream-connections', '0']);
  await t.rejects(problems, ConfigError);
  const message = await problems.then(
    () => '',
    (err: unknown) => (err as Error).message,
  );
  t.match(message, /--port: "abc" is not a whole number/);
  t.match(message, /--upstream-queue-timeout: invalid duration "soon"/);
  t.match(message, /--upstream-connections: must be at least 1/);
});

void t.test('an unknown flag is refused by name', async (t) => {
  await t.rejects(parseCommandLine(['--no-such-flag']), { name: 'ConfigError', message: /Unknown argument: no-such-flag/ });
});
