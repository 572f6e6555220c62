// Exec credential plugins, in process with real plugin programs: the input they get, the output
// rules, caching, refresh ahead, single flight, 401 refresh, timeouts and failures.
import { PassThrough } from 'node:stream';
import t from 'tap';
import { createPki, issueCertificate } from '../../examples/pki.js';
import { CredentialError, type AuthMaterial, type Credentials } from '../../src/credentials/credentials.js';
import { execCredentials, type ExecCredentialOptions } from '../../src/credentials/exec/exec-credentials.js';
import { parseExecOutput } from '../../src/credentials/exec/exec-output.js';
import type { ExecConfig, ResolvedCluster } from '../../src/kubeconfig/types.js';
import { EXEC_V1, execCredential, writePlugin, type TestPlugin } from '../helpers/exec-plugin.js';

const CLUSTER: ResolvedCluster = {
  name: 'c',
  server: 'https://127.0.0.1:6443',
  tlsServerName: 'kubernetes',
  insecureSkipTlsVerify: false,
  certificateAuthority: { data: Buffer.from('-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n') },
  proxyUrl: 'socks5://127.0.0.1:1080',
  disableCompression: false,
  execExtension: { audience: 'my-aud' },
};

function config(plugin: TestPlugin, extra: Partial<ExecConfig> = {}): ExecConfig {
  return { command: plugin.command, args: [], env: [], apiVersion: EXEC_V1, provideClusterInfo: false, interactiveMode: 'Never', ...extra };
}

function options(extra: Partial<ExecCredentialOptions> = {}): ExecCredentialOptions & { warnings: string[]; stderrText: () => string } {
  const warnings: string[] = [];
  const stderr = new PassThrough();
  const chunks: Buffer[] = [];
  stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  return {
    timeoutMs: 10_000,
    stdinIsTerminal: false,
    stderr,
    onWarning: (message) => warnings.push(message),
    warnings,
    stderrText: () => Buffer.concat(chunks).toString(),
    ...extra,
  };
}

async function get(credentials: Credentials): Promise<AuthMaterial> {
  return await credentials.current();
}

const inOneHour = () => new Date(Date.now() + 3600_000).toISOString();

void t.test('the plugin gets our environment, its env entries and KUBERNETES_EXEC_INFO; args are passed', async (t) => {
  const plugin = writePlugin(t.testdir());
  plugin.answer(execCredential({ token: 'tok-1' }));
  const plain = execCredentials(config(plugin, { env: [{ name: 'PLUGIN_SETTING', value: 'from kubeconfig' }] }), CLUSTER, options());
  t.same(await get(plain), { authorization: 'Bearer tok-1' });
  const env = plugin.env(1);
  t.equal(env.PLUGIN_SETTING, 'from kubeconfig');
  t.equal(env.PATH, process.env.PATH, 'our environment is inherited');
  t.equal(env.KUBERNETES_EXEC_INFO, '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}');

  const withCluster = execCredentials(config(plugin, { provideClusterInfo: true, apiVersion: 'client.authentication.k8s.io/v1beta1' }), CLUSTER, options());
  plugin.answer(execCredential({ token: 'tok-1' }, 'client.authentication.k8s.io/v1beta1'));
  await get(withCluster);
  t.same(JSON.parse(plugin.env(2).KUBERNETES_EXEC_INFO!), {
    kind: 'ExecCredential',
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    spec: {
      cluster: {
        server: 'https://127.0.0.1:6443',
        'tls-server-name': 'kubernetes',
        'certificate-authority-data': CLUSTER.certificateAuthority && 'data' in CLUSTER.certificateAuthority ? CLUSTER.certificateAuthority.data.toString('base64') : '',
        'proxy-url': 'socks5://127.0.0.1:1080',
        config: { audience: 'my-aud' },
      },
      interactive: false,
    },
  });
});

void t.test('cached until expiry: one run serves many requests; no expiry means cached for good', async (t) => {
  const plugin = writePlugin(t.testdir());
  plugin.answer(execCredential({ token: 'tok-1', expirationTimestamp: inOneHour() }));
  const credentials = execCredentials(config(plugin), CLUSTER, options());
  const first = await get(credentials);
  for (let i = 0; i < 5; i++) t.equal(credentials.current(), first, 'the same object, synchronously');
  t.equal(plugin.runs(), 1);
});

void t.test('single flight: requests that arrive while the plugin runs share its one run', async (t) => {
  const plugin = writePlugin(t.testdir());
  plugin.answer(execCredential({ token: 'tok-1' }));
  const credentials = execCredentials(config(plugin), CLUSTER, options());
  const pending = Array.from({ length: 20 }, () => credentials.current());
  const waiting = pending.filter((p) => p instanceof Promise);
  t.equal(waiting.length, 20, 'nothing cached yet: every caller waits');
  const results = await Promise.all(waiting);
  t.ok(results.every((r) => r === results[0]));
  t.equal(plugin.runs(), 1);
});

void t.test('refresh ahead: near expiry the plugin runs in the background; closer still, callers wait', async (t) => {
  const plugin = writePlugin(t.testdir());
  const expiry = Date.now() + 3600_000;
  plugin.answer(execCredential({ token: 'tok-1', expirationTimestamp: new Date(expiry).toISOString() }), 1);
  plugin.answer(execCredential({ token: 'tok-2', expirationTimestamp: new Date(expiry + 3600_000).toISOString() }), 2);
  plugin.answer(execCredential({ token: 'tok-3', expirationTimestamp: new Date(expiry + 7200_000).toISOString() }), 3);
  let clock = Date.now();
  const refreshed: (number | undefined)[] = [];
  const credentials = execCredentials(config(plugin), CLUSTER, options({ now: () => clock, onRefresh: (at) => refreshed.push(at) }));
  t.same(await get(credentials), { authorization: 'Bearer tok-1' });

  clock = expiry - 61_000;
  t.same(credentials.current(), { authorization: 'Bearer tok-1' }, 'more than a minute left: no refresh');
  t.equal(plugin.runs(), 1);

  clock = expiry - 30_000;
  t.same(credentials.current(), { authorization: 'Bearer tok-1' }, 'in the last minute: still served at once…');
  t.equal(credentials.current(), credentials.current(), 'and the background run is started only once');
  await t.resolveMatch(waitFor(() => refreshed.length === 2), true, '…while the plugin runs in the background');
  t.same(credentials.current(), { authorization: 'Bearer tok-2' });
  t.equal(plugin.runs(), 2);

  clock = expiry + 3600_000 - 5_000;
  const waiting = credentials.current();
  t.ok(waiting instanceof Promise, 'within 10 s of expiry a credential is not sent any more');
  t.same(await waiting, { authorization: 'Bearer tok-3' });
  t.equal(plugin.runs(), 3);
});

/** Polls a condition set by a callback in this process; bounded. */
async function waitFor(done: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return true;
}

void t.test('a failed background refresh keeps the current credential and warns', async (t) => {
  const plugin = writePlugin(t.testdir());
  const expiry = Date.now() + 3600_000;
  plugin.answer(execCredential({ token: 'tok-1', expirationTimestamp: new Date(expiry).toISOString() }));
  let clock = Date.now();
  const opts = options({ now: () => clock });
  const credentials = execCredentials(config(plugin), CLUSTER, opts);
  await get(credentials);
  plugin.fail(3, 'token service unreachable');
  clock = expiry - 30_000;
  t.same(credentials.current(), { authorization: 'Bearer tok-1' });
  t.ok(await waitFor(() => opts.warnings.length > 0));
  t.match(opts.warnings[0], /exit code 3: token service unreachable; the current credential is used until it expires$/);
  t.same(credentials.current(), { authorization: 'Bearer tok-1' });
});

void t.test('401: one refresh per credential, shared by every request that saw it', async (t) => {
  const plugin = writePlugin(t.testdir());
  plugin.answer(execCredential({ token: 'tok-1' }), 1);
  plugin.answer(execCredential({ token: 'tok-2' }), 2);
  const credentials = execCredentials(config(plugin), CLUSTER, options());
  const used = await get(credentials);
  const refreshes = [credentials.unauthorized?.(used), credentials.unauthorized?.(used), credentials.unauthorized?.(used)];
  const fresh = await Promise.all(refreshes.filter((r) => r !== undefined));
  t.equal(fresh.length, 3, 'an exec source always offers a refresh');
  t.same(fresh[0], { authorization: 'Bearer tok-2' });
  t.ok(fresh.every((f) => f === fresh[0]));
  t.equal(await credentials.unauthorized?.(used), fresh[0], 'a late 401 for the old credential runs nothing');
  t.equal(plugin.runs(), 2);
  t.equal(credentials.current(), fresh[0]);
});

void t.test('a client certificate from the plugin; the same answer again keeps the same object', async (t) => {
  const pki = createPki();
  const plugin = writePlugin(t.testdir());
  plugin.answer(execCredential({ clientCertificateData: pki.clientCert, clientKeyData: pki.clientKey, token: 'tok-and-cert' }));
  const credentials = execCredentials(config(plugin), CLUSTER, options());
  const first = await get(credentials);
  t.equal(first.tlsIdentity?.cert.toString(), pki.clientCert);
  t.equal(first.authorization, 'Bearer tok-and-cert', 'token and certificate may both be returned');
  t.equal(await credentials.unauthorized?.(first), first, 'an identical certificate is not a new identity (no new connections)');
  const other = issueCertificate(pki, { commonName: 'rotated', usage: 'client' });
  plugin.answer(execCredential({ clientCertificateData: other.cert, clientKeyData: other.key }));
  const rotated = await credentials.unauthorized?.(first);
  t.not(rotated, first);
  t.equal(rotated?.tlsIdentity?.cert.toString(), other.cert);
});

void t.test('output rules, in client-go words, never quoting the output', async (t) => {
  const pki = createPki();
  const cases: [unknown, RegExp][] = [
    ['{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "s3cret-tok"', /^decoding stdout: not valid JSON \(\d+ bytes\)$/],
    [{ kind: 'ExecCredential', status: { token: 'x' } }, /^decoding stdout: Object 'apiVersion' is missing$/],
    [execCredential({ token: 'x' }, 'client.authentication.k8s.io/v1beta1'), /^exec plugin is configured to use API version client.authentication.k8s.io\/v1, plugin returned version client.authentication.k8s.io\/v1beta1$/],
    [execCredential(undefined), /^exec plugin didn't return a status field$/],
    [execCredential({}), /^exec plugin didn't return a token or cert\/key pair$/],
    [execCredential({ clientCertificateData: pki.clientCert }), /^exec plugin returned only certificate or key, not both$/],
    [execCredential({ clientKeyData: pki.clientKey }), /^exec plugin returned only certificate or key, not both$/],
    [execCredential({ clientCertificateData: 'not pem', clientKeyData: pki.clientKey }), /^failed parsing client key\/certificate: /],
    [execCredential({ clientCertificateData: pki.serverCert, clientKeyData: pki.clientKey }), /^failed parsing client key\/certificate: private key does not match public key$/],
    [execCredential({ token: 'x', expirationTimestamp: 'tomorrow' }), /^decoding stdout: status.expirationTimestamp: not an RFC 3339 time$/],
  ];
  for (const [output, message] of cases) {
    t.throws(() => parseExecOutput(typeof output === 'string' ? output : JSON.stringify(output), EXEC_V1), message);
  }
  t.same(parseExecOutput(JSON.stringify(execCredential({ token: 'x', expirationTimestamp: '2030-01-02T03:04:05Z' })), EXEC_V1), {
    token: 'x',
    expiresAt: Date.UTC(2030, 0, 2, 3, 4, 5),
  });

  const plugin = writePlugin(t.testdir());
  plugin.answer(execCredential({}));
  await t.rejects(get(execCredentials(config(plugin), CLUSTER, options())), {
    name: 'CredentialError',
    message: `exec plugin ${plugin.command}: exec plugin didn't return a token or cert/key pair`,
    statusCode: 502,
  });
});

void t.test('a failing plugin: exit code and the last lines of its stderr, which also reaches ours', async (t) => {
  const plugin = writePlugin(t.testdir());
  plugin.fail(7, 'error: could not reach the token service');
  const opts = options();
  await t.rejects(get(execCredentials(config(plugin), CLUSTER, opts)), {
    message: `exec: executable ${plugin.command} failed with exit code 7: error: could not reach the token service`,
    statusCode: 502,
  });
  t.equal(opts.stderrText(), 'error: could not reach the token service\n');
});

void t.test('a missing plugin names the command and its installHint (escapes neutralised)', async (t) => {
  const credentials = execCredentials(
    { command: 'kap-no-such-plugin', args: [], env: [], apiVersion: EXEC_V1, provideClusterInfo: false, interactiveMode: 'Never', installHint: 'Install it with:\n  brew install \u001b[1mkap\u001b[0m' },
    CLUSTER,
    options(),
  );
  const error = (await get(credentials).catch((err: unknown) => err)) as CredentialError;
  t.match(error.message, /^exec: executable kap-no-such-plugin not found \(Install it with: brew install U\+001B\[1mkapU\+001B\[0m\); see https:\/\/kubernetes.io\//);
});

void t.test('a hanging plugin is killed after the timeout; waiting callers get a 503 error naming it', async (t) => {
  const plugin = writePlugin(t.testdir());
  plugin.hang();
  const credentials = execCredentials(config(plugin), CLUSTER, options({ timeoutMs: 500 }));
  const started = Date.now();
  const waiters = [credentials.current(), credentials.current()] as Promise<AuthMaterial>[];
  for (const waiter of waiters) {
    await t.rejects(waiter, { statusCode: 503, message: `exec: executable ${plugin.command} did not finish within 0.5s and was killed` });
  }
  t.ok(Date.now() - started < 10_000, 'bounded by the timeout, not by the plugin');
  t.equal(plugin.runs(), 1);
});

void t.test('interactiveMode: Always needs a terminal; IfAvailable hands over stdin only with one', async (t) => {
  const plugin = writePlugin(t.testdir());
  plugin.answer(execCredential({ token: 'x' }));
  t.throws(() => execCredentials(config(plugin, { interactiveMode: 'Always' }), CLUSTER, options()), {
    message: 'exec plugin cannot support interactive mode: standard input is not a terminal',
  });
  await get(execCredentials(config(plugin, { interactiveMode: 'IfAvailable' }), CLUSTER, options()));
  t.match(plugin.env(1).KUBERNETES_EXEC_INFO, /"interactive":false/);
  await get(execCredentials(config(plugin, { interactiveMode: 'IfAvailable' }), CLUSTER, options({ stdinIsTerminal: true })));
  t.match(plugin.env(2).KUBERNETES_EXEC_INFO, /"interactive":true/);
});
