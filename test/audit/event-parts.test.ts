// The pieces of an audit event: MicroTime as kube-apiserver writes it, bodies kept up to a cap and
// never past it, and what redaction and omitManagedFields take out of an object.
import t from 'tap';
import { BodyCapture } from '../../src/audit/body-capture.js';
import { microTime } from '../../src/audit/event.js';
import { cleanObject } from '../../src/audit/redact-object.js';
import { protobufObjectMeta } from '../../src/audit/protobuf-meta.js';

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

/** A length-delimited protobuf field. */
function field(number: number, value: Buffer | string): Buffer {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
}

void t.test('protobufObjectMeta reads name and namespace of a Kubernetes protobuf body without its schema', async (t) => {
  const meta = Buffer.concat([field(1, 'settings'), field(2, 'gen-'), field(3, 'team-a')]);
  const object = Buffer.concat([field(1, meta), field(2, Buffer.from([0x0a, 0x01, 0x6b]))]);
  const unknown = Buffer.concat([field(1, Buffer.concat([field(1, 'v1'), field(2, 'ConfigMap')])), field(2, object), field(4, 'application/vnd.kubernetes.protobuf')]);
  const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
  t.same(protobufObjectMeta(body), { name: 'settings', namespace: 'team-a' });
  const capture = new BodyCapture(1024);
  capture.add(body);
  t.same(capture.json(), { reason: 'protobuf (application/vnd.kubernetes.protobuf): not decoded' });
  t.same(capture.objectMeta(capture.json()), { name: 'settings', namespace: 'team-a' });
  t.equal(protobufObjectMeta(Buffer.from('{"kind":"Pod"}')), undefined, 'JSON is not protobuf');
  t.equal(protobufObjectMeta(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x12, 0x7f])])), undefined, 'a cut message is not read');
});
