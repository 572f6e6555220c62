// Which kubeconfig files are read: --kubeconfig, $KUBECONFIG, ~/.kube/config (client-go loader.go).

import * as path from 'node:path';
import t from 'tap';
import { explicitConfig, fromEnv, kubeconfigEnv, runCases, simpleConfig } from './fixtures/cases.js';

const prod = simpleConfig({ name: 'prod', cluster: { server: 'https://prod.example' } });
const dev = simpleConfig({ name: 'dev', cluster: { server: 'https://dev.example' } });

runCases(t, [
  {
    name: '--kubeconfig reads only that file, even when $KUBECONFIG is set',
    files: { config: dev, 'other/config': prod },
    rules: (dir) => ({ ...explicitConfig(dir), kubeconfigEnv: kubeconfigEnv(dir, 'other/config') }),
    expect: (t, r, dir) => {
      t.same(r.files, [path.join(dir, 'config')]);
      t.equal(r.contextName, 'dev');
      t.equal(r.cluster.server, 'https://dev.example');
    },
  },
  {
    name: '--kubeconfig naming a missing file is an error like kubectl\'s stat error',
    rules: explicitConfig,
    error: (dir) => `--kubeconfig: stat ${path.join(dir, 'config')}: no such file or directory`,
  },
  {
    name: '$KUBECONFIG files are all read, in order, and the first one\'s current-context wins',
    files: { a: prod, b: dev },
    rules: fromEnv('a', 'b'),
    expect: (t, r, dir) => {
      t.same(r.files, [path.join(dir, 'a'), path.join(dir, 'b')]);
      t.equal(r.contextName, 'prod');
      t.same(r.warnings, []);
    },
  },
  {
    name: 'a repeated $KUBECONFIG entry is read once and empty entries are skipped',
    files: { a: prod },
    rules: fromEnv('', 'a', '', 'a'),
    expect: (t, r, dir) => t.same(r.files, [path.join(dir, 'a')]),
  },
  {
    name: 'missing $KUBECONFIG files are skipped without a warning when another file exists',
    files: { b: dev },
    rules: fromEnv('missing', 'b'),
    expect: (t, r, dir) => {
      t.same(r.files, [path.join(dir, 'b')]);
      t.same(r.warnings, []);
    },
  },
  {
    name: 'when every $KUBECONFIG file is missing, client-go\'s "Config not found" warning is returned',
    rules: (dir) => ({ ...fromEnv('x', 'y')(dir), defaultServer: 'https://master.example' }),
    expect: (t, r, dir) => {
      t.same(r.files, []);
      t.same(r.warnings, [`Config not found: ${path.join(dir, 'x')}, ${path.join(dir, 'y')}`]);
      t.equal(r.cluster.server, 'https://master.example');
    },
  },
  {
    name: 'without --kubeconfig and $KUBECONFIG, ~/.kube/config is read',
    files: { 'home/.kube/config': dev },
    expect: (t, r, dir) => {
      t.same(r.files, [path.join(dir, 'home', '.kube', 'config')]);
      t.equal(r.contextName, 'dev');
    },
  },
  {
    name: 'a missing ~/.kube/config is an empty config, so with nothing else there is no configuration',
    error: 'invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable',
  },
  {
    name: 'a missing ~/.kube/config is tolerated when --server is given',
    overrides: () => ({ server: 'https://flag.example:6443' }),
    expect: (t, r) => {
      t.same(r.files, []);
      t.same(r.warnings, []);
      t.equal(r.contextName, '');
      t.same(r.cluster, {
        name: '',
        server: 'https://flag.example:6443',
        tlsServerName: undefined,
        insecureSkipTlsVerify: false,
        certificateAuthority: undefined,
        proxyUrl: undefined,
        disableCompression: false,
      });
    },
  },
  {
    name: 'with an empty config, $KUBERNETES_MASTER is the server of the default cluster',
    rules: () => ({ defaultServer: 'http://master.example:8080' }),
    expect: (t, r) => {
      t.equal(r.cluster.name, '');
      t.equal(r.cluster.server, 'http://master.example:8080');
    },
  },
  {
    name: '$KUBERNETES_MASTER fills in a kubeconfig cluster that has no server',
    files: { config: simpleConfig({ cluster: { 'tls-server-name': 'api.internal' } }) },
    rules: (dir) => ({ ...explicitConfig(dir), defaultServer: 'https://master.example' }),
    expect: (t, r) => {
      t.equal(r.cluster.server, 'https://master.example');
      t.equal(r.cluster.tlsServerName, 'api.internal');
    },
  },
  {
    name: 'a file that cannot be read (a directory) is an error naming it, with Go\'s wording',
    files: { 'dir/placeholder': '' },
    rules: (dir) => ({ explicitPath: path.join(dir, 'dir') }),
    error: (dir) => `error loading config file "${path.join(dir, 'dir')}": read ${path.join(dir, 'dir')}: is a directory`,
  },
  {
    name: 'problems in several $KUBECONFIG files are reported together',
    files: { a: 'clusters: 3', b: 'users: {}' },
    rules: fromEnv('a', 'b'),
    error: (dir) =>
      `error loading config file "${path.join(dir, 'a')}": clusters: expected a list, got number; ` +
      `error loading config file "${path.join(dir, 'b')}": users: expected a list, got mapping`,
  },
]);
