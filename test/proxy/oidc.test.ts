// The oidc auth-provider end to end: the built proxy, a real OpenID Connect issuer over HTTPS and
// the example API server verifying the ID tokens it receives, all on loopback. What the API
// server saw, what reached the token endpoint and what was written to the kubeconfig are checked.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createPki } from '../../examples/pki.js';
import { ADMIN_TOKEN, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { fetchText, type Reply, type StatusBody } from '../helpers/http.js';
import { CLIENT_ID, CLIENT_SECRET, startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';
import { isolatedEnv, runProxy, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';

/** The issuer has a CA of its own, unrelated to the cluster's. */
const issuerPki = createPki();

interface OidcCluster {
  readonly cluster: TestCluster;
  readonly issuer: TestIssuer;
  /** ID tokens the API server rejects although the issuer signed them (revoked sessions). */
  readonly revoked: Set<string>;
}

async function startOidcCluster(t: Test): Promise<OidcCluster> {
  const revoked = new Set<string>();
  // The issuer keeps its CA in the cluster's test folder, so it starts second.
  const started: { issuer?: TestIssuer } = {};
  // kube-apiserver's OIDC authenticator: the issuer's signature, audience and expiry.
  const cluster = await startTestCluster(t, { authenticateToken: (token) => (revoked.has(token) ? undefined : started.issuer?.verify(token)) });
  const issuer = (started.issuer = await startTestIssuer(t, issuerPki, cluster.dir));
  return { cluster, issuer, revoked };
}

/** A kubeconfig as kubectl writes one (keys sorted, comments added by hand); returns its path and text. */
function writeKubeconfig(o: OidcCluster, tokens: { idToken?: string; refreshToken?: string }, caPath = o.issuer.caFile) {
  const config = [
    `client-id: ${CLIENT_ID}`,
    `client-secret: ${CLIENT_SECRET}`,
    ...(tokens.idToken === undefined ? [] : [`id-token: ${tokens.idToken}`]),
    `idp-certificate-authority: ${caPath}`,
    `idp-issuer-url: ${o.issuer.url}`,
    ...(tokens.refreshToken === undefined ? [] : [`refresh-token: ${tokens.refreshToken}`]),
  ];
  const text = `# OIDC end-to-end kubeconfig: comments and layout must survive the write-back.
apiVersion: v1
clusters:
- cluster:
    certificate-authority: ${o.cluster.files.caCert}
    server: ${o.cluster.api.url}
  name: test
contexts:
- context:
    cluster: test
    user: jane   # the OIDC user
  name: test
current-context: test
kind: Config
users:
- name: admin
  user:
    token: ${ADMIN_TOKEN}
- name: jane
  user:
    auth-provider:
      config:
${config.map((line) => `        ${line}\n`).join('')}      name: oidc
`;
  const path = join(o.cluster.dir, 'kubeconfig');
  writeFileSync(path, text);
  return { path, text };
}

async function startProxy(t: Test, o: OidcCluster, kubeconfig: string, cwd?: string): Promise<ProxyProcess> {
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(o.cluster.dir), ...(cwd ? { cwd } : {}) });
  t.teardown(() => proxy.stop());
  return proxy;
}

const echo = (proxy: ProxyProcess): Promise<Reply> => fetchText(`${proxy.url}/test/echo`);
const userOf = (reply: Reply): string | undefined => (JSON.parse(reply.body) as { user?: string }).user;
const bearerSeen = (o: OidcCluster): (string | undefined)[] =>
  o.cluster.api.requests.map((seen) => String(seen.headers.authorization ?? '').replace(/^Bearer /, '') || undefined);

void t.test('a fresh id-token is sent as it is and the issuer is not asked', async (t) => {
  const o = await startOidcCluster(t);
  const tokens = await o.issuer.login('jane');
  const kubeconfig = writeKubeconfig(o, tokens);
  const proxy = await startProxy(t, o, kubeconfig.path);

  const reply = await echo(proxy);
  t.equal(reply.status, 200);
  t.equal(userOf(reply), 'jane', 'the API server verified the ID token');
  t.same(bearerSeen(o), [tokens.idToken]);
  t.equal(o.issuer.tokenRequests(), 0, 'no refresh');
  t.equal(readFileSync(kubeconfig.path, 'utf8'), kubeconfig.text, 'the kubeconfig is untouched');
  await proxy.waitForStderr(/"acting as"/);
  t.match(proxy.stderr(), `oidc (issuer ${o.issuer.url})`, 'the start-up line names the source');
  t.notMatch(proxy.stderr(), tokens.idToken, 'no token in the log');
});

void t.test('an expiring id-token is refreshed once for concurrent requests and written back in place', async (t) => {
  const o = await startOidcCluster(t);
  o.issuer.idTokenTtlSeconds = 5; // under client-go's 10 s margin: due for a refresh at once
  const old = await o.issuer.login('jane');
  o.issuer.idTokenTtlSeconds = 3600;
  // A relative idp-certificate-authority is relative to the working directory, as in kubectl.
  const kubeconfig = writeKubeconfig(o, old, 'issuer-ca.crt');
  const proxy = await startProxy(t, o, kubeconfig.path, o.cluster.dir);

  const replies = await Promise.all(Array.from({ length: 8 }, () => echo(proxy)));
  t.same(replies.map((r) => [r.status, userOf(r)]), Array.from({ length: 8 }, () => [200, 'jane']), 'every request went through as jane');
  t.equal(o.issuer.tokenRequests(), 1, 'one refresh for all of them');
  const sent = new Set(bearerSeen(o));
  t.equal(sent.size, 1, 'all sent the same token');
  const [newIdToken] = [...sent];
  t.not(newIdToken, old.idToken, 'a new one');

  const written = readFileSync(kubeconfig.path, 'utf8');
  const newRefresh = /refresh-token: (\S+)\n/.exec(written)?.[1];
  t.not(newRefresh, old.refreshToken, 'the rotated refresh token is written too');
  t.equal(written, kubeconfig.text.replace(old.idToken, newIdToken ?? '').replace(old.refreshToken, newRefresh ?? ''), 'byte-identical apart from the two values');

  t.equal((await echo(proxy)).status, 200);
  t.equal(o.issuer.tokenRequests(), 1, 'the new token is then used without asking');
  t.notMatch(proxy.stderr(), new RegExp(`${old.refreshToken}|${newRefresh}|${newIdToken}|${CLIENT_SECRET}`), 'no secret in the log');
});

void t.test('a 401 from the API server: one refresh, and the requests are sent again with the new token', async (t) => {
  const o = await startOidcCluster(t);
  const tokens = await o.issuer.login('jane');
  o.revoked.add(tokens.idToken); // signed and unexpired, yet refused: the session was revoked
  const proxy = await startProxy(t, o, writeKubeconfig(o, tokens).path);

  const replies = await Promise.all(Array.from({ length: 4 }, () => echo(proxy)));
  t.same(replies.map((r) => [r.status, userOf(r)]), Array.from({ length: 4 }, () => [200, 'jane']), 'the client never sees the 401');
  t.equal(o.issuer.tokenRequests(), 1, 'one refresh for all the 401s');
  const seen = bearerSeen(o);
  const fresh = seen.at(-1);
  t.not(fresh, tokens.idToken);
  t.ok(seen.every((token) => token === tokens.idToken || token === fresh), 'only the old token, then the new one');
  t.equal(seen.filter((token) => token === fresh).length, 4, 'each request replayed once with the new token');
});

void t.test('an issuer that is down: a 502 Status naming the issuer', async (t) => {
  const o = await startOidcCluster(t);
  o.issuer.idTokenTtlSeconds = 5;
  const tokens = await o.issuer.login('jane');
  await o.issuer.close();
  const proxy = await startProxy(t, o, writeKubeconfig(o, tokens).path);

  const reply = await echo(proxy);
  t.equal(reply.status, 502);
  const status = JSON.parse(reply.body) as StatusBody;
  t.match(status, { kind: 'Status', status: 'Failure', reason: 'BadGateway', code: 502 });
  const issuer = o.issuer.url.replace(/[.]/g, '\\.');
  t.match(status.message, new RegExp(`^getting credentials: oidc: failed to query metadata endpoint: .*ECONNREFUSED.* \\(issuer ${issuer}\\)$`));
  t.same(o.cluster.api.requests, [], 'nothing was sent to the API server');
  t.notMatch(reply.body + proxy.stderr(), new RegExp(`${tokens.idToken}|${tokens.refreshToken}|${CLIENT_SECRET}`), 'no secret in the body or the log');
});

void t.test('no usable id-token and no refresh-token: client-go\'s error, at start', async (t) => {
  const o = await startOidcCluster(t);
  o.issuer.idTokenTtlSeconds = 5;
  const { idToken } = await o.issuer.login('jane');
  const finished = await runProxy(['--kubeconfig', writeKubeconfig(o, { idToken }).path, '-p', '0'], { env: isolatedEnv(o.cluster.dir) });
  t.equal(finished.code, 1);
  t.match(finished.stderr, /^error: auth-provider oidc of user "jane": No valid id-token, and cannot refresh without refresh-token\n$/);
  t.equal(o.issuer.tokenRequests(), 0);
});
