// Failures before a response become Kubernetes Status bodies with 502/503/504 and a message that
// names the cause and the server, and never a secret.
import { createServer } from 'node:net';
import t from 'tap';
import { createPki, writePki } from '../../examples/pki.js';
import { ADMIN_TOKEN, startTestCluster } from '../helpers/cluster.js';
import { fetchText, type StatusBody } from '../helpers/http.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

void t.test('connection refused → 503 Status naming the server', async (t) => {
  const cluster = await startTestCluster(t);
  const port = await freePort();
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN }, { server: `https://127.0.0.1:${port}` });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const reply = await fetchText(`${proxy.url}/version`);
  t.equal(reply.status, 503);
  t.equal(reply.headers['content-type'], 'application/json');
  const status = JSON.parse(reply.body) as StatusBody;
  t.match(status, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'ServiceUnavailable', code: 503 });
  t.equal(status.message, `dial tcp 127.0.0.1:${port}: connect: connection refused (server https://127.0.0.1:${port})`);
  t.notMatch(reply.body + proxy.stderr(), ADMIN_TOKEN, 'no token in the body or the log');
});

void t.test('a server certificate from another CA → 502 x509 unknown authority', async (t) => {
  const cluster = await startTestCluster(t);
  const other = writePki(`${cluster.dir}/other`, createPki());
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN }, { 'certificate-authority': other.caCert });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const reply = await fetchText(`${proxy.url}/version`);
  t.equal(reply.status, 502);
  t.equal((JSON.parse(reply.body) as StatusBody).message, `x509: certificate signed by unknown authority (server ${cluster.api.url})`);
});

void t.test('--insecure-skip-tls-verify accepts that certificate', async (t) => {
  const cluster = await startTestCluster(t);
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN }, { 'certificate-authority': undefined, 'insecure-skip-tls-verify': true });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.equal((await fetchText(`${proxy.url}/version`)).status, 200);
});

void t.test('--tls-server-name verifies against another name', async (t) => {
  const cluster = await startTestCluster(t);
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN }, { server: `https://localhost:${cluster.api.port}` });
  const wrong = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--tls-server-name', 'wrong.example'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => wrong.stop());
  const reply = await fetchText(`${wrong.url}/version`);
  t.equal(reply.status, 502);
  t.match((JSON.parse(reply.body) as StatusBody).message, /^x509: certificate is not valid for the server name/);
  const right = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--tls-server-name', 'localhost'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => right.stop());
  t.equal((await fetchText(`${right.url}/version`)).status, 200);
});

void t.test('--request-timeout bounds the wait for response headers → 504', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--request-timeout', '500ms'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const reply = await fetchText(`${proxy.url}/test/hang`);
  t.equal(reply.status, 504);
  t.match(JSON.parse(reply.body), { reason: 'Timeout', code: 504 });
  t.equal((await fetchText(`${proxy.url}/version`)).status, 200, 'later requests are served');
});

void t.test('API server errors pass through as the server sent them', async (t) => {
  const cluster = await startTestCluster(t);
  const kubeconfig = cluster.kubeconfig({ token: 'not-a-valid-token' });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const reply = await fetchText(`${proxy.url}/version`);
  t.equal(reply.status, 401);
  t.match(JSON.parse(reply.body), { kind: 'Status', reason: 'Unauthorized' });
});

void t.test('credentials are never sent to a plain-HTTP server', async (t) => {
  const cluster = await startTestCluster(t);
  const { createServer: createHttpServer } = await import('node:http');
  let seenAuthorization: string | undefined = 'unset';
  const plain = createHttpServer((req, res) => {
    seenAuthorization = req.headers.authorization;
    res.end('{}');
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  t.teardown(() => plain.close());
  const port = (plain.address() as { port: number }).port;
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN }, { server: `http://127.0.0.1:${port}`, 'certificate-authority': undefined });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.equal((await fetchText(`${proxy.url}/version`)).status, 200);
  t.equal(seenAuthorization, undefined, 'no Authorization over plain HTTP');
  t.match(proxy.stderr(), /are not sent to the plain-HTTP server/);
});
