// Exec credential plugins through the running proxy: tokens and client certificates from a real
// plugin program, the transparent 401 retry, failures and timeouts as Status bodies, lazy start,
// --verify-credentials, and kubeconfig rules (relative command, validation messages).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { issueCertificate } from '../../examples/pki.js';
import { startTestCluster } from '../helpers/cluster.js';
import { EXEC_V1, execCredential, writePlugin } from '../helpers/exec-plugin.js';
import { fetchText, type StatusBody } from '../helpers/http.js';
import { isolatedEnv, runProxy, startProxyProcess } from '../helpers/proxy-process.js';

interface Echo {
  user: string;
  authKind: string;
  bodySha256: string;
  headers: Record<string, string>;
}

const echo = async (url: string, init: Parameters<typeof fetchText>[1] = {}) => {
  const reply = await fetchText(`${url}/test/echo`, init);
  return { status: reply.status, ...(JSON.parse(reply.body) as Echo) };
};

const execUser = (command: string, extra: Record<string, unknown> = {}) => ({
  exec: { apiVersion: EXEC_V1, command, interactiveMode: 'Never', ...extra },
});

void t.test('a token from the plugin, fetched on the first request and cached; the 401 retry is invisible', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'exec-token-1': 'exec-user', 'exec-token-2': 'exec-user' } });
  const plugin = writePlugin(cluster.dir);
  plugin.answer(execCredential({ token: 'exec-token-1' }), 1);
  plugin.answer(execCredential({ token: 'exec-token-2' }), 2);
  plugin.answer(execCredential({ token: 'exec-token-3' }));
  const kubeconfig = cluster.kubeconfig(execUser(plugin.command));
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.equal(plugin.runs(), 0, 'nothing is run before a request needs it (as kubectl)');
  await t.resolves(proxy.waitForStderr(/"identity":"exec plugin [^"]*plugin against https:/));

  t.match(await echo(proxy.url), { status: 200, user: 'exec-user', authKind: 'token' });
  t.match(await echo(proxy.url), { status: 200, user: 'exec-user' });
  t.equal(plugin.runs(), 1, 'cached: one run for two requests');

  cluster.api.tokens.delete('exec-token-1');
  t.match(await echo(proxy.url), { status: 200, user: 'exec-user' }, 'the 401 was answered by running the plugin and sending again');
  t.equal(plugin.runs(), 2);
  t.match(cluster.api.requests.slice(-2).map((r) => r.headers.authorization), ['Bearer exec-token-1', 'Bearer exec-token-2']);

  cluster.api.tokens.delete('exec-token-2');
  cluster.api.tokens.set('exec-token-3', 'exec-user');
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } });
  const posted = await echo(proxy.url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  t.match(posted, { status: 200, user: 'exec-user' }, 'a small body is replayed too');
  const [sent, replayed] = cluster.api.requests.slice(-2);
  t.equal(sent?.bodySha256, replayed?.bodySha256, 'the same body both times');
  t.equal(posted.bodySha256, replayed?.bodySha256);
  t.equal(plugin.runs(), 3);
});

void t.test('a streamed body is not replayed: the client gets the 401, the next request the new token', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'exec-token-1': 'exec-user' } });
  const plugin = writePlugin(cluster.dir);
  plugin.answer(execCredential({ token: 'exec-token-1' }), 1);
  plugin.answer(execCredential({ token: 'exec-token-2' }));
  const proxy = await startProxyProcess(['--kubeconfig', cluster.kubeconfig(execUser(plugin.command)), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.match(await echo(proxy.url), { status: 200 });
  cluster.api.tokens.delete('exec-token-1');
  cluster.api.tokens.set('exec-token-2', 'exec-user');
  const large = Buffer.alloc(512 * 1024, 'x');
  const refused = await fetchText(`${proxy.url}/test/echo`, { method: 'POST', body: large });
  t.equal(refused.status, 401, 'larger than the replay buffer: streamed, and its 401 passed on');
  t.match(await echo(proxy.url), { status: 200, user: 'exec-user' }, 'the 401 refreshed the credential for the next request');
  t.equal(plugin.runs(), 2);
});

void t.test('a client certificate from the plugin is the TLS identity; a new one means new connections', async (t) => {
  const cluster = await startTestCluster(t);
  const first = issueCertificate(cluster.pki, { commonName: 'plugin-user-1', usage: 'client' });
  const second = issueCertificate(cluster.pki, { commonName: 'plugin-user-2', usage: 'client' });
  const plugin = writePlugin(cluster.dir);
  // Short-lived: the second run happens once the first certificate is within its expiry leeway.
  plugin.answer(execCredential({ clientCertificateData: first.cert, clientKeyData: first.key, expirationTimestamp: new Date(Date.now() + 2_000).toISOString() }), 1);
  plugin.answer(execCredential({ clientCertificateData: second.cert, clientKeyData: second.key }));
  const proxy = await startProxyProcess(['--kubeconfig', cluster.kubeconfig(execUser(plugin.command)), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.match(await echo(proxy.url), { status: 200, user: 'plugin-user-1', authKind: 'certificate' });
  // Requests keep using the first certificate until it is about to expire, then the second.
  const deadline = Date.now() + 15_000;
  let seen = 'plugin-user-1';
  while (seen === 'plugin-user-1' && Date.now() < deadline) seen = (await echo(proxy.url)).user;
  t.equal(seen, 'plugin-user-2', 'the new certificate is used on new connections');
  t.equal(plugin.runs(), 2);
});

void t.test('a failing plugin: 502 Status naming it; a hanging one: killed, 503; the proxy serves meanwhile', async (t) => {
  const cluster = await startTestCluster(t);
  const failing = writePlugin(cluster.dir, 'failing-plugin');
  failing.fail(1, 'error: no SSO session; run `login` first');
  const proxy = await startProxyProcess(['--kubeconfig', cluster.kubeconfig(execUser(failing.command)), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const reply = await fetchText(`${proxy.url}/api/v1/pods`);
  t.equal(reply.status, 502);
  t.match(JSON.parse(reply.body) as StatusBody, {
    kind: 'Status',
    code: 502,
    reason: 'BadGateway',
    message: `getting credentials: exec: executable ${failing.command} failed with exit code 1: error: no SSO session; run \`login\` first`,
  });
  await t.resolves(proxy.waitForStderr(/error: no SSO session; run `login` first\n/), "the plugin's stderr reaches ours");

  const hanging = writePlugin(cluster.dir, 'hanging-plugin');
  hanging.hang();
  const slow = await startProxyProcess(['--kubeconfig', cluster.kubeconfig(execUser(hanging.command), {}, 'hanging'), '-p', '0', '--exec-plugin-timeout', '1s'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => slow.stop());
  const [a, b] = await Promise.all([fetchText(`${slow.url}/api/v1/pods`), fetchText(`${slow.url}/version`)]);
  for (const answer of [a, b]) {
    t.equal(answer.status, 503);
    t.match(JSON.parse(answer.body) as StatusBody, { reason: 'ServiceUnavailable', message: `getting credentials: exec: executable ${hanging.command} did not finish within 1s and was killed` });
  }
  t.equal(hanging.runs(), 1, 'both requests waited on one run');
});

void t.test('--verify-credentials runs the plugin before serving and exits with its error', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'exec-token-1': 'exec-user' } });
  const plugin = writePlugin(cluster.dir);
  plugin.fail(2, 'token expired');
  const kubeconfig = cluster.kubeconfig(execUser(plugin.command));
  const failed = await runProxy(['--kubeconfig', kubeconfig, '-p', '0', '--verify-credentials'], { env: isolatedEnv(cluster.dir) });
  t.equal(failed.code, 1);
  t.match(failed.stderr, new RegExp(`^token expired\\nerror: exec: executable ${plugin.command} failed with exit code 2: token expired\\n$`));
  t.equal(failed.stdout, '', 'never started serving');

  plugin.fail(0, '');
  plugin.answer(execCredential({ token: 'exec-token-1' }));
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--verify-credentials'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.equal(plugin.runs(), 2, 'ran before "Starting to serve"');
  t.match(await echo(proxy.url), { user: 'exec-user' });
  t.equal(plugin.runs(), 2);
});

void t.test('kubeconfig rules: a relative command is found next to the kubeconfig; bad entries are named', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'exec-token-1': 'exec-user' } });
  const plugin = writePlugin(cluster.dir, 'relative-plugin');
  plugin.answer(execCredential({ token: 'exec-token-1' }));
  const kubeconfig = cluster.kubeconfig(execUser('./relative-plugin'));
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir), cwd: '/' });
  t.teardown(() => proxy.stop());
  t.match(await echo(proxy.url), { user: 'exec-user' });

  const onPath = await startProxyProcess(['--kubeconfig', cluster.kubeconfig(execUser('relative-plugin'), {}, 'on-path'), '-p', '0'], {
    env: isolatedEnv(cluster.dir, { PATH: `${cluster.dir}:${process.env.PATH ?? ''}` }),
  });
  t.teardown(() => onPath.stop());
  t.match(await echo(onPath.url), { user: 'exec-user' }, 'a bare name is looked up on PATH');

  const cases: [Record<string, unknown>, RegExp][] = [
    [{ exec: { command: 'x', interactiveMode: 'Never' } }, /apiVersion must be specified for tester to use exec authentication plugin/],
    [{ exec: { apiVersion: EXEC_V1, command: 'x' } }, /interactiveMode must be specified for tester to use exec authentication plugin/],
    [{ exec: { apiVersion: EXEC_V1, command: 'x', interactiveMode: 'Sometimes' } }, /invalid interactiveMode for tester: "Sometimes"/],
    [{ exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x', interactiveMode: 'Never' } }, /exec plugin: invalid apiVersion "client.authentication.k8s.io\/v1alpha1"/],
    [{ exec: { apiVersion: EXEC_V1, interactiveMode: 'Never' } }, /command must be specified for tester to use exec authentication plugin/],
    [{ exec: { apiVersion: EXEC_V1, command: 'x', interactiveMode: 'Never', env: [{ value: 'v' }] } }, /env variable name must be specified for tester to use exec authentication plugin/],
    [{ exec: { apiVersion: EXEC_V1, command: 'x', interactiveMode: 'Always' } }, /^error: exec plugin cannot support interactive mode: standard input is not a terminal\n$/],
  ];
  for (const [user, message] of cases) {
    const file = join(cluster.dir, 'bad-kubeconfig');
    writeFileSync(file, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: cluster.api.url } }],
      users: [{ name: 'tester', user }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'tester' } }],
    }));
    const result = await runProxy(['--kubeconfig', file, '-p', '0'], { env: isolatedEnv(cluster.dir) });
    t.equal(result.code, 1);
    t.match(result.stderr, message);
  }
});

void t.test('a token in the kubeconfig (or --token) means the plugin is never run, as in client-go', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'static-token': 'static-user' } });
  const plugin = writePlugin(cluster.dir);
  plugin.answer(execCredential({ token: 'exec-token-1' }));
  const kubeconfig = cluster.kubeconfig(execUser(plugin.command));
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--token', 'static-token'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.match(await echo(proxy.url), { user: 'static-user' });
  t.equal(plugin.runs(), 0);
});

void t.test('refresh ahead: near its expiry the plugin runs in the background while the current token still serves', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'ahead-token-1': 'exec-user', 'ahead-token-2': 'exec-user' } });
  const plugin = writePlugin(cluster.dir);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.kubeconfig(execUser(plugin.command)), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  // The plugin first runs on the first request, so the clock starts here, after start-up (however
  // slow a loaded machine makes that): a life of 10 s, whose background refresh is due in the last
  // fifth of the life left when the plugin ran, and whose token is sent until its last tenth.
  // 1.1 s before expiry is inside that window for a first request answered within 4.5 s.
  const expiresAt = Date.now() + 10_000;
  plugin.answer(execCredential({ token: 'ahead-token-1', expirationTimestamp: new Date(expiresAt).toISOString() }), 1);
  plugin.answer(execCredential({ token: 'ahead-token-2' }));

  t.match(await echo(proxy.url), { status: 200, user: 'exec-user' });
  t.equal(plugin.runs(), 1);
  // Waiting for the clock, not for the proxy.
  const dueAt = expiresAt - 1_100;
  while (Date.now() < dueAt) await new Promise((resolve) => setTimeout(resolve, Math.min(100, dueAt - Date.now())));
  t.match(await echo(proxy.url), { status: 200 }, 'the request that starts the refresh does not wait for it');
  t.equal(cluster.api.requests.at(-1)?.headers.authorization, 'Bearer ahead-token-1', 'and is sent with the current token');
  const deadline = Date.now() + 10_000;
  while (plugin.runs() < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(plugin.runs(), 2, 'the plugin ran in the background');
  // The new token is in place once the background run has been read.
  let seen: string | undefined;
  while (seen !== 'Bearer ahead-token-2' && Date.now() < deadline) {
    await echo(proxy.url);
    seen = cluster.api.requests.at(-1)?.headers.authorization as string | undefined;
  }
  t.equal(seen, 'Bearer ahead-token-2', 'the next requests carry the new token');
  t.notOk(cluster.api.requests.some((request) => request.user === undefined), 'no request was refused on the way');
  t.equal(plugin.runs(), 2, 'one background run, no run per request');
});
