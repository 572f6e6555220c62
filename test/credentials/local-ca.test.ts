// The local CA of --local-tls: made once and kept, its certificate reissued before it expires or
// when it no longer fits, and the CA itself unable to sign for anything but loopback names.
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import t from 'tap';
import { DAY_MS, issueCertificate } from '../../src/credentials/certificates/issue.js';
import { ensureLocalCertificates, LOCAL_CA_FILES, RENEW_WITHIN_DAYS } from '../../src/credentials/certificates/local-ca.js';
import { withTimeout } from '../helpers/waiting.js';

/** Does a TLS client that trusts `ca` accept a server presenting `cert` for `servername`? */
async function accepted(ca: string, cert: string, key: string, servername: string, host = '127.0.0.1'): Promise<string | undefined> {
  const server = createServer({ cert, key });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const socket = connect({ port, host, servername, ca, checkServerIdentity: () => undefined });
  try {
    const outcome = new Promise<string | undefined>((resolve) => {
      socket.once('secureConnect', () => resolve(socket.authorized ? undefined : String(socket.authorizationError)));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(`${err.code ?? ''} ${err.message}`));
    });
    return await withTimeout(outcome, 5000, 'handshake');
  } finally {
    socket.destroy();
    server.close();
  }
}

void t.test('made once, then reused; the certificate covers the loopback names', async (t) => {
  const dir = t.testdir({});
  const first = ensureLocalCertificates(dir);
  t.ok(first.createdCa && first.issuedCertificate, 'the first run makes both');
  const leaf = new X509Certificate(first.cert);
  for (const name of ['localhost']) t.equal(leaf.checkHost(name), name);
  for (const ip of ['127.0.0.1', '::1']) t.equal(leaf.checkIP(ip), ip);
  const ca = readFileSync(first.caPath, 'utf8');
  t.equal(await accepted(ca, first.cert, first.key, 'localhost'), undefined, 'a client trusting the CA accepts it');

  const second = ensureLocalCertificates(dir);
  t.notOk(second.createdCa || second.issuedCertificate, 'a second run makes nothing');
  t.equal(second.cert, first.cert);
});

void t.test('reissued before expiry and when it no longer fits; the CA kept', async (t) => {
  const dir = t.testdir({});
  const first = ensureLocalCertificates(dir);
  const ca = readFileSync(first.caPath, 'utf8');
  const expires = Date.parse(new X509Certificate(first.cert).validTo);
  t.equal(first.renewAt, expires - RENEW_WITHIN_DAYS * DAY_MS, 'due for renewal 30 days before expiry');

  const early = ensureLocalCertificates(dir, first.renewAt - DAY_MS);
  t.notOk(early.issuedCertificate, 'not yet due the day before');
  const due = ensureLocalCertificates(dir, first.renewAt + DAY_MS);
  t.ok(due.issuedCertificate, 'due a day after renewAt: reissued');
  t.notOk(due.createdCa, 'by the same CA');
  t.equal(readFileSync(first.caPath, 'utf8'), ca, 'which stays on disk unchanged');

  writeFileSync(join(dir, LOCAL_CA_FILES.key), issueCertificate({ caCert: ca, caKey: readFileSync(join(dir, LOCAL_CA_FILES.caKey), 'utf8') }, { commonName: 'x', usage: 'server' }).key);
  const mismatched = ensureLocalCertificates(dir);
  t.ok(mismatched.issuedCertificate, 'a key that is not the certificate’s: reissued');
  t.notOk(mismatched.createdCa);

  writeFileSync(join(dir, LOCAL_CA_FILES.caCert), 'not a certificate');
  const broken = ensureLocalCertificates(dir);
  t.ok(broken.createdCa && broken.issuedCertificate, 'an unreadable CA: a new CA and certificate');
  t.ok(new X509Certificate(broken.cert).checkIssued(new X509Certificate(readFileSync(broken.caPath, 'utf8'))), 'the certificate is the new CA’s');
});

void t.test('the CA can sign for loopback names only (name constraints)', async (t) => {
  const dir = t.testdir({});
  const made = ensureLocalCertificates(dir);
  const ca = readFileSync(made.caPath, 'utf8');
  const caKey = readFileSync(join(dir, LOCAL_CA_FILES.caKey), 'utf8');
  const caText = new X509Certificate(ca);
  t.ok(caText.ca, 'it is a CA');
  const foreign = issueCertificate({ caCert: ca, caKey }, { commonName: 'bank.example', usage: 'server', names: ['bank.example', '10.0.0.1'] });
  const problem = await accepted(ca, foreign.cert, foreign.key, 'bank.example');
  t.match(problem, /name constraint|permitted/i, 'a certificate it signed for a real site is refused by TLS clients');
  const loopback = issueCertificate({ caCert: ca, caKey }, { commonName: 'localhost', usage: 'server', names: ['localhost', '127.0.0.2'] });
  t.equal(await accepted(ca, loopback.cert, loopback.key, 'localhost'), undefined, 'one for loopback names is accepted');
});
