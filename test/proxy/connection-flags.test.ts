// kubectl's connection flags without a kubeconfig, context/user selection, -v, and no secret in
// any log line at any level.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { ADMIN_TOKEN, startTestCluster } from '../helpers/cluster.js';
import { fetchText } from '../helpers/http.js';
import { isolatedEnv, runProxy, startProxyProcess } from '../helpers/proxy-process.js';

const whoami = async (url: string, headers: Record<string, string> = {}) =>
  (JSON.parse((await fetchText(`${url}/test/echo`, { headers })).body) as { user: string; authKind: string });

void t.test('flags alone, no kubeconfig: --server with a CA and a client certificate, or a token', async (t) => {
  const cluster = await startTestCluster(t);
  const env = isolatedEnv(cluster.dir);
  const { caCert, clientCert, clientKey } = cluster.files;
  const withCert = await startProxyProcess(['-p', '0', '--server', cluster.api.url, '--certificate-authority', caCert, '--client-certificate', clientCert, '--client-key', clientKey], { env });
  t.teardown(() => withCert.stop());
  t.match(await whoami(withCert.url), { authKind: 'certificate' });

  const withToken = await startProxyProcess(['-p', '0', '-s', cluster.api.url, '--certificate-authority', caCert, '--token', ADMIN_TOKEN], { env });
  t.teardown(() => withToken.stop());
  t.match(await whoami(withToken.url), { authKind: 'token', user: 'token-admin' });
  await t.resolves(withToken.waitForStderr(/"identity":"static token against https:\/\/127\.0\.0\.1:\d+","msg":"acting as"/), 'who the proxy acts as, logged once at start');
  await t.resolves(withCert.waitForStderr(/"identity":"client certificate [^"]*CN=kube-admin[^"]*\(expires /));

  const insecure = await startProxyProcess(['-p', '0', '-s', cluster.api.url, '--insecure-skip-tls-verify', '--token', ADMIN_TOKEN], { env });
  t.teardown(() => insecure.stop());
  t.match(await whoami(insecure.url), { user: 'token-admin' }, '--insecure-skip-tls-verify without a CA');

  const none = await runProxy(['-p', '0'], { env });
  t.equal(none.code, 1);
  t.match(none.stderr, /^error: .*no configuration has been provided, try setting KUBERNETES_MASTER environment variable\n$/);
});

void t.test('--context, --user and KUBECONFIG merging pick the identity', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'second-token': 'second-user' }, basicAuth: { alice: 's3cret-pw' } });
  const first = join(cluster.dir, 'first.yaml');
  const second = join(cluster.dir, 'second.yaml');
  const server = { server: cluster.api.url, 'certificate-authority': cluster.files.caCert };
  writeFileSync(first, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'admin',
    clusters: [{ name: 'c', cluster: server }],
    users: [{ name: 'admin', user: { token: ADMIN_TOKEN } }, { name: 'alice', user: { username: 'alice', password: 's3cret-pw' } }],
    contexts: [{ name: 'admin', context: { cluster: 'c', user: 'admin' } }],
  }));
  writeFileSync(second, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'second',
    clusters: [{ name: 'c', cluster: { server: 'https://ignored.invalid' } }],
    users: [{ name: 'second', user: { token: 'second-token' } }],
    contexts: [{ name: 'second', context: { cluster: 'c', user: 'second' } }],
  }));
  const env = isolatedEnv(cluster.dir, { KUBECONFIG: `${join(cluster.dir, 'missing.yaml')}:${first}:${second}` });
  const merged = await startProxyProcess(['-p', '0'], { env });
  t.teardown(() => merged.stop());
  t.match(await whoami(merged.url), { user: 'token-admin' }, 'first file wins current-context and cluster "c"');

  const other = await startProxyProcess(['-p', '0', '--context', 'second'], { env });
  t.teardown(() => other.stop());
  t.match(await whoami(other.url), { user: 'second-user' }, '--context picks the later file\'s context, with the first file\'s cluster');

  const basic = await startProxyProcess(['-p', '0', '--user', 'alice', '-v=6'], { env });
  t.teardown(() => basic.stop());
  t.match(await whoami(basic.url), { user: 'alice', authKind: 'basic' }, '--user selects basic auth');
  await fetchText(`${basic.url}/version`);
  await t.resolves(basic.waitForStderr(/"method":"GET","url":"\/version","status":200/), '-v=6 logs a line per request');
});

void t.test('no secret reaches a log line, at -v=9', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'client-planted-token': 'client' } });
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '-v=9'], { env: isolatedEnv(cluster.dir) });
  await whoami(proxy.url, { authorization: 'Bearer client-planted-token', cookie: 'session=planted-cookie' });
  await whoami(proxy.url);
  await fetchText(`${proxy.url}/test/status/500`);
  t.equal(await proxy.stop(), 0);
  const logs = proxy.stdout() + proxy.stderr();
  t.ok(logs.split('\n').length > 3, 'there were log lines to check');
  for (const secret of [ADMIN_TOKEN, 'client-planted-token', 'planted-cookie', cluster.pki.clientKey.split('\n')[1]!]) {
    t.notOk(logs.includes(secret), `log free of ${secret.slice(0, 12)}…`);
  }
});

void t.test('impersonation from the kubeconfig and from --as/--as-group/--as-uid reaches the API server', async (t) => {
  const cluster = await startTestCluster(t);
  const env = isolatedEnv(cluster.dir);
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN, as: 'jane', 'as-user-extra': { 'example.com/scopes': ['read'] } });
  const echo = async (url: string, headers: Record<string, string> = {}) =>
    (JSON.parse((await fetchText(`${url}/test/echo`, { headers })).body) as { headers: Record<string, string | string[]> }).headers;

  const fromFile = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env });
  t.teardown(() => fromFile.stop());
  t.match(await echo(fromFile.url), { 'impersonate-user': 'jane', 'impersonate-extra-example.com%2fscopes': 'read' });
  const clientChoice = await echo(fromFile.url, { 'impersonate-user': 'bob' });
  t.equal(clientChoice['impersonate-user'], 'bob', "a client's own Impersonate-User wins, as in kubectl");
  t.equal(clientChoice['impersonate-extra-example.com%2fscopes'], undefined);

  const fromFlags = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--as', 'bob', '--as-group', 'devs', '--as-group', 'ops', '--as-uid', '7'], { env });
  t.teardown(() => fromFlags.stop());
  t.match(await echo(fromFlags.url), { 'impersonate-user': 'bob', 'impersonate-uid': '7', 'impersonate-group': 'devs, ops' });

  const groupsOnly = await runProxy(['--kubeconfig', cluster.kubeconfig({ token: ADMIN_TOKEN }, {}, 'plain.yaml'), '-p', '0', '--as-group', 'devs'], { env });
  t.equal(groupsOnly.code, 1);
  t.match(groupsOnly.stderr, /requesting uid, groups or user-extra for tester without impersonating a user/);
});

void t.test('in-cluster configuration: the service account when no kubeconfig says anything', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'flag-token': 'flag-user' } });
  const serviceAccount = join(cluster.dir, 'serviceaccount');
  mkdirSync(serviceAccount);
  writeFileSync(join(serviceAccount, 'token'), `${ADMIN_TOKEN}\n`);
  writeFileSync(join(serviceAccount, 'ca.crt'), cluster.pki.caCert);
  const pod = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(cluster.api.port), KUBE_AUTH_PROXY_SERVICE_ACCOUNT_DIR: serviceAccount };
  const env = isolatedEnv(join(cluster.dir, 'empty-home'), pod);

  const inPod = await startProxyProcess(['-p', '0'], { env });
  t.teardown(() => inPod.stop());
  t.match(await whoami(inPod.url), { user: 'token-admin', authKind: 'token' }, 'the service-account token, verified with its ca.crt');
  t.match(inPod.stderr(), /using in-cluster configuration/);

  const withToken = await startProxyProcess(['-p', '0', '--token', 'flag-token'], { env });
  t.teardown(() => withToken.stop());
  t.match(await whoami(withToken.url), { user: 'flag-user' }, '--token overrides the service account');

  const kubeconfigWins = await startProxyProcess(['-p', '0', '--kubeconfig', cluster.certKubeconfig()], { env });
  t.teardown(() => kubeconfigWins.stop());
  t.match(await whoami(kubeconfigWins.url), { authKind: 'certificate' }, 'a kubeconfig beats in-cluster');

  const noToken = await runProxy(['-p', '0'], { env: { ...env, KUBE_AUTH_PROXY_SERVICE_ACCOUNT_DIR: join(cluster.dir, 'nowhere') } });
  t.match(noToken.stderr, /no configuration has been provided/, 'without a token file this is not a pod');
});
