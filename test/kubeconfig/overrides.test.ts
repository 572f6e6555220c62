// Flag overrides on top of the kubeconfig cluster and user (client_config.go getCluster/getAuthInfo).

import * as path from 'node:path';
import t from 'tap';
import { explicitConfig, runCases, simpleConfig, type Case } from './fixtures/cases.js';

const PEM = 'placeholder PEM\n';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** A kubeconfig whose cluster and user set every field the flags can touch, plus the files it names. */
const files = {
  config: simpleConfig({
    cluster: {
      server: 'https://file.example',
      'tls-server-name': 'file-sni',
      'certificate-authority': 'ca.pem',
      'certificate-authority-data': b64('file CA data'),
    },
    user: {
      'client-certificate': 'user.crt',
      'client-certificate-data': b64('file cert data'),
      'client-key': 'user.key',
      'client-key-data': b64('file key data'),
      tokenFile: 'token',
    },
  }),
  'ca.pem': PEM,
  'user.crt': PEM,
  'user.key': PEM,
  'flags/ca.pem': PEM,
  'flags/user.crt': PEM,
  'flags/user.key': PEM,
};

function override(name: string, rest: Omit<Case, 'name' | 'files' | 'rules'>): Case {
  return { name, files, rules: explicitConfig, ...rest };
}

runCases(t, [
  override('without flags the kubeconfig values are used, *-data winning over files', {
    expect: (t, r) => {
      t.equal(r.cluster.server, 'https://file.example');
      t.equal(r.cluster.tlsServerName, 'file-sni');
      t.same(r.cluster.certificateAuthority, { data: Buffer.from('file CA data') });
      t.same(r.user.clientCertificate, { data: Buffer.from('file cert data') });
      t.same(r.user.clientKey, { data: Buffer.from('file key data') });
    },
  }),
  override('--server replaces the server and clears the kubeconfig tls-server-name', {
    overrides: () => ({ server: 'https://flag.example:6443' }),
    expect: (t, r) => {
      t.equal(r.cluster.server, 'https://flag.example:6443');
      t.equal(r.cluster.tlsServerName, undefined);
    },
  }),
  override('--server with --tls-server-name uses the flag\'s name', {
    overrides: () => ({ server: 'https://flag.example', tlsServerName: 'flag-sni' }),
    expect: (t, r) => t.equal(r.cluster.tlsServerName, 'flag-sni'),
  }),
  override('--tls-server-name alone replaces the name and keeps the server', {
    overrides: () => ({ tlsServerName: 'flag-sni' }),
    expect: (t, r) => t.same([r.cluster.server, r.cluster.tlsServerName], ['https://file.example', 'flag-sni']),
  }),
  override('--certificate-authority replaces both the kubeconfig CA file and CA data', {
    overrides: (dir) => ({ certificateAuthority: path.join(dir, 'flags', 'ca.pem') }),
    expect: (t, r, dir) => {
      t.same(r.cluster.certificateAuthority, { path: path.join(dir, 'flags', 'ca.pem') });
      t.same(r.warnings, [
        'client-cert-data and client-cert are both specified for dev-user. client-cert-data will override.',
        'client-key-data and client-key are both specified for dev-user; client-key-data will override',
      ]);
    },
  }),
  {
    name: '--certificate-authority also clears the kubeconfig insecure flag',
    files: { config: simpleConfig({ cluster: { server: 'https://x', 'insecure-skip-tls-verify': true } }), 'ca.pem': PEM },
    rules: explicitConfig,
    overrides: (dir) => ({ certificateAuthority: path.join(dir, 'ca.pem') }),
    expect: (t, r) => t.equal(r.cluster.insecureSkipTlsVerify, false),
  },
  override('--insecure-skip-tls-verify=true clears the kubeconfig CA file and data', {
    overrides: () => ({ insecureSkipTlsVerify: true }),
    expect: (t, r) => {
      t.equal(r.cluster.insecureSkipTlsVerify, true);
      t.equal(r.cluster.certificateAuthority, undefined);
    },
  }),
  {
    name: '--insecure-skip-tls-verify=false cannot turn off a kubeconfig insecure flag (a false flag is "not set")',
    files: { config: simpleConfig({ cluster: { server: 'https://x', 'insecure-skip-tls-verify': true } }) },
    rules: explicitConfig,
    overrides: () => ({ insecureSkipTlsVerify: false }),
    expect: (t, r) => t.equal(r.cluster.insecureSkipTlsVerify, true),
  },
  override('a relative --certificate-authority is taken relative to the working directory, not the kubeconfig', {
    overrides: (dir) => ({ certificateAuthority: path.relative(process.cwd(), path.join(dir, 'flags', 'ca.pem')) }),
    expect: (t, r, dir) => t.same(r.cluster.certificateAuthority, { path: path.join(dir, 'flags', 'ca.pem') }),
  }),
  override('--client-certificate and --client-key replace the kubeconfig files and their *-data', {
    overrides: (dir) => ({ clientCertificate: path.join(dir, 'flags', 'user.crt'), clientKey: path.join(dir, 'flags', 'user.key') }),
    expect: (t, r, dir) => {
      t.same(r.user.clientCertificate, { path: path.join(dir, 'flags', 'user.crt') });
      t.same(r.user.clientKey, { path: path.join(dir, 'flags', 'user.key') });
      t.same(r.warnings, ['certificate-authority-data and certificate-authority are both specified for dev-cluster. certificate-authority-data will override.']);
    },
  }),
  override('--client-key alone replaces only the key', {
    overrides: (dir) => ({ clientKey: path.join(dir, 'flags', 'user.key') }),
    expect: (t, r, dir) => {
      t.same(r.user.clientCertificate, { data: Buffer.from('file cert data') });
      t.same(r.user.clientKey, { path: path.join(dir, 'flags', 'user.key') });
    },
  }),
  override('--token sets the token and drops a kubeconfig tokenFile, so the typed flag wins (unlike client-go)', {
    overrides: () => ({ token: 'flag-token' }),
    expect: (t, r) => {
      t.equal(r.user.token, 'flag-token');
      t.equal(r.user.tokenFile, undefined);
    },
  }),
  override('--disable-compression sets disableCompression', {
    overrides: () => ({ disableCompression: true }),
    expect: (t, r) => t.equal(r.cluster.disableCompression, true),
  }),
  {
    name: '--server beats $KUBERNETES_MASTER',
    rules: () => ({ defaultServer: 'https://master.example' }),
    overrides: () => ({ server: 'https://flag.example' }),
    expect: (t, r) => t.equal(r.cluster.server, 'https://flag.example'),
  },
  {
    name: 'a flag path that cannot be read is reported with the path as resolved',
    files: { config: simpleConfig() },
    rules: explicitConfig,
    overrides: (dir) => ({ certificateAuthority: path.join(dir, 'nope.pem') }),
    error: (dir) => {
      const ca = path.join(dir, 'nope.pem');
      return `invalid configuration: unable to read certificate-authority ${ca} for dev-cluster due to open ${ca}: no such file or directory`;
    },
  },
]);
