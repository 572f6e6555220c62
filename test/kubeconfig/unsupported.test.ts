// Features this version cannot honour are listed in user.unsupported, never silently dropped.

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
  lists('every impersonation field is listed', https, { token: 'x', as: 'jane', 'as-uid': '42', 'as-groups': ['devs'], 'as-user-extra': { scopes: ['a'] } }, [
    'impersonation (users[].user.as)',
    'impersonation (users[].user.as-uid)',
    'impersonation (users[].user.as-groups)',
    'impersonation (users[].user.as-user-extra)',
  ]),
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
