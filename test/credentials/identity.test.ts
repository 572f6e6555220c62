// The start-up identity line and the client-certificate expiry warning.
import t from 'tap';
import { basicAuth, bearerToken, NO_CREDENTIALS } from '../../src/credentials/credentials.js';
import { describeIdentity } from '../../src/credentials/identity.js';
import { createPki, issueCertificate } from '../../examples/pki.js';

const pki = createPki();
const DAY = 24 * 60 * 60 * 1000;

void t.test('the summary names the certificate subject and the token kind, never the token', async (t) => {
  const identity = describeIdentity(Buffer.from(pki.clientCert), bearerToken('s3cret-token'), { user: 'jane', groups: [], extra: {} });
  t.match(identity.summary, /^client certificate .*CN=kube-admin.* \(expires \d{4}-\d\d-\d\dT.*\); static token; impersonating jane$/);
  t.notMatch(identity.summary, /s3cret-token/);
  t.same(identity.warnings, []);
  t.equal(describeIdentity(undefined, basicAuth('alice', 'pw'), undefined).summary, 'basic auth (user alice)');
  t.equal(describeIdentity(undefined, NO_CREDENTIALS, undefined).summary, 'no credentials');
});

void t.test('a client certificate that expires within 7 days, or has expired, is a warning', async (t) => {
  const soon = issueCertificate(pki, { commonName: 'short-lived', usage: 'client', validDays: 3 });
  const warning = describeIdentity(Buffer.from(soon.cert), NO_CREDENTIALS, undefined).warnings;
  t.match(warning, [/^the client certificate CN=short-lived expires in [34] day\(s\), on /]);
  const later = describeIdentity(Buffer.from(soon.cert), NO_CREDENTIALS, undefined, Date.now() + 10 * DAY).warnings;
  t.match(later, [/^the client certificate CN=short-lived expired on /]);
});
