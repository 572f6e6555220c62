// The oidc auth-provider (client-go plugin/pkg/client/auth/oidc) against a real OpenID Connect
// issuer over HTTPS on loopback: when the issuer is asked, single flight, write-back in place,
// 401s, and each failure's status and wording. Pure parts (JWT expiry, the YAML edit) are tables.

import { chmodSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { createPki } from '../../examples/pki.js';
import { CredentialError, type AuthMaterial, type Credentials } from '../../src/credentials/credentials.js';
import { idTokenExpiry, isFresh } from '../../src/credentials/oidc/jwt-expiry.js';
import { setAuthProviderValues } from '../../src/kubeconfig/edit.js';
import { oidcCredentials, type OidcOptions } from '../../src/credentials/oidc/oidc-credentials.js';
import { writeBackTokens } from '../../src/credentials/oidc/write-back.js';
import { startHttpProxy } from '../helpers/forward-proxies.js';
import { CLIENT_ID, CLIENT_SECRET, startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';

const pki = createPki();

/** An unsigned JWT with these claims: enough for the expiry check, which never verifies. */
function jwt(claims: unknown): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.sig`;
}

void t.test('ID token expiry is read as client-go reads it', async (t) => {
  const now = 1_700_000_000_000;
  const cases: [string, string, number | RegExp][] = [
    ['an integer exp', jwt({ exp: 1_700_000_100 }), 1_700_000_100_000],
    ['a float exp, truncated to whole seconds', jwt({ exp: 1_700_000_100.9 }), 1_700_000_100_000],
    ['a numeric string, as json.Number accepts', jwt({ exp: '1700000100' }), 1_700_000_100_000],
    ['no exp: the zero time, so expired', jwt({ sub: 'jane' }), 0],
    ['a payload of null: no claims at all', jwt(null), 0],
    ['not three parts', 'abc.def', /^ID Token is not a valid JWT$/],
    ['a payload that is not base64url', 'a.b*c.d', /^ID Token is not a valid JWT: illegal base64 data/],
    ['a payload that is not JSON', `a.${Buffer.from('{nope').toString('base64url')}.c`, /^parsing claims: /],
    ['an exp that is not a number', jwt({ exp: true }), /^parsing claims: exp is not a number$/],
  ];
  for (const [name, token, want] of cases) {
    if (typeof want === 'number') t.equal(idTokenExpiry(token), want, name);
    else t.throws(() => idTokenExpiry(token), { message: want }, name);
  }
  t.ok(isFresh(now + 10_001, now), 'more than 10 s left: fresh');
  t.notOk(isFresh(now + 10_000, now), 'exactly 10 s left: refreshed first (client-go expiryDelta)');
});

const KUBECONFIG = `# Written by hand: these comments, the order and the other users must survive a refresh.
apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster:
    server: https://127.0.0.1:6443   # never contacted in these tests
users:
- name: other
  user:
    token: other-token
- name: jane  # the OIDC user
  user:
    auth-provider:
      name: oidc
      config:
        client-id: CLIENT_ID
        client-secret: CLIENT_SECRET
        id-token: ID_TOKEN
        idp-certificate-authority-data: CA_DATA
        idp-issuer-url: ISSUER
        refresh-token: "REFRESH_TOKEN"
contexts:
- {name: dev, context: {cluster: dev, user: jane}}
current-context: dev
`;

interface Setup {
  readonly issuer: TestIssuer;
  readonly file: string;
  /** The kubeconfig as written, to compare byte for byte after a write-back. */
  readonly text: string;
  readonly config: Record<string, string>;
  readonly warnings: string[];
  credentials(options?: Partial<OidcOptions>): Credentials;
}

/** A kubeconfig file in `dir` (the issuer's folder: t.testdir empties it) for jane with `tokens`. */
function setup(dir: string, live: TestIssuer, tokens: { idToken: string; refreshToken: string }): Setup {
  const config: Record<string, string> = {
    'client-id': CLIENT_ID,
    'client-secret': CLIENT_SECRET,
    'id-token': tokens.idToken,
    'idp-certificate-authority-data': live.caData,
    'idp-issuer-url': live.url,
    'refresh-token': tokens.refreshToken,
  };
  const text = KUBECONFIG.replace(/CLIENT_ID|CLIENT_SECRET|ID_TOKEN|CA_DATA|ISSUER|REFRESH_TOKEN/g, (key) =>
    ({ CLIENT_ID, CLIENT_SECRET, ID_TOKEN: tokens.idToken, CA_DATA: live.caData, ISSUER: live.url, REFRESH_TOKEN: tokens.refreshToken })[key]!,
  );
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, text);
  chmodSync(file, 0o640);
  const warnings: string[] = [];
  return {
    issuer: live,
    file,
    text,
    config,
    warnings,
    credentials: (options = {}) =>
      oidcCredentials({ name: 'oidc', config, file, userName: 'jane' }, { onWarning: (message) => warnings.push(message), ...options }),
  };
}

/** A logged-in user whose ID token has `ttlSeconds` left; later tokens get an hour. */
async function loggedIn(t: Test, ttlSeconds: number): Promise<Setup> {
  const dir = t.testdir({});
  const issuer = await startTestIssuer(t, pki, dir);
  issuer.idTokenTtlSeconds = ttlSeconds;
  const tokens = await issuer.login('jane');
  issuer.idTokenTtlSeconds = 3600;
  return setup(dir, issuer, tokens);
}

function bearerOf(material: AuthMaterial): string {
  return (material.authorization ?? '').replace(/^Bearer /, '');
}

void t.test('a fresh id-token is used as it is, synchronously, and the issuer is not asked', async (t) => {
  const s = await loggedIn(t, 3600);
  const credentials = s.credentials();
  const first = credentials.current();
  t.notOk(first instanceof Promise, 'at hand: no promise');
  t.equal(credentials.current(), first, 'the same object each time');
  t.equal((first as AuthMaterial).authorization, `Bearer ${s.config['id-token']}`);
  t.equal(s.issuer.tokenRequests(), 0, 'no refresh');
  t.equal(readFileSync(s.file, 'utf8'), s.text, 'the kubeconfig is untouched');
  t.match(credentials.description, /^oidc \(issuer https:\/\/127\.0\.0\.1:\d+\)$/);
});

void t.test('an id-token with 5 s left is refreshed once for 20 concurrent requests and written back in place', async (t) => {
  const s = await loggedIn(t, 5);
  const credentials = s.credentials();
  const pending = Array.from({ length: 20 }, () => credentials.current());
  t.ok(pending[0] instanceof Promise, 'a promise while refreshing');
  const results = await Promise.all(pending.map((p) => Promise.resolve(p)));
  t.equal(s.issuer.tokenRequests(), 1, 'one refresh for all of them');
  t.ok(results.every((m) => m === results[0]), 'every request got the same credential');
  const material = results[0]!;
  const newIdToken = bearerOf(material);
  t.not(newIdToken, s.config['id-token'], 'a new ID token');
  t.equal(s.issuer.verify(newIdToken), 'jane', 'signed by the issuer for jane');
  t.equal(credentials.current(), material, 'then at hand, the same object');

  const written = readFileSync(s.file, 'utf8');
  const newRefresh = /refresh-token: "([^"]+)"/.exec(written)?.[1] ?? '';
  t.not(newRefresh, s.config['refresh-token'], 'the rotated refresh token is written too');
  const expected = s.text.replace(s.config['id-token']!, newIdToken).replace(`"${s.config['refresh-token']}"`, `"${newRefresh}"`);
  t.equal(written, expected, 'byte-identical apart from the two values: comments, order, quoting, other users kept');
  t.equal(statSync(s.file).mode & 0o777, 0o640, 'the mode is kept');
  t.same(readdirSync(join(s.file, '..')).filter((name) => name.endsWith('.tmp')), [], 'no temporary file left');
  t.same(s.warnings, []);

  // The issuer consumed the old refresh token (reusing it would revoke the grant): the next
  // refresh only works with the rotated one, which proves it is used from memory.
  const again = await reportUnauthorized(credentials, material);
  t.not(again, material, 'a second refresh with the rotated refresh token');
  t.equal(s.issuer.tokenRequests(), 2);
  t.match(readFileSync(s.file, 'utf8'), `id-token: ${bearerOf(again)}\n`, 'written back again');
});

void t.test('a 401 forces one refresh per credential, however many requests report it', async (t) => {
  const s = await loggedIn(t, 3600);
  const credentials = s.credentials();
  const used = credentials.current() as AuthMaterial;
  const reports = [credentials.unauthorized!(used), credentials.unauthorized!(used), credentials.unauthorized!(used)];
  t.ok(reports.every((r) => r instanceof Promise), 'each report waits for the refresh');
  const fresh = await Promise.all(reports.map((r) => r ?? Promise.reject(new Error('no refresh'))));
  t.equal(s.issuer.tokenRequests(), 1, 'one refresh');
  t.ok(fresh.every((m) => m === fresh[0]) && fresh[0] !== used, 'all get the same new credential');
  t.equal(await reportUnauthorized(credentials, used), fresh[0], 'a late report of the old credential gets the new one');
  t.equal(s.issuer.tokenRequests(), 1, 'without another refresh');
  t.equal(credentials.current(), fresh[0]);
});

void t.test('without a refresh-token: client-go\'s error, at start or once the token expires; 401s pass through', async (t) => {
  const s = await loggedIn(t, 3600);
  const config = { ...s.config, 'refresh-token': '' };
  const provider = { name: 'oidc', config, file: s.file, userName: 'jane' };
  let now = Date.now();
  const credentials = oidcCredentials(provider, { onWarning: () => undefined, now: () => now });
  const used = credentials.current() as AuthMaterial;
  t.equal(credentials.unauthorized!(used), undefined, 'nothing to refresh with: the 401 goes to the client');
  now += 3600_000;
  await t.rejects(Promise.resolve(credentials.current()), {
    name: 'CredentialError',
    statusCode: 502,
    message: 'No valid id-token, and cannot refresh without refresh-token (auth-provider oidc of user "jane")',
  });
  const expired = { ...provider, config: { ...config, 'id-token': jwt({ exp: Math.floor(Date.now() / 1000) - 60 }) } };
  t.throws(() => oidcCredentials(expired, { onWarning: () => undefined }), {
    name: 'ConfigError',
    message: 'auth-provider oidc of user "jane": No valid id-token, and cannot refresh without refresh-token',
  }, 'an expired token with nothing to refresh it can never work: said at start');
  t.equal(s.issuer.tokenRequests(), 0);
});

void t.test('an issuer that is down: 502 naming the issuer, never a token or the secret', async (t) => {
  const s = await loggedIn(t, 5);
  await s.issuer.close();
  const err = await rejection(s.credentials().current());
  t.equal(err.statusCode, 502);
  t.match(err.message, /^oidc: failed to query metadata endpoint: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(issuer https:\/\/127\.0\.0\.1:\d+\)$/);
  t.notOk(secretsIn(err.message, s), 'no token or secret in the message');
});

void t.test('an issuer that does not answer: 503 once the bound has passed', async (t) => {
  const silent = createServer((socket: Socket) => socket.on('data', () => undefined));
  const sockets = new Set<Socket>();
  silent.on('connection', (socket: Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const url = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const provider = { name: 'oidc', config: { 'idp-issuer-url': url, 'client-id': CLIENT_ID, 'refresh-token': 'r' }, userName: 'jane' };
  const started = Date.now();
  const err = await rejection(oidcCredentials(provider, { onWarning: () => undefined, timeoutMs: 300 }).current());
  t.equal(err.statusCode, 503);
  t.equal(err.message, `oidc: no answer within 0.3 s (issuer ${url})`);
  t.ok(Date.now() - started < 5_000, 'bounded');
});

void t.test('the issuer refuses the refresh token: oauth2\'s error, without the token', async (t) => {
  const dir = t.testdir({});
  const issuer = await startTestIssuer(t, pki, dir);
  const s = setup(dir, issuer, { idToken: jwt({ exp: 1 }), refreshToken: 'refresh-token-that-was-never-issued' });
  const err = await rejection(s.credentials().current());
  t.equal(err.statusCode, 502);
  t.match(err.message, /^failed to refresh token: oauth2: "invalid_grant" "grant request is invalid" \(issuer https:\/\/127\.0\.0\.1:\d+\)$/);
  t.notOk(secretsIn(err.message, s));
  t.equal(readFileSync(s.file, 'utf8'), s.text, 'nothing written');
});

void t.test('a token response without id_token (no openid scope at login): client-go\'s error', async (t) => {
  const dir = t.testdir({});
  const issuer = await startTestIssuer(t, pki, dir);
  const s = setup(dir, issuer, { idToken: '', refreshToken: await issuer.refreshTokenFor('jane', 'offline_access') });
  const err = await rejection(s.credentials().current());
  t.equal(err.statusCode, 502);
  t.match(err.message, /^token response did not contain an id_token, either the scope "openid" wasn't requested upon login, or the provider doesn't support id_tokens as part of the refresh response \(issuer /);
});

void t.test('TLS to the issuer: its CA from idp-certificate-authority, relative to the working directory as in kubectl', async (t) => {
  const s = await loggedIn(t, 5);
  const withFile: Record<string, string> = { ...s.config, 'idp-certificate-authority': relative(process.cwd(), s.issuer.caFile) };
  delete withFile['idp-certificate-authority-data'];
  const credentials = oidcCredentials({ name: 'oidc', config: withFile, userName: 'jane' }, { onWarning: () => undefined });
  t.equal(s.issuer.verify(bearerOf(await credentials.current())), 'jane', 'refreshed over TLS verified with the file');

  const untrusted = { ...withFile };
  delete untrusted['idp-certificate-authority'];
  const err = await rejection(oidcCredentials({ name: 'oidc', config: untrusted, userName: 'jane' }, { onWarning: () => undefined }).current());
  t.equal(err.statusCode, 502);
  t.match(err.message, /^oidc: failed to query metadata endpoint: .*certificate.* \(issuer /, 'without the CA the issuer is not trusted');
});

void t.test('a failed write-back is a warning and the new token is used from memory', async (t) => {
  const s = await loggedIn(t, 5);
  const credentials = s.credentials();
  rmSync(s.file);
  const material = await credentials.current();
  t.equal(s.issuer.verify(bearerOf(material)), 'jane', 'the refreshed token is used');
  t.equal(s.warnings.length, 1);
  t.match(s.warnings[0], /^could not persist new tokens of user "jane": .*no such file or directory.*kubeconfig.*; using them from memory until the proxy stops$/);
  t.notOk(secretsIn(s.warnings[0]!, s));
  t.equal(credentials.current(), material, 'and kept');
});

void t.test('start-up checks name the user and the field, never a value', async (t) => {
  const base = { 'idp-issuer-url': 'https://issuer.example', 'client-id': 'kube', 'refresh-token': 'r' };
  const cases: [string, Record<string, string>, RegExp][] = [
    ['no issuer', { ...base, 'idp-issuer-url': '' }, /: Must provide idp-issuer-url$/],
    ['an issuer that is not a URL', { ...base, 'idp-issuer-url': 'issuer.example' }, /: idp-issuer-url must be an http:\/\/ or https:\/\/ URL$/],
    ['no client id', { ...base, 'client-id': '' }, /: Must provide client-id$/],
    ['CA data that is not base64', { ...base, 'idp-certificate-authority-data': 'not base64!' }, /: idp-certificate-authority-data: illegal base64 data$/],
    ['CA data that is not PEM', { ...base, 'idp-certificate-authority-data': Buffer.from('hello').toString('base64') }, /unable to load root certificates: unable to parse bytes as PEM block$/],
    ['a CA file that does not exist', { ...base, 'idp-certificate-authority': '/nonexistent/ca.crt' }, /: idp-certificate-authority: open \/nonexistent\/ca\.crt: no such file or directory$/],
    ['an id-token that is not a JWT', { ...base, 'id-token': 'opaque-s3cret' }, /: id-token: ID Token is not a valid JWT$/],
  ];
  for (const [name, config, message] of cases) {
    const err = catchError(() => oidcCredentials({ name: 'oidc', config, userName: 'jane' }, { onWarning: () => undefined }));
    t.match(err, { name: 'ConfigError', message }, name);
    t.match(err?.message, /^auth-provider oidc of user "jane": /, `${name}: names the user`);
    t.notMatch(err?.message, /s3cret/, `${name}: no value quoted`);
  }
});

void t.test('the kubeconfig edit replaces exactly the values, in their quoting style', async (t) => {
  const doc = (config: string) => `users:\n- name: jane\n  user:\n    auth-provider:\n      name: oidc\n      config:\n${config}`;
  const cases: [string, string, Record<string, string>, string][] = [
    ['plain stays plain', doc('        id-token: old # keep\n'), { 'id-token': 'new.jwt-value_1' }, doc('        id-token: new.jwt-value_1 # keep\n')],
    ["single quotes stay single", doc("        id-token: 'old'\n"), { 'id-token': "it's" }, doc("        id-token: 'it''s'\n")],
    ['a value YAML 1.1 would read as a boolean is quoted', doc('        refresh-token: old\n'), { 'refresh-token': 'yes' }, doc('        refresh-token: "yes"\n')],
    ['a number-like value is quoted', doc('        refresh-token: old\n'), { 'refresh-token': '1e3' }, doc('        refresh-token: "1e3"\n')],
    ['a base64url token may start with a dash and stay plain', doc('        refresh-token: old\n'), { 'refresh-token': '-Ab_c' }, doc('        refresh-token: -Ab_c\n')],
    ['a lone dash is quoted', doc('        refresh-token: old\n'), { 'refresh-token': '-' }, doc('        refresh-token: "-"\n')],
  ];
  for (const [name, before, values, after] of cases) t.equal(setAuthProviderValues(before, 'jane', values), after, name);

  const added = setAuthProviderValues(doc('        client-id: kube # the client\n'), 'jane', { 'id-token': 'tok' });
  t.match(added, /client-id: kube # the client\n\s+id-token: tok\n/, 'a missing key is added, comments kept');

  const json = JSON.stringify({ users: [{ name: 'jane', user: { 'auth-provider': { name: 'oidc', config: { 'id-token': 'old' } } } }] });
  const editedJson = setAuthProviderValues(json, 'jane', { 'id-token': 'new' });
  t.same(JSON.parse(editedJson), JSON.parse(json.replace('"old"', '"new"')), 'a JSON kubeconfig stays JSON');

  t.throws(() => setAuthProviderValues(doc('        id-token: old\n'), 'bob', { 'id-token': 'x' }), {
    message: 'no users["bob"].user.auth-provider.config mapping',
  });
  t.throws(() => setAuthProviderValues('users: [\n', 'jane', { 'id-token': 'x' }), { message: /^yaml: / });
});

void t.test('write-back goes through a symlink to its target and keeps the link', async (t) => {
  const dir = t.testdir({ real: 'users:\n- name: jane\n  user:\n    auth-provider: {name: oidc, config: {id-token: old}}\n' });
  symlinkSync(join(dir, 'real'), join(dir, 'link'));
  await writeBackTokens(join(dir, 'link'), 'jane', { 'id-token': 'new' });
  t.ok(lstatSync(join(dir, 'link')).isSymbolicLink(), 'still a link');
  t.equal(readFileSync(join(dir, 'real'), 'utf8'), 'users:\n- name: jane\n  user:\n    auth-provider: {name: oidc, config: {id-token: new}}\n');
});

/** What the forwarder does on a 401; fails the test when the source declines to refresh. */
function reportUnauthorized(credentials: Credentials, used: AuthMaterial): Promise<AuthMaterial> {
  return credentials.unauthorized?.(used) ?? Promise.reject(new Error('the source declined to refresh'));
}

async function rejection(pending: AuthMaterial | Promise<AuthMaterial>): Promise<CredentialError> {
  try {
    await pending;
  } catch (err) {
    if (err instanceof CredentialError) return err;
    throw err;
  }
  throw new Error('expected a CredentialError');
}

function catchError(run: () => unknown): Error | undefined {
  try {
    run();
  } catch (err) {
    return err as Error;
  }
  return undefined;
}

function secretsIn(message: string, s: Setup): boolean {
  return [s.config['id-token'], s.config['refresh-token'], CLIENT_SECRET].some((secret) => secret !== undefined && secret !== '' && message.includes(secret));
}

void t.test('the refresh goes through the forward proxy chosen for the issuer (HTTPS_PROXY in client-go)', async (t) => {
  const s = await loggedIn(t, 5);
  const proxy = await startHttpProxy(t);
  const asked: string[] = [];
  const credentials = s.credentials({
    proxyFor: (url) => {
      asked.push(url.href);
      return new URL(proxy.url);
    },
  });
  t.equal(s.issuer.verify(bearerOf(await credentials.current())), 'jane', 'refreshed, TLS to the issuer inside the tunnel');
  const issuerHost = new URL(s.issuer.url).host;
  t.same(proxy.tunnels, [issuerHost, issuerHost], 'discovery and the token request each went through a CONNECT to the issuer');
  t.match(asked, [/\/\.well-known\/openid-configuration$/, /\/token$/]);
  t.equal(s.issuer.tokenRequests(), 1);
});
