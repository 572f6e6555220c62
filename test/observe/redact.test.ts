// Header and query redaction for log lines, and the -v=9 curl command.
import t from 'tap';
import { curlCommand, redactHeader, redactTarget, redactedHeaders } from '../../src/observe/redact.js';

void t.test('credentials in headers are masked, schemes kept as client-go does', async (t) => {
  const cases: [string, string, string][] = [
    ['authorization', 'Bearer s3cret', 'Bearer <masked>'],
    ['authorization', 'bearer s3cret', 'bearer <masked>'],
    ['authorization', 'Basic YWxpY2U6cHc=', 'Basic <masked>'],
    ['authorization', 'Negotiate abc', 'Negotiate <masked>'],
    ['authorization', 'Bearer', 'Bearer'],
    ['authorization', 'Custom s3cret', '<masked>'],
    ['authorization', '', ''],
    ['proxy-authorization', 'Basic cHJveHk6cHc=', 'Basic <masked>'],
    ['cookie', 'session=s3cret', '<masked>'],
    ['set-cookie', 'session=s3cret; HttpOnly', '<masked>'],
    ['sec-websocket-protocol', 'v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.czNjcmV0', 'v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.<masked>'],
    ['user-agent', 'kubectl/v1.32', 'kubectl/v1.32'],
  ];
  for (const [name, value, expected] of cases) t.equal(redactHeader(name, value), expected, `${name}: ${value}`);
});

void t.test('headers come out sorted by lower-case name, repeated ones as a list', async (t) => {
  const headers = redactedHeaders(['X-B', '2', 'authorization', 'Bearer tok', 'x-a', '1', 'X-B', '3']);
  t.same(Object.keys(headers), ['authorization', 'x-a', 'x-b']);
  t.same(headers, { authorization: 'Bearer <masked>', 'x-a': '1', 'x-b': ['2', '3'] });
  t.same(redactedHeaders({ 'set-cookie': ['a=1', 'b=2'], Vary: 'Accept' }), { 'set-cookie': ['<masked>', '<masked>'], vary: 'Accept' });
});

void t.test('secret-looking query parameters are masked, the rest kept as written', async (t) => {
  t.equal(redactTarget('/api/v1/pods?limit=1&watch=true'), '/api/v1/pods?limit=1&watch=true');
  t.equal(redactTarget('/x?access_token=s3cret&labelSelector=a%3Db'), '/x?access_token=<masked>&labelSelector=a%3Db');
  t.equal(redactTarget('/x?Token=1&id_token=2&password=3&client_secret=4&key=5&keys=6'), '/x?Token=<masked>&id_token=<masked>&password=<masked>&client_secret=<masked>&key=<masked>&keys=6');
  t.equal(redactTarget('/x?%74oken=s3cret'), '/x?%74oken=<masked>', 'an encoded name is judged decoded');
  t.equal(redactTarget('/no-query'), '/no-query');
});

void t.test('the curl command: sorted -H flags, masked credentials, the URL quoted for a shell', async (t) => {
  const curl = curlCommand('GET', "https://10.0.0.1:6443/api/v1/pods?limit=1&token=s3cret&x='y'", ['user-agent', 'kubectl', 'authorization', 'Bearer s3cret', 'accept', 'application/json']);
  t.equal(curl, `curl -v -XGET -H "accept: application/json" -H "authorization: Bearer <masked>" -H "user-agent: kubectl" 'https://10.0.0.1:6443/api/v1/pods?limit=1&token=<masked>&x='\\''y'\\'''`);
  t.notMatch(curl, /s3cret/);
});
