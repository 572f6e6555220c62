// Flag validation: every problem at once, in flag language.
import t from 'tap';
import * as defaults from '../../src/config/defaults.js';
import { parseDuration } from '../../src/config/duration.js';
import type { ProxyOptions } from '../../src/config/options.js';
import { effectiveRejectPaths, validateOptions } from '../../src/config/validate.js';

const base: ProxyOptions = {
  port: defaults.DEFAULT_PORT,
  address: defaults.DEFAULT_ADDRESS,
  apiPrefix: defaults.DEFAULT_API_PREFIX,
  wwwPrefix: defaults.DEFAULT_WWW_PREFIX,
  acceptHosts: defaults.DEFAULT_ACCEPT_HOSTS,
  acceptPaths: defaults.DEFAULT_ACCEPT_PATHS,
  rejectMethods: defaults.DEFAULT_REJECT_METHODS,
  disableFilter: false,
  corsAllowedOrigins: '',
  originGuard: true,
  localTls: false,
  auditLogMaxAge: 366,
  auditLogMaxBackup: 100,
  auditLogMaxSize: 100,
  auditLogCompress: false,
  auditWebhookMode: 'batch',
  auditWebhookBatchMaxSize: 400,
  auditWebhookBatchMaxWaitMs: 30_000,
  auditWebhookInitialBackoffMs: 10_000,
  auditBodyLimit: 65_536,
  auditRedact: true,
  allowExec: false,
  keepaliveMs: 0,
  appendServerPath: false,
  overrideClientAuth: false,
  requestTimeoutMs: 0,
  upstreamConnections: defaults.DEFAULT_UPSTREAM_CONNECTIONS,
  upstreamQueueTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  execPluginTimeoutMs: 30_000,
  verifyCredentials: false,
  serverTiming: true,
  verbosity: 0,
  loginLinkTtlMs: 300_000,
  readOnly: false,
};

void t.test('the defaults are valid', async (t) => {
  t.same(validateOptions(base), []);
});

void t.test('problems are reported in flag language', async (t) => {
  const cases: [string, Partial<ProxyOptions>, string[]][] = [
    ['--port with --unix-socket', { port: 9000, unixSocket: '/tmp/s' }, ['cannot set --unix-socket and --port at the same time']],
    ['--port=8001 with --unix-socket is allowed, as in kubectl', { unixSocket: '/tmp/s' }, []],
    ['a port out of range', { port: 70000 }, ['--port: 70000 is not a port number (0-65535; 0 picks a free port)']],
    ['--www-prefix equal to --api-prefix', { www: '.', wwwPrefix: '/x', apiPrefix: '/x/' }, ['--www-prefix and --api-prefix cannot be the same (/x/)']],
    ['an invalid regex names its flag', { acceptPaths: '^/ok,(' }, ['--accept-paths: invalid regular expression "(": Unterminated group']],
    ['invalid regexes are not checked with --disable-filter', { acceptPaths: '(', disableFilter: true }, []],
    ['several problems at once', { port: -1, rejectMethods: '[' }, ['--port: -1 is not a port number (0-65535; 0 picks a free port)', '--reject-methods: invalid regular expression "[": Unterminated character class']],
    ['an API prefix without a leading slash', { apiPrefix: 'api' }, ['--api-prefix: "api" must begin with /']],
    ['--allow-exec alone', { allowExec: true }, []],
    ['no upstream connections at all', { upstreamConnections: 0 }, ['--upstream-connections: must be at least 1']],
    ['--write-kubeconfig without --caller-token-file', { writeKubeconfig: '/tmp/k' }, ['--write-kubeconfig needs --caller-token-file: the kubeconfig carries its token']],
    ['--write-kubeconfig with --unix-socket', { writeKubeconfig: '/tmp/k', callerTokenFile: '/tmp/t', unixSocket: '/tmp/s' }, ['--write-kubeconfig cannot be used with --unix-socket: kubectl cannot connect to a unix socket (the socket, mode 0600, already admits only you)']],
    ['--caller-token-file and --read-only with --unix-socket are fine', { callerTokenFile: '/tmp/t', unixSocket: '/tmp/s', readOnly: true }, []],
    ['empty caller paths and a zero login link lifetime', { callerTokenFile: '', loginLinkTtlMs: 0 }, ['--caller-token-file: the path is empty', '--login-link-ttl: must be positive']],
    ['a zero queue timeout would refuse every request', { upstreamQueueTimeoutMs: 0 }, ['--upstream-queue-timeout: must be positive']],
    ['a zero headers timeout would let slow-header clients stay forever', { headersTimeoutMs: 0 }, ['--headers-timeout: must be positive']],
    ['--allow-exec with --reject-paths, even the default one', { allowExec: true, rejectPaths: defaults.DEFAULT_REJECT_PATHS }, ['--allow-exec and --reject-paths cannot be used together: --allow-exec only drops the default exec and attach rules; leave them out of your --reject-paths instead']],
  ];
  for (const [name, change, expected] of cases) t.same(validateOptions({ ...base, ...change }), expected, name);
});

void t.test('durations parse like Go flags', async (t) => {
  const cases: [string, number | undefined][] = [['0', 0], ['30s', 30_000], ['1m30s', 90_000], ['250ms', 250], ['2', 2000], ['1h', 3_600_000], ['soon', undefined], ['5x', undefined]];
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, text);
});

void t.test('--reject-paths in force: the user\'s, else the default, which --allow-exec empties', async (t) => {
  t.equal(effectiveRejectPaths(base), defaults.DEFAULT_REJECT_PATHS);
  t.equal(effectiveRejectPaths({ ...base, allowExec: true }), '');
  t.equal(effectiveRejectPaths({ ...base, rejectPaths: '^/x' }), '^/x');
  t.equal(effectiveRejectPaths({ ...base, rejectPaths: '' }), '', 'an empty --reject-paths stays empty (kubectl ≥ 1.21)');
});

void t.test("--cors-allowed-origins must be pinned at both ends, as kube-apiserver requires (CVE-2022-1996), a scheme's :// no end pin", async (t) => {
  const cases: [string, boolean][] = [
    ['^https://example\\.com$', true],
    ['//example\\.com(:|$)', true],
    ['^http://localhost:3000$', true],
    ['^https://example\\.com(:|$)', true],
    ['example\\.com', false],
    ['^https://example\\.com', false],
    ['https?://example\\.com', false],
    ['*', false],
  ];
  for (const [expression, pinned] of cases) {
    const problems = validateOptions({ ...base, corsAllowedOrigins: expression });
    t.equal(problems.some((problem) => problem.includes('is not pinned')), !pinned, `${expression} ${pinned ? 'is' : 'is not'} pinned`);
  }
  t.same(validateOptions({ ...base, corsAllowedOrigins: '^http://a$,^http://b$' }), [], 'a list of pinned expressions');
  t.ok(validateOptions({ ...base, corsAllowedOrigins: '^http://a$,' }).some((problem) => problem.includes('"" is not pinned')), 'an empty entry in a list');
});
