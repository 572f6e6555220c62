// Choosing the context, cluster and user from current-context and --context/--cluster/--user,
// with client-go's messages for names that do not exist (client_config.go, validation.go).

import t from 'tap';
import { explicitConfig, runCases, type Case } from './fixtures/cases.js';

/** Two clusters, two users, contexts that refer to them (and to things that do not exist). */
const config = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  clusters: [
    { name: 'k1', cluster: { server: 'https://k1.example' } },
    { name: 'k2', cluster: { server: 'https://k2.example' } },
  ],
  users: [
    { name: 'u1', user: { token: 't1' } },
    { name: 'u2', user: { token: 't2' } },
  ],
  contexts: [
    { name: 'one', context: { cluster: 'k1', user: 'u1' } },
    { name: 'two', context: { cluster: 'k2', user: 'u2', namespace: 'team-a' } },
    { name: 'lost-cluster', context: { cluster: 'nope', user: 'u1' } },
    { name: 'lost-user', context: { cluster: 'k1', user: 'nobody' } },
    { name: 'lost-both', context: { cluster: 'nope', user: 'nobody' } },
    { name: 'bad-namespace', context: { cluster: 'k1', user: 'u1', namespace: 'Team_A' } },
    { name: 'anonymous', context: { cluster: 'k1' } },
  ],
  'current-context': 'one',
  ...extra,
});

function select(name: string, rest: Omit<Case, 'name' | 'files' | 'rules'>, extra?: Record<string, unknown>): Case {
  return { name, files: { config: config(extra) }, rules: explicitConfig, ...rest };
}

const names = (context: string, cluster: string, user: string): NonNullable<Case['expect']> =>
  (t, r) => t.same([r.contextName, r.cluster.name, r.user.name], [context, cluster, user]);

runCases(t, [
  select('current-context chooses the context, and the context its cluster and user', { expect: names('one', 'k1', 'u1') }),
  select('--context chooses another context', { overrides: () => ({ context: 'two' }), expect: names('two', 'k2', 'u2') }),
  select('an empty --context counts as not given, as in client-go', { overrides: () => ({ context: '' }), expect: names('one', 'k1', 'u1') }),
  select('--cluster replaces the context\'s cluster', { overrides: () => ({ cluster: 'k2' }), expect: names('one', 'k2', 'u1') }),
  select('--user replaces the context\'s user', { overrides: () => ({ user: 'u2' }), expect: names('one', 'k1', 'u2') }),
  select('--cluster may repair a context whose cluster does not exist', {
    overrides: () => ({ context: 'lost-cluster', cluster: 'k2' }),
    expect: names('lost-cluster', 'k2', 'u1'),
  }),
  select('a context without a user selects an anonymous user named ""', {
    overrides: () => ({ context: 'anonymous' }),
    expect: (t, r) => {
      t.equal(r.user.name, '');
      t.same([r.user.token, r.user.clientCertificate, r.user.username], [undefined, undefined, undefined]);
    },
  }),
  select('--context naming a missing context is kubectl\'s error', { overrides: () => ({ context: 'nope' }), error: 'context "nope" does not exist' }),
  select('--cluster naming a missing cluster is kubectl\'s error', { overrides: () => ({ cluster: 'nope' }), error: 'cluster "nope" does not exist' }),
  select('--user naming a missing user is kubectl\'s error', { overrides: () => ({ user: 'nope' }), error: 'auth info "nope" does not exist' }),
  select('a missing --user is reported before a missing --context, in client-go\'s order', {
    overrides: () => ({ context: 'nope', user: 'nobody', cluster: 'none' }),
    error: 'auth info "nobody" does not exist',
  }),
  select('a current-context that does not exist is a validation error', {
    error: 'invalid configuration: context was not found for specified context: gone',
  }, { 'current-context': 'gone' }),
  select('a context whose cluster does not exist is an error naming both', {
    overrides: () => ({ context: 'lost-cluster' }),
    error: 'invalid configuration: cluster "nope" was not found for context "lost-cluster"',
  }),
  select('a context whose cluster does not exist is an error even with --server', {
    overrides: () => ({ context: 'lost-cluster', server: 'https://flag.example' }),
    error: 'invalid configuration: cluster "nope" was not found for context "lost-cluster"',
  }),
  select('a context whose user does not exist is an error naming both', {
    overrides: () => ({ context: 'lost-user' }),
    error: 'invalid configuration: user "nobody" was not found for context "lost-user"',
  }),
  select('a context missing both is one line with both problems, user first', {
    overrides: () => ({ context: 'lost-both' }),
    error: 'invalid configuration: user "nobody" was not found for context "lost-both"; cluster "nope" was not found for context "lost-both"',
  }),
  select('a context namespace must be a DNS-1123 label', {
    overrides: () => ({ context: 'bad-namespace' }),
    error: 'invalid configuration: namespace "Team_A" for context "bad-namespace" does not conform to the kubernetes DNS_LABEL rules',
  }),
  select('a valid namespace is accepted (the proxy does not use it)', { overrides: () => ({ context: 'two' }), expect: names('two', 'k2', 'u2') }),
  {
    name: 'without any context, --cluster and --user pick entries directly',
    files: { config: { ...config(), 'current-context': undefined } },
    rules: explicitConfig,
    overrides: () => ({ cluster: 'k2', user: 'u1' }),
    expect: names('', 'k2', 'u1'),
  },
  {
    name: 'without any context or flag there is no cluster, hence no configuration',
    files: { config: { ...config(), 'current-context': undefined } },
    rules: explicitConfig,
    error: 'invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable',
  },
]);
