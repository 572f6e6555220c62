// Impersonate-* headers as client-go builds them (transport/round_trippers.go).
import t from 'tap';
import { escapeExtraKey, impersonationHeaders } from '../../src/credentials/impersonation.js';

void t.test('extra keys are escaped as client-go does', async (t) => {
  const cases: [string, string][] = [
    ['scopes', 'scopes'],
    ['test.example.com/thing.thing', 'test.example.com%2fthing.thing'],
    ['100%', '100%25'],
    ['a b', 'a%20b'],
    ['ümlaut', '%c3%bcmlaut'],
  ];
  for (const [key, escaped] of cases) t.equal(escapeExtraKey(key), escaped, key);
});

void t.test('headers for user, uid, each group and each extra value', async (t) => {
  t.same(impersonationHeaders(undefined), []);
  t.same(
    impersonationHeaders({ user: 'jane', uid: '42', groups: ['devs', 'ops'], extra: { 'example.com/scopes': ['a', 'b'] } }),
    ['impersonate-user', 'jane', 'impersonate-uid', '42', 'impersonate-group', 'devs', 'impersonate-group', 'ops', 'impersonate-extra-example.com%2fscopes', 'a', 'impersonate-extra-example.com%2fscopes', 'b'],
  );
});
