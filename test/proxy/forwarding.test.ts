// Plain requests through the real proxy binary to a real HTTPS API server: credentials, headers,
// bodies both ways, gzip, and what the upstream actually saw.
import { createHash } from 'node:crypto';
import t from 'tap';
import { request } from 'undici';
import { expectedBytesSha256 } from '../../examples/api-server/index.js';
import { ADMIN_TOKEN, startTestCluster } from '../helpers/cluster.js';
import { fetchText } from '../helpers/http.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';

void t.test('client certificate from kubeconfig', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '--port', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.match(proxy.stdout(), /^Starting to serve on 127\.0\.0\.1:\d+\n$/, 'kubectl start line, real port');

  const reply = await fetchText(`${proxy.url}/api/v1/namespaces/default/pods`, { headers: { 'x-custom': 'kept' } });
  t.equal(reply.status, 200);
  const list = JSON.parse(reply.body) as { kind: string; items: unknown[] };
  t.equal(list.kind, 'PodList');
  t.ok(list.items.length > 0);

  const seen = cluster.api.requests.at(-1)!;
  t.equal(seen.authKind, 'certificate', 'upstream authenticated the client certificate');
  t.equal(seen.headers.host, `127.0.0.1:${cluster.api.port}`, 'Host rewritten to the API server');
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For appended');
  t.equal(seen.headers['x-custom'], 'kept');
  t.match(seen.headers['user-agent'], /^undici|node/, "the client's User-Agent kept");
  t.equal(seen.headers.authorization, undefined, 'no Authorization invented');
  t.equal(seen.alpn, 'http/1.1');
});

void t.test('bearer token, the client Authorization wins, and --override-client-auth', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'client-token': 'someone-else' } });
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const whoami = async (p: { url: string }, headers: Record<string, string> = {}) =>
    JSON.parse((await fetchText(`${p.url}/test/echo`, { headers })).body) as { user: string; headers: Record<string, string> };

  const ours = await whoami(proxy, { 'user-agent': '' });
  t.equal(ours.user, 'token-admin');
  t.match(ours.headers['user-agent'], /^kube-auth-proxy\/v\d/, 'our User-Agent when the client sent none');
  t.equal((await whoami(proxy, { authorization: 'Bearer client-token' })).user, 'someone-else', "client's Authorization wins, as kubectl");

  const strict = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--override-client-auth'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => strict.stop());
  const overridden = await whoami(strict, { authorization: 'Bearer client-token', 'impersonate-user': 'mallory' });
  t.equal(overridden.user, 'token-admin', 'ours replaces the client identity');
  t.equal(overridden.headers['impersonate-user'], undefined, 'client impersonation stripped');
});

void t.test('tokenFile beats token and is re-read; a failed read keeps the last good token', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'file-token-1': 'file-user-1', 'file-token-2': 'file-user-2' } });
  const { writeFileSync, rmSync } = await import('node:fs');
  const tokenPath = `${cluster.dir}/token`;
  writeFileSync(tokenPath, 'file-token-1\n');
  const kubeconfig = cluster.kubeconfig({ token: ADMIN_TOKEN, tokenFile: 'token' });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const user = async () => (JSON.parse((await fetchText(`${proxy.url}/test/echo`)).body) as { user: string }).user;
  t.equal(await user(), 'file-user-1', 'the file value beats token');

  writeFileSync(tokenPath, 'file-token-2\n');
  t.equal(await pollUntil(user, 'file-user-2'), 'file-user-2', 'a rotated token is picked up');

  rmSync(tokenPath);
  const deadline = Date.now() + 10_000;
  while (!proxy.stderr().includes('Unable to rotate token') && Date.now() < deadline) await user();
  t.match(proxy.stderr(), /Unable to rotate token/, 'the failed read is logged');
  t.equal(await user(), 'file-user-2', 'the last good token is still used');
  t.notMatch(proxy.stderr(), /file-token-2/, 'the token never reaches the log');
});

/** Repeats `read` until it returns `want`, for at most 10 s (a bounded poll, not a sleep). */
async function pollUntil(read: () => Promise<string>, want: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  let value = await read();
  while (value !== want && Date.now() < deadline) value = await read();
  return value;
}

void t.test('bodies stream both ways with their bytes intact', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());

  const size = 64 * 1024 * 1024 + 7;
  const download = await request(`${proxy.url}/test/bytes?size=${size}`);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of download.body) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  t.equal(bytes, size);
  t.equal(hash.digest('hex'), expectedBytesSha256(size), 'download sha256');

  const upload = Buffer.alloc(8 * 1024 * 1024 + 3, 'k');
  const reply = await fetchText(`${proxy.url}/test/upload`, { method: 'POST', body: upload, headers: { 'content-type': 'application/octet-stream' } });
  t.same(JSON.parse(reply.body), { bytes: upload.length, sha256: createHash('sha256').update(upload).digest('hex') }, 'upload sha256');
});

void t.test('gzip passes through untouched when the client asks for it', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const gz = await request(`${proxy.url}/test/gzip`, { headers: { 'accept-encoding': 'gzip' } });
  t.equal(gz.headers['content-encoding'], 'gzip');
  const body = Buffer.from(await gz.body.arrayBuffer());
  t.same([body[0], body[1]], [0x1f, 0x8b], 'still gzip-compressed');
  const plain = await fetchText(`${proxy.url}/test/gzip`);
  t.equal(plain.headers['content-encoding'], undefined);
  t.doesNotThrow(() => JSON.parse(plain.body) as unknown);
});

void t.test('Audit-ID: ours goes upstream and back when the client sends none; the client\'s is kept; our own errors carry it too', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '--port', '0', '-v=6'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());

  const plain = await fetchText(`${proxy.url}/version`);
  const sent = cluster.api.requests.at(-1)!.headers['audit-id'];
  t.match(sent, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a new UUID was sent as Audit-ID');
  t.equal(plain.headers['audit-id'], sent, 'and came back to the client');
  await t.resolves(proxy.waitForStderr(new RegExp(`"url":"/version","status":200,.*"auditID":"${String(sent)}"`)), 'our log line names it');

  const own = await fetchText(`${proxy.url}/version`, { headers: { 'Audit-ID': 'client-chosen-id' } });
  t.equal(cluster.api.requests.at(-1)!.headers['audit-id'], 'client-chosen-id', "the client's ID is kept");
  t.equal(own.headers['audit-id'], 'client-chosen-id');
  t.equal(cluster.api.requests.at(-1)!.rawHeaders.filter((name) => name.toLowerCase() === 'audit-id').length, 1, 'sent once');

  await cluster.api.close();
  const failed = await fetchText(`${proxy.url}/version`);
  t.equal(failed.status, 503);
  t.match(failed.headers['audit-id'], /^[0-9a-f-]{36}$/, 'a proxy-made error carries the ID too');
});
