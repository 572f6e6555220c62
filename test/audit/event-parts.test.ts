// The pieces of an audit event: MicroTime as kube-apiserver writes it, bodies kept up to a cap and
// never past it, and what redaction and omitManagedFields take out of an object.
import t from 'tap';
import { BodyCapture } from '../../src/audit/body-capture.js';
import { microTime } from '../../src/audit/event.js';
import { cleanObject } from '../../src/audit/redact-object.js';

void t.test('microTime: RFC 3339, UTC, six fractional digits', async (t) => {
  t.equal(microTime(Date.UTC(2026, 11, 2, 8, 23, 29, 123) + 0.456), '2026-12-02T08:23:29.123456Z');
  t.equal(microTime(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00.000000Z');
  t.match(microTime(Date.now()), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
});

void t.test('BodyCapture keeps up to the cap, says why a body is not written', async (t) => {
  const small = new BodyCapture(64);
  small.add(Buffer.from('{"kind":'));
  small.add(Buffer.from('"Pod"}'));
  t.same(small.json(), { value: { kind: 'Pod' } });
  const big = new BodyCapture(8);
  big.add(Buffer.from('{"kind":"Pod"}'));
  big.add(Buffer.alloc(1000));
  t.ok(big.truncated);
  t.equal(big.total, 1014, 'every byte counted');
  t.match(big.json(), { reason: /^truncated: 1014 bytes, over the 8-byte cap/ });
  const yaml = new BodyCapture(64);
  yaml.add(Buffer.from('kind: Pod\n'));
  t.same(yaml.json(), { reason: 'not JSON' });
  t.same(new BodyCapture(64).json(), { reason: 'empty' });
});

void t.test('cleanObject: Secret values, credential fields and managedFields', async (t) => {
  const secret = { kind: 'Secret', apiVersion: 'v1', metadata: { name: 's', managedFields: [{ manager: 'kubectl' }] }, data: { password: 'c2VjcmV0' }, stringData: { token: 'plain' }, type: 'Opaque' };
  t.same(cleanObject(secret, { redact: true, omitManagedFields: true }), {
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: { name: 's' },
    data: { password: '<redacted>' },
    stringData: { token: '<redacted>' },
    type: 'Opaque',
  });
  const list = { kind: 'SecretList', items: [{ metadata: { name: 'a' }, data: { k: 'djE=' } }] };
  t.same(cleanObject(list, { redact: true, omitManagedFields: false }), { kind: 'SecretList', items: [{ metadata: { name: 'a' }, data: { k: '<redacted>' } }] }, 'list items are Secrets without a kind of their own');
  const tokenRequest = { kind: 'TokenRequest', status: { token: 'eyJhbGciOi', expirationTimestamp: '2026-12-02T09:00:00Z' } };
  t.same(cleanObject(tokenRequest, { redact: true, omitManagedFields: false }), { kind: 'TokenRequest', status: { token: '<redacted>', expirationTimestamp: '2026-12-02T09:00:00Z' } });
  const configMap = { kind: 'ConfigMap', data: { password: 'kept: a ConfigMap is no Secret', token: 'masked anyway' } };
  t.same(cleanObject(configMap, { redact: true, omitManagedFields: false }), { kind: 'ConfigMap', data: { password: '<redacted>', token: '<redacted>' } }, 'credential-named fields are masked in any object');
  t.same(cleanObject(secret, { redact: false, omitManagedFields: false }), secret, 'nothing changes with both off');
  const pod = { kind: 'Pod', metadata: { name: 'p', managedFields: [] }, spec: { containers: [{ name: 'c', env: [{ name: 'A', value: 'b' }] }] } };
  t.same(cleanObject(pod, { redact: true, omitManagedFields: false }), pod, 'an ordinary object is unchanged');
});
