// Merging several files (first file wins per named entry, first non-empty current-context) and
// resolving relative paths against the file that defined each entry (client-go loader.go).

import * as path from 'node:path';
import t from 'tap';
import { fromEnv, runCases } from './fixtures/cases.js';

const PEM = 'placeholder PEM: kubeconfig/ only checks that the file can be read\n';

runCases(t, [
  {
    name: 'the first file that defines a cluster supplies the whole entry, with no field-by-field merge',
    files: {
      a: { clusters: [{ name: 'shared', cluster: { server: 'https://from-a' } }], contexts: [{ name: 'c', context: { cluster: 'shared' } }] },
      b: { clusters: [{ name: 'shared', cluster: { server: 'https://from-b', 'tls-server-name': 'only-in-b' } }], 'current-context': 'c' },
    },
    rules: fromEnv('a', 'b'),
    expect: (t, r) => {
      t.equal(r.cluster.server, 'https://from-a');
      t.equal(r.cluster.tlsServerName, undefined, 'fields of a later definition are discarded');
    },
  },
  {
    name: 'the first file that defines a user supplies the whole entry',
    files: {
      a: { users: [{ name: 'me', user: { token: 'token-a' } }] },
      b: {
        users: [{ name: 'me', user: { token: 'token-b', username: 'basic-b' } }],
        clusters: [{ name: 'k', cluster: { server: 'https://k' } }],
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'me' } }],
        'current-context': 'c',
      },
    },
    rules: fromEnv('a', 'b'),
    expect: (t, r) => {
      t.equal(r.user.token, 'token-a');
      t.equal(r.user.username, undefined);
    },
  },
  {
    name: 'the first file that defines a context supplies it, and entries only in later files are still found',
    files: {
      a: { contexts: [{ name: 'c', context: { cluster: 'k-b', user: 'u-b' } }], 'current-context': 'c' },
      b: {
        contexts: [{ name: 'c', context: { cluster: 'other', user: 'other' } }],
        clusters: [{ name: 'k-b', cluster: { server: 'https://k-b' } }],
        users: [{ name: 'u-b', user: { token: 't-b' } }],
      },
    },
    rules: fromEnv('a', 'b'),
    expect: (t, r) => {
      t.equal(r.cluster.name, 'k-b');
      t.equal(r.user.name, 'u-b');
    },
  },
  {
    name: 'current-context is taken from the first file that sets it, even if a later file also does',
    files: {
      a: { clusters: [{ name: 'k', cluster: { server: 'https://k' } }] },
      b: { contexts: [{ name: 'from-b', context: { cluster: 'k' } }], 'current-context': 'from-b' },
      c: { contexts: [{ name: 'from-c', context: { cluster: 'k' } }], 'current-context': 'from-c' },
    },
    rules: fromEnv('a', 'b', 'c'),
    expect: (t, r) => t.equal(r.contextName, 'from-b'),
  },
  {
    name: 'relative paths resolve against the directory of the file that defined the entry',
    files: {
      'one/config': {
        clusters: [{ name: 'k', cluster: { server: 'https://k', 'certificate-authority': 'ca.pem' } }],
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
        'current-context': 'c',
      },
      'two/sub/config': { users: [{ name: 'u', user: { 'client-certificate': 'certs/u.crt', 'client-key': '../u.key' } }] },
      'one/ca.pem': PEM,
      'two/sub/certs/u.crt': PEM,
      'two/u.key': PEM,
    },
    rules: fromEnv('one/config', 'two/sub/config'),
    expect: (t, r, dir) => {
      t.same(r.cluster.certificateAuthority, { path: path.join(dir, 'one', 'ca.pem') });
      t.same(r.user.clientCertificate, { path: path.join(dir, 'two', 'sub', 'certs', 'u.crt') });
      t.same(r.user.clientKey, { path: path.join(dir, 'two', 'u.key') });
    },
  },
  {
    name: 'a relative tokenFile resolves against its file, and absolute paths are kept',
    files: {
      'cfg/config': {
        clusters: [{ name: 'k', cluster: { server: 'https://k', 'certificate-authority': '/etc/kubernetes/ca.pem' } }],
        users: [{ name: 'u', user: { tokenFile: 'token' } }],
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
        'current-context': 'c',
      },
    },
    rules: (dir) => ({ explicitPath: path.join(dir, 'cfg', 'config') }),
    // The CA is checked for readability, so this asserts on the message naming the kept absolute path.
    error: 'invalid configuration: unable to read certificate-authority /etc/kubernetes/ca.pem for k due to open /etc/kubernetes/ca.pem: no such file or directory',
  },
  {
    name: 'tokenFile is made absolute against the defining file',
    files: {
      'cfg/config': {
        clusters: [{ name: 'k', cluster: { server: 'https://k' } }],
        users: [{ name: 'u', user: { tokenFile: 'secrets/token' } }],
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
        'current-context': 'c',
      },
    },
    rules: (dir) => ({ explicitPath: path.join(dir, 'cfg', 'config') }),
    expect: (t, r, dir) => t.equal(r.user.tokenFile, path.join(dir, 'cfg', 'secrets', 'token')),
  },
]);
