// Features this version cannot honour are listed in user.unsupported, never silently dropped;
// impersonation is honoured and resolved into user.impersonate.

import { join } from 'node:path';
import t from 'tap';
import { explicitConfig, runCases, simpleConfig, type Case } from './fixtures/cases.js';

const https = { server: 'https://dev.example' };
const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: 'get-token', interactiveMode: 'Never' };

function lists(name: string, cluster: Record<string, unknown>, user: Record<string, unknown>, expected: string[], overrides?: Case['overrides']): Case {
  return {
    name,
    files: { config: simpleConfig({ cluster, user }) },
    rules: explicitConfig,
    ...(overrides ? { overrides } : {}),
    expect: (t, r) => t.same(r.user.unsupported, expected),
  };
}

runCases(t, [
  lists('a user with only a token needs nothing unsupported', https, { token: 'x' }, []),
  {
    name: 'an exec plugin is resolved, v1beta1 defaulting interactiveMode to IfAvailable',
    files: { config: simpleConfig({ cluster: https, user: { exec: { command: 'get-token', apiVersion: 'client.authentication.k8s.io/v1beta1', args: ['--x'], env: [{ name: 'A', value: 'b' }] } } }) },
    rules: explicitConfig,
    expect: (t, r) => {
      t.same(r.user.unsupported, []);
      t.same(r.user.exec, { command: 'get-token', args: ['--x'], env: [{ name: 'A', value: 'b' }], apiVersion: 'client.authentication.k8s.io/v1beta1', provideClusterInfo: false, interactiveMode: 'IfAvailable' });
    },
  },
  {
    name: 'an exec command with a path separator is resolved against the kubeconfig file',
    files: { config: simpleConfig({ cluster: https, user: { exec: { ...exec, command: './bin/get-token' } } }) },
    rules: explicitConfig,
    expect: (t, r) => t.match(r.user.exec?.command, /^\/.*\/bin\/get-token$/),
  },
  {
    name: 'an exec plugin is not used when a token is also set, because client-go never runs it then',
    files: { config: simpleConfig({ cluster: https, user: { exec, token: 'x' } }) },
    rules: explicitConfig,
    expect: (t, r) => t.equal(r.user.exec, undefined),
  },
  {
    name: 'an exec plugin is not used when --token is given',
    files: { config: simpleConfig({ cluster: https, user: { exec } }) },
    rules: explicitConfig,
    overrides: () => ({ token: 'flag-token' }),
    expect: (t, r) => t.equal(r.user.exec, undefined),
  },
  {
    name: 'the oidc auth-provider is supported: resolved with the file that defined the user, for the write-back',
    files: { config: simpleConfig({ cluster: https, user: { 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } } }) },
    rules: explicitConfig,
    expect: (t, r, dir) => {
      t.same(r.user.unsupported, []);
      t.same(r.user.authProvider, { name: 'oidc', config: { 'id-token': 'x' }, userName: 'dev-user', file: join(dir, 'config') });
    },
  },
  lists('any other auth-provider is listed with its name', https, { 'auth-provider': { name: 'openstack', config: { ttl: '1h' } } }, [
    'auth-provider "openstack" (users[].user.auth-provider)',
  ]),
  lists('impersonation is supported: nothing listed', https, { token: 'x', as: 'jane', 'as-uid': '42', 'as-groups': ['devs'], 'as-user-extra': { scopes: ['a'] } }, []),
  {
    name: 'impersonation fields resolve from the file',
    files: { config: simpleConfig({ cluster: https, user: { token: 'x', as: 'jane', 'as-uid': '42', 'as-groups': ['devs'], 'as-user-extra': { scopes: ['a', 'b'] } } }) },
    rules: explicitConfig,
    expect: (t, r) => t.same(r.user.impersonate, { user: 'jane', uid: '42', groups: ['devs'], extra: { scopes: ['a', 'b'] } }),
  },
  {
    name: '--as, --as-group and --as-uid override the file field by field',
    files: { config: simpleConfig({ cluster: https, user: { token: 'x', as: 'jane', 'as-groups': ['devs'], 'as-user-extra': { scopes: ['a'] } } }) },
    rules: explicitConfig,
    overrides: () => ({ as: 'bob', asGroups: ['ops', 'oncall'], asUid: '7' }),
    expect: (t, r) => t.same(r.user.impersonate, { user: 'bob', uid: '7', groups: ['ops', 'oncall'], extra: { scopes: ['a'] } }),
  },
  {
    name: 'no impersonation when nothing asks for it',
    files: { config: simpleConfig({ cluster: https, user: { token: 'x' } }) },
    rules: explicitConfig,
    expect: (t, r) => t.equal(r.user.impersonate, undefined),
  },
  lists('a cluster proxy-url is supported: nothing listed', { ...https, 'proxy-url': 'http://proxy.example:3128' }, { token: 'x' }, []),
  {
    name: 'the proxy-url is reported on the cluster',
    files: { config: simpleConfig({ cluster: { ...https, 'proxy-url': 'socks5://proxy.example:1080' } }) },
    rules: explicitConfig,
    expect: (t, r) => t.equal(r.cluster.proxyUrl, 'socks5://proxy.example:1080'),
  },
]);
