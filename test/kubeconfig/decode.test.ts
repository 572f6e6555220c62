// Decoding one file: YAML or JSON, empty files, unknown fields, duplicates, base64, types
// (client-go clientcmd.Load and api/v1 conversion).

import * as path from 'node:path';
import t from 'tap';
import { explicitConfig, runCases, simpleConfig, type Case } from './fixtures/cases.js';

const loadError = (reason: string) => (dir: string) => `error loading config file "${path.join(dir, 'config')}": ${reason}`;

/** A case that reads `dir/config` with the given content. */
function file(name: string, content: string | Record<string, unknown>, rest: Omit<Case, 'name' | 'files' | 'rules'>): Case {
  return { name, files: { config: content }, rules: explicitConfig, ...rest };
}

const YAML_CONFIG = `
apiVersion: v1
kind: Config
current-context: yaml
clusters:
- name: yaml-cluster
  cluster:
    server: https://yaml.example
    insecure-skip-tls-verify: yes   # YAML 1.1 boolean, as go-yaml v2 reads it
users:
- name: yaml-user
  user: {token: yaml-token}
contexts:
- name: yaml
  context: {cluster: yaml-cluster, user: yaml-user}
`;

const CA_PEM = '-----BEGIN CERTIFICATE-----\nnot really a certificate\n-----END CERTIFICATE-----\n';

runCases(t, [
  file('a YAML kubeconfig is decoded, YAML 1.1 booleans included', YAML_CONFIG, {
    expect: (t, r) => {
      t.equal(r.contextName, 'yaml');
      t.equal(r.cluster.server, 'https://yaml.example');
      t.equal(r.cluster.insecureSkipTlsVerify, true);
      t.equal(r.user.token, 'yaml-token');
    },
  }),
  file('a JSON kubeconfig is decoded', JSON.stringify(simpleConfig()), {
    expect: (t, r) => {
      t.equal(r.contextName, 'dev');
      t.equal(r.user.token, 'dev-token');
    },
  }),
  file('an empty file is an empty config', '', {
    overrides: () => ({ server: 'https://flag.example' }),
    expect: (t, r, dir) => {
      t.same(r.files, [path.join(dir, 'config')]);
      t.equal(r.cluster.server, 'https://flag.example');
    },
  }),
  file('a file with only comments is an empty config', '# nothing here\n', {
    error: 'invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable',
  }),
  file(
    'unknown fields are ignored, and apiVersion and kind may be left out',
    { ...simpleConfig(), apiVersion: undefined, kind: undefined, preferences: { colors: true }, futureField: [1, 2] },
    { expect: (t, r) => t.equal(r.contextName, 'dev') },
  ),
  file('*-data fields are base64, decoded to bytes (line breaks allowed, as Go allows)', simpleConfig({
    cluster: { server: 'https://dev.example', 'certificate-authority-data': Buffer.from(CA_PEM).toString('base64').replace(/(.{20})/g, '$1\n') },
  }), {
    expect: (t, r) => t.same(r.cluster.certificateAuthority, { data: Buffer.from(CA_PEM) }),
  }),
  file('YAML that does not parse is an error naming the file and the line, without quoting the file', 'clusters:\n- name: a\n  cluster: server: https://x\n', {
    error: loadError('yaml: Nested mappings are not allowed in compact mappings at line 3, column 12'),
  }),
  file('an unresolved YAML alias is an error naming the file', 'current-context: *nowhere\n', {
    error: loadError('yaml: Unresolved alias (the anchor must be set before the alias): nowhere'),
  }),
  file('a top-level list is not a kubeconfig', '- a\n- b\n', {
    error: loadError('expected a kubeconfig mapping (apiVersion, kind, clusters, …) at the top level'),
  }),
  file('another kind is rejected like the client-go codec does', 'apiVersion: v1\nkind: Pod\n', {
    error: loadError('no kind "Pod" is registered for version "v1"'),
  }),
  file('another apiVersion is rejected like the client-go codec does', 'apiVersion: v2\n', {
    error: loadError('no kind "Config" is registered for version "v2"'),
  }),
  file('a duplicate cluster name in one file is an error naming the file and the name', {
    clusters: [{ name: 'twice', cluster: { server: 'https://a' } }, { name: 'twice', cluster: { server: 'https://b' } }],
  }, { error: loadError('clusters: duplicate name "twice" in list') }),
  file('a duplicate user name in one file is an error naming the file and the name', {
    users: [{ name: 'twice', user: { token: 'secret-a' } }, { name: 'twice', user: { token: 'secret-b' } }],
  }, { error: loadError('users: duplicate name "twice" in list') }),
  file('a duplicate context name in one file is an error naming the file and the name', {
    contexts: [{ name: 'twice', context: {} }, { name: 'twice', context: {} }],
  }, { error: loadError('contexts: duplicate name "twice" in list') }),
  file('invalid base64 is an error naming the file, entry and field but not the value', simpleConfig({
    user: { 'client-certificate-data': Buffer.from('x').toString('base64'), 'client-key-data': 'c2VjcmV0!' },
  }), { error: loadError('users["dev-user"].user.client-key-data: illegal base64 data') }),
  file('base64 without its padding is invalid, as in Go', simpleConfig({
    cluster: { server: 'https://x', 'certificate-authority-data': 'YWJjZA' },
  }), { error: loadError('clusters["dev-cluster"].cluster.certificate-authority-data: illegal base64 data') }),
  file('a field of the wrong type is an error naming it, not its value', simpleConfig({ user: { token: 12345 } }), {
    error: loadError('users["dev-user"].user.token: expected a string, got number'),
  }),
  file('a boolean field given as a string is an error', simpleConfig({ cluster: { server: 'https://x', 'insecure-skip-tls-verify': 'true' } }), {
    error: loadError('clusters["dev-cluster"].cluster.insecure-skip-tls-verify: expected a boolean, got string'),
  }),
  file('an entry that is not a mapping is an error naming its position', { contexts: ['dev'] }, {
    error: loadError('contexts[0]: expected a mapping, got string'),
  }),
]);
