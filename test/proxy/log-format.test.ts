// --log-format text|json and --log-file, with the built command: what a person at a terminal
// reads, what a pipe gets, and a log file that keeps its last line when the proxy is stopped.
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startTestCluster } from '../helpers/cluster.js';
import { fetchText } from '../helpers/http.js';
import { isolatedEnv, runProxy, startProxyProcess } from '../helpers/proxy-process.js';

const TOKEN = 'planted-log-format-token';
const CLOCK = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
const AUDIT_ID = '[0-9a-f-]{36}';
const CLOCK_WIDTH = 'HH:MM:SS.mmm '.length;

void t.test('--log-format text -v=8: an access-log line, then the headers sorted and masked', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { [TOKEN]: 'log-user' } });
  const kubeconfig = cluster.kubeconfig({ token: TOKEN });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '-v=8', '--log-format', 'text'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.equal((await fetchText(`${proxy.url}/version`, { headers: { 'x-z': 'last', 'x-a': 'first' } })).status, 200);
  await proxy.waitForStderr(/ GET \/version [\s\S]* {4}< [\s\S]*\n(?! {4})/);

  const lines = proxy.stderr().split('\n');
  t.match(lines[0], new RegExp(`^${CLOCK} INFO  acting as identity="static token against https://127\\.0\\.0\\.1:\\d+"$`), 'start-up records: time, level, message, key=value');
  const at = lines.findIndex((line) => / GET \/version /.test(line));
  t.match(lines[at], new RegExp(`^${CLOCK} GET /version 200 [\\d.]+ms new (queue=[\\d.]+ )?tcp=[\\d.]+ tls=[\\d.]+ server=[\\d.]+ transfer=[\\d.]+ \\d+B audit=${AUDIT_ID} client=127\\.0\\.0\\.1$`));
  const following = lines.slice(at + 1);
  const requestHeaders = following.filter((line) => line.startsWith('    > '));
  const responseHeaders = following.filter((line) => line.startsWith('    < '));
  t.same(requestHeaders, [...requestHeaders].sort(), 'request headers sorted');
  t.same(responseHeaders, [...responseHeaders].sort(), 'response headers sorted');
  t.ok(requestHeaders.includes('    > authorization: Bearer <masked>'), 'our token masked, its scheme kept');
  t.ok(requestHeaders.includes('    > x-a: first') && requestHeaders.includes('    > x-z: last'));
  t.ok(responseHeaders.includes('    < content-type: application/json'), "the API server's headers");
  t.notMatch(proxy.stderr(), /planted/, 'the token appears nowhere');
  t.notMatch(proxy.stderr(), /^\{/m, 'no JSON line');
});

void t.test('JSON lines by default when stderr is not a terminal', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '-v=6'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  await fetchText(`${proxy.url}/version`);
  await proxy.waitForStderr(/"msg":"request completed"/);
  const records = proxy.stderr().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  t.match(records, [{ level: 30, msg: 'acting as' }, { level: 20, method: 'GET', url: '/version', status: 200, msg: 'request completed' }]);
});

void t.test('--log-file: appended, created owner-only, nothing on stderr, the last line kept at SIGTERM', async (t) => {
  const cluster = await startTestCluster(t);
  const file = join(cluster.dir, 'proxy.log');
  const run = async (...flags: string[]) => {
    const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '-v=6', '--log-file', file, ...flags], { env: isolatedEnv(cluster.dir) });
    t.equal((await fetchText(`${proxy.url}/version`)).status, 200);
    t.equal(await proxy.stop('SIGTERM'), 0, 'a clean exit');
    t.equal(proxy.stderr(), '', 'nothing on stderr');
    t.equal(proxy.stdout(), `Starting to serve on ${proxy.address}\n`, 'stdout keeps only the start line');
  };

  await run();
  t.equal(statSync(file).mode & 0o777, 0o600, 'created readable by its owner only');
  const records = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  // The request line is written when its response closes, which may come after SIGTERM arrives.
  t.match(records[0], { msg: 'acting as' }, 'JSON into a file');
  t.match(records.slice(1).sort((a, b) => String(a.msg).localeCompare(String(b.msg))), [{ url: '/version', msg: 'request completed' }, { msg: 'shutting down', signal: 'SIGTERM' }], 'the lines written just before exit are there');

  appendFileSync(file, 'a line of our own\n');
  await run('--log-format', 'text');
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  t.equal(lines.length, records.length + 1 + 3, 'appended, not truncated');
  t.equal(lines[records.length], 'a line of our own');
  const last = lines.slice(-2).sort((a, b) => a.slice(CLOCK_WIDTH).localeCompare(b.slice(CLOCK_WIDTH)));
  t.match(last, [new RegExp(`^${CLOCK} GET /version 200 `), new RegExp(`^${CLOCK} INFO  shutting down signal=SIGTERM$`)], 'text when asked for, the last lines kept');
});

void t.test('a --log-file that cannot be opened is a one-line error naming the flag and path', async (t) => {
  const cluster = await startTestCluster(t);
  const cases: [string, string, RegExp][] = [
    ['a missing directory', join(cluster.dir, 'missing', 'proxy.log'), /ENOENT/],
    ['a directory', cluster.dir, /EISDIR/],
  ];
  for (const [name, path, reason] of cases) {
    const result = await runProxy(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--log-file', path], { env: isolatedEnv(cluster.dir) });
    t.equal(result.code, 1, `${name}: exit 1`);
    t.equal(result.stdout, '', `${name}: never started`);
    t.match(result.stderr, new RegExp(`^error: --log-file: cannot open ${path.replace(/[.]/g, '\\.')} \\(.+\\)\\n$`), `${name}: one line`);
    t.match(result.stderr, reason);
  }
  const bad = await runProxy(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--log-format', 'xml'], { env: isolatedEnv(cluster.dir) });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^error: .*log-format.*"xml".*json.*text/);
});
