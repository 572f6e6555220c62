// The throwaway PKI: what the certificates say, that TLS accepts them both ways, how fast it is
// made, and how it is written to and read from disk.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { statSync } from 'node:fs';
import { connect, createServer, type TLSSocket } from 'node:tls';
import t from 'tap';
import { createPki, PKI_FILES, readPki, writePki, type Pki } from '../../examples/pki.js';
import { withTimeout } from '../helpers/waiting.js';

/** A TLS handshake between a server and a client of the PKI, each checking the other. */
async function handshake(pki: Pki): Promise<{ authorized: boolean; clientSawServer: boolean }> {
  const server = createServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: true });
  const accepted = new Promise<TLSSocket>((resolve) => server.once('secureConnection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = connect({ port, host: '127.0.0.1', servername: 'localhost', ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey });
  try {
    await withTimeout(new Promise((resolve, reject) => client.once('secureConnect', resolve).once('error', reject)), 5000, 'handshake');
    const socket = await withTimeout(accepted, 5000, 'server side');
    return { authorized: socket.authorized, clientSawServer: client.authorized };
  } finally {
    client.destroy();
    server.close();
  }
}

void t.test('certificates: server names, client identity, issued by the CA', (t) => {
  const pki = createPki({ serverNames: ['kube.example', '10.1.2.3'], clientCommonName: 'someone', clientOrganization: 'team' });
  const ca = new X509Certificate(pki.caCert);
  const server = new X509Certificate(pki.serverCert);
  const client = new X509Certificate(pki.clientCert);
  t.ok(ca.ca, 'CA is a CA');
  t.ok(server.checkIssued(ca) && server.verify(ca.publicKey), 'server signed by the CA');
  t.ok(client.checkIssued(ca) && client.verify(ca.publicKey), 'client signed by the CA');
  for (const name of ['localhost', 'kube.example']) t.equal(server.checkHost(name), name, `DNS ${name}`);
  for (const ip of ['127.0.0.1', '::1', '10.1.2.3']) t.equal(server.checkIP(ip), ip, `IP ${ip}`);
  t.match(client.subject, /CN=someone/);
  t.match(client.subject, /O=team/);
  t.ok(client.keyUsage?.includes('1.3.6.1.5.5.7.3.2'), 'client certificate has clientAuth');
  t.ok(server.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'server certificate has serverAuth');
  t.ok(createPrivateKey(pki.clientKey).asymmetricKeyType, 'client key parses');
  t.end();
});

void t.test('TLS accepts the certificates both ways, for EC and RSA keys', async (t) => {
  for (const keyType of ['ec', 'rsa'] as const) {
    const pki = createPki({ keyType });
    t.match(pki.clientKey, keyType === 'ec' ? /BEGIN EC PRIVATE KEY/ : /BEGIN RSA PRIVATE KEY/, `${keyType} key format`);
    t.same(await handshake(pki), { authorized: true, clientSawServer: true }, `${keyType} handshake`);
  }
});

void t.test('a whole PKI is made quickly', (t) => {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    createPki();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  t.comment(`createPki(): median ${times[2]!.toFixed(0)} ms, max ${times[4]!.toFixed(0)} ms`);
  // Generous bound: a loaded CI machine is slow, but forge's own RSA would take seconds.
  t.ok(times[2]! < 1500, 'median under 1.5 s');
  t.end();
});

void t.test('writePki writes keys with mode 0600 and readPki reads them back', (t) => {
  const dir = t.testdir({});
  const pki = createPki();
  const paths = writePki(dir, pki);
  for (const [field, path] of Object.entries(paths)) {
    const mode = statSync(path).mode & 0o777;
    t.equal(mode, field.endsWith('Key') ? 0o600 : 0o644, `${PKI_FILES[field as keyof Pki]} mode`);
  }
  t.same(readPki(dir), pki);
  t.equal(readPki(t.testdir({})), undefined, 'empty directory');
  t.end();
});
