// Features this version cannot honour are listed in user.unsupported, never silently dropped;
// impersonation is honoured and resolved into user.impersonate.

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
  lists('an exec plugin is listed', https, { exec }, ['exec plugin (users[].user.exec)']),
  lists('an exec plugin is not listed when a token is also set, because client-go never runs it then', https, { exec, token: 'x' }, []),
  lists('an exec plugin is not listed when --token is given', https, { exec }, [], () => ({ token: 'flag-token' })),
  lists('an auth-provider is listed with its name', https, { 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } }, [
    'auth-provider "oidc" (users[].user.auth-provider)',
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
  lists('a cluster proxy-url is listed too, so one list says what cannot be honoured', { ...https, 'proxy-url': 'http://proxy.example:3128' }, { token: 'x' }, [
    'proxy-url (clusters[].cluster.proxy-url)',
  ]),
  {
    name: 'the proxy-url is still reported on the cluster',
    files: { config: simpleConfig({ cluster: { ...https, 'proxy-url': 'socks5://proxy.example:1080' } }) },
    rules: explicitConfig,
    expect: (t, r) => t.equal(r.cluster.proxyUrl, 'socks5://proxy.example:1080'),
  },
]);
