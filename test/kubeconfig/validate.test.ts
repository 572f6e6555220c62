// Validation of the chosen cluster and user, with client-go's messages (validation.go) and our
// stricter server-URL check; "both specified" messages become warnings because the data wins.

import * as path from 'node:path';
import t from 'tap';
import { resolveKubeconfig } from '../../src/kubeconfig/index.js';
import { explicitConfig, runCases, simpleConfig, writeTree, type Case } from './fixtures/cases.js';

const PEM = 'placeholder PEM\n';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** A kubeconfig with the given cluster and user entries (names dev-cluster / dev-user), read via --kubeconfig. */
function entries(name: string, cluster: Record<string, unknown>, user: Record<string, unknown>, rest: Omit<Case, 'name' | 'files' | 'rules'>): Case {
  return { name, files: { config: simpleConfig({ cluster, user }), 'ok.pem': PEM }, rules: explicitConfig, ...rest };
}

const https = { server: 'https://dev.example' };
const invalid = (...problems: string[]): string => `invalid configuration: ${problems.join('; ')}`;
const missing = (dir: string, name: string): string => {
  const file = path.join(dir, name);
  return `${file}: no such file or directory`;
};

runCases(t, [
  entries('a cluster without a server is an error naming it', {}, { token: 'x' }, {
    error: invalid('no server found for cluster "dev-cluster"'),
  }),
  {
    name: 'the default cluster (no kubeconfig) with TLS flags but no server is client-go\'s "default cluster" error',
    overrides: () => ({ insecureSkipTlsVerify: true }),
    error: invalid('default cluster has no server defined'),
  },
  {
    name: 'with no cluster at all, other problems are listed with "cluster has no server defined"',
    files: { config: { users: [{ name: 'u', user: { token: 'secret-token', username: 'admin', password: 'secret-password' } }] } },
    rules: explicitConfig,
    overrides: () => ({ user: 'u' }),
    error: invalid('more than one authentication method found for u; found [token basicAuth], only one is allowed', 'cluster has no server defined'),
  },
  entries('a CA file that cannot be read is client-go\'s error with Go\'s reason', { ...https, 'certificate-authority': 'ca.pem' }, { token: 'x' }, {
    error: (dir) => invalid(`unable to read certificate-authority ${path.join(dir, 'ca.pem')} for dev-cluster due to open ${missing(dir, 'ca.pem')}`),
  }),
  entries('a client certificate file that cannot be read is an error', https, { 'client-certificate': 'u.crt', 'client-key': 'ok.pem' }, {
    error: (dir) => invalid(`unable to read client-cert ${path.join(dir, 'u.crt')} for dev-user due to open ${missing(dir, 'u.crt')}`),
  }),
  entries('a client key file that cannot be read is an error', https, { 'client-certificate': 'ok.pem', 'client-key': 'u.key' }, {
    error: (dir) => invalid(`unable to read client-key ${path.join(dir, 'u.key')} for dev-user due to open ${missing(dir, 'u.key')}`),
  }),
  entries('a client certificate without a key is an error', https, { 'client-certificate-data': b64(PEM) }, {
    error: invalid('client-key-data or client-key must be specified for dev-user to use the clientCert authentication method.'),
  }),
  entries('a client key without a certificate is an error', https, { 'client-key': 'ok.pem' }, {
    error: invalid('client-cert-data or client-cert must be specified for dev-user to use the clientCert authentication method.'),
  }),
  entries('a token together with basic auth is an error', https, { token: 'secret-token', username: 'admin' }, {
    error: invalid('more than one authentication method found for dev-user; found [token basicAuth], only one is allowed'),
  }),
  entries('a password alone also counts as basic auth for that check', https, { token: 'secret-token', password: 'secret-password' }, {
    error: invalid('more than one authentication method found for dev-user; found [token basicAuth], only one is allowed'),
  }),
  entries('an exec plugin together with an auth-provider is an error', https, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1', interactiveMode: 'Never' }, 'auth-provider': { name: 'oidc' } }, {
    error: invalid('authProvider cannot be provided in combination with an exec plugin for dev-user'),
  }),
  entries('impersonating groups without a user is an error', https, { token: 'x', 'as-groups': ['admins'] }, {
    error: invalid('requesting uid, groups or user-extra for dev-user without impersonating a user'),
  }),
  entries('impersonating a uid without a user is an error', https, { token: 'x', 'as-uid': '42' }, {
    error: invalid('requesting uid, groups or user-extra for dev-user without impersonating a user'),
  }),
  entries('a CA together with the insecure flag is an error naming the cluster', { ...https, 'insecure-skip-tls-verify': true, 'certificate-authority-data': b64(PEM) }, { token: 'x' }, {
    error: invalid('specifying a root certificates file with the insecure flag is not allowed for cluster "dev-cluster"'),
  }),
  entries('a CA with the insecure flag is ignored for an http server, as client-go applies no TLS there', { server: 'http://dev.example', 'insecure-skip-tls-verify': true, 'certificate-authority': 'ok.pem' }, {}, {
    expect: (t, r) => t.equal(r.cluster.insecureSkipTlsVerify, true),
  }),
  entries('a server without a scheme is an error naming the cluster and the file field', { server: 'dev.example:6443' }, { token: 'x' }, {
    error: (dir) => invalid(`invalid server URL "dev.example:6443" for cluster "dev-cluster" (from clusters[].cluster.server in ${path.join(dir, 'config')}): it must start with https:// or http://`),
  }),
  entries('a server with another scheme is an error', { server: 'ftp://dev.example' }, { token: 'x' }, {
    error: (dir) => invalid(`invalid server URL "ftp://dev.example" for cluster "dev-cluster" (from clusters[].cluster.server in ${path.join(dir, 'config')}): it must start with https:// or http://`),
  }),
  entries('a server that does not parse is an error, with any password in it hidden', { server: 'https://admin:hunter2@dev.example:port' }, { token: 'x' }, {
    error: (dir) => invalid(`invalid server URL "https://***@dev.example:port" for cluster "dev-cluster" (from clusters[].cluster.server in ${path.join(dir, 'config')}): not a valid URL`),
  }),
  {
    name: 'a bad --server is reported as the flag',
    overrides: () => ({ server: 'localhost:8080' }),
    error: invalid('invalid server URL "localhost:8080" for cluster "" (from --server): it must start with https:// or http://'),
  },
  {
    name: 'a bad $KUBERNETES_MASTER is reported as that variable',
    rules: () => ({ defaultServer: 'localhost:8080' }),
    error: invalid('invalid server URL "localhost:8080" for cluster "" (from $KUBERNETES_MASTER): it must start with https:// or http://'),
  },
  entries('a proxy-url with an unsupported scheme is client-go\'s error, without the URL', { ...https, 'proxy-url': 'socks6://user:pw@proxy' }, { token: 'x' }, {
    error: invalid('invalid \'proxy-url\' for cluster "dev-cluster": unsupported scheme "socks6", must be http, https, or socks5'),
  }),
  entries('several problems are joined into one line, user problems before cluster problems', { 'certificate-authority': 'ca.pem' }, { token: 'secret-token', username: 'admin', 'client-key': 'ok.pem' }, {
    error: (dir) =>
      invalid(
        'client-cert-data or client-cert must be specified for dev-user to use the clientCert authentication method.',
        'more than one authentication method found for dev-user; found [token basicAuth], only one is allowed',
        'no server found for cluster "dev-cluster"',
        `unable to read certificate-authority ${path.join(dir, 'ca.pem')} for dev-cluster due to open ${missing(dir, 'ca.pem')}`,
      ),
  }),
  entries('CA data beats a CA file, with client-go\'s message as a warning', { ...https, 'certificate-authority': 'ok.pem', 'certificate-authority-data': b64('ca data') }, { token: 'x' }, {
    expect: (t, r) => {
      t.same(r.cluster.certificateAuthority, { data: Buffer.from('ca data') });
      t.same(r.warnings, ['certificate-authority-data and certificate-authority are both specified for dev-cluster. certificate-authority-data will override.']);
    },
  }),
  entries('client cert and key data beat their files, each with client-go\'s warning', https, {
    'client-certificate': 'ok.pem',
    'client-certificate-data': b64('cert data'),
    'client-key': 'ok.pem',
    'client-key-data': b64('key data'),
  }, {
    expect: (t, r) => {
      t.same(r.user.clientCertificate, { data: Buffer.from('cert data') });
      t.same(r.user.clientKey, { data: Buffer.from('key data') });
      t.same(r.warnings, [
        'client-cert-data and client-cert are both specified for dev-user. client-cert-data will override.',
        'client-key-data and client-key are both specified for dev-user; client-key-data will override',
      ]);
    },
  }),
  entries('a valid cluster and user resolve to absolute paths and keep basic auth', { ...https, 'certificate-authority': 'ok.pem' }, { username: 'admin', password: 'pw' }, {
    expect: (t, r, dir) => {
      t.same(r.cluster.certificateAuthority, { path: path.join(dir, 'ok.pem') });
      t.same([r.user.username, r.user.password], ['admin', 'pw']);
      t.same(r.warnings, []);
    },
  }),
  entries('a server with a path loses its query and fragment, as in client-go\'s REST config', { server: 'https://dev.example/prefix?x=1#frag' }, {}, {
    expect: (t, r) => t.equal(r.cluster.server, 'https://dev.example/prefix'),
  }),
]);

void t.test('error messages never contain a secret from the kubeconfig', async (t) => {
  const dir = t.testdir();
  const secrets = ['secret-token', 'secret-password', b64('secret key')];
  writeTree(dir, {
    config: simpleConfig({ cluster: {}, user: { token: secrets[0], password: secrets[1], 'client-key-data': secrets[2] } }),
    bad: `users:\n- name: u\n  user:\n    token: ${secrets[0]}\n    client-key-data: ${secrets[2]}!\n`,
  });
  for (const explicitPath of ['config', 'bad'].map((name) => path.join(dir, name))) {
    const error = await resolveKubeconfig({ homeDir: dir, explicitPath }, {}).then(() => undefined, (err: unknown) => err);
    const message = error instanceof Error ? error.message : '';
    t.not(message, '', `${path.basename(explicitPath)} fails`);
    for (const secret of secrets) t.notOk(message.includes(secret), `${path.basename(explicitPath)}: message does not include a secret`);
  }
});
