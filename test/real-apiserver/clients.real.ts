// Real clients through the built proxy to a genuine kube-apiserver 1.20 (admin client certificate
// in the proxy's kubeconfig): kubectl (namespace + ConfigMap create/get/list/watch/delete), curl,
// @kubernetes/client-node (list + watch), discovery byte-identical to a direct request, and an
// exec upgrade answered by the server itself (no kubelet: 404 for a pod that does not exist).
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import t from 'tap';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';
import { startRealApiServer } from './apiserver.js';

const run = promisify(execFile);
const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

/** GET through the proxy with node:http (no Accept-Encoding): status, headers and raw body. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.end();
  });
}

void t.test('real clients through the proxy to a real kube-apiserver 1.20', async (t) => {
  const server = await startRealApiServer(t);
  const env = isolatedEnv(server.dir);
  const kubeconfig = server.kubeconfig({ 'client-certificate': server.files.clientCert, 'client-key': server.files.clientKey }, 'proxy-kubeconfig');
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--allow-exec'], { env });
  t.teardown(() => proxy.stop());
  const kubectl = (...args: string[]) => run('kubectl', ['--server', proxy.url, '--request-timeout', '10s', ...args], { env, timeout: 20_000 });
  const ns = `real-${randomBytes(4).toString('hex')}`;

  await t.test('curl', async (t) => {
    const version = await run('curl', ['-sS', '--fail', '--max-time', '10', `${proxy.url}/version`], { env });
    t.match(JSON.parse(version.stdout), { major: '1', minor: '20', gitVersion: 'v1.20.2' }, 'the real server answered');
    const list = await run('curl', ['-sS', '--fail', '--max-time', '10', `${proxy.url}/api/v1/namespaces`], { env });
    const names = (JSON.parse(list.stdout) as { kind: string; items: { metadata: { name: string } }[] }).items.map((item) => item.metadata.name);
    t.ok(names.includes('kube-system') && names.includes('default'), 'NamespaceList with the built-in namespaces');
    const created = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', '-X', 'POST', '-H', 'Content-Type: application/json',
      '--data', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${ns}-curl` } }), `${proxy.url}/api/v1/namespaces`], { env });
    t.equal(created.stdout, '201', 'POST creates a namespace');
  });

  await t.test('kubectl: namespace and ConfigMap create, get, list, watch while a second client writes, delete', async (t) => {
    await kubectl('create', 'namespace', ns);
    t.match((await kubectl('get', 'namespace', ns, '-o', 'jsonpath={.status.phase}')).stdout, 'Active');
    await kubectl('-n', ns, 'create', 'configmap', 'first', '--from-literal=k=v1');
    const got = JSON.parse((await kubectl('-n', ns, 'get', 'configmap', 'first', '-o', 'json')).stdout) as k8s.V1ConfigMap;
    t.same(got.data, { k: 'v1' });
    t.equal((await kubectl('-n', ns, 'get', 'configmaps', '-o', 'name')).stdout, 'configmap/first\n', 'list');

    // The watch: events arrive while a second client (curl, a separate connection) writes.
    const watch = spawn('kubectl', ['--server', proxy.url, '-n', ns, 'get', 'configmaps', '--watch', '--output-watch-events'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => {
      if (watch.exitCode === null && watch.signalCode === null) watch.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    watch.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    watch.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const seen = (pattern: RegExp, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(out)) return resolve();
        const timer = setTimeout(() => {
          watch.stdout.off('data', check);
          reject(new Error(`kubectl watch did not print ${pattern} within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        const check = () => {
          if (!pattern.test(out)) return;
          clearTimeout(timer);
          watch.stdout.off('data', check);
          resolve();
        };
        watch.stdout.on('data', check);
      });
    await seen(/^ADDED\s+first\s/m);
    const curl = (method: string, path: string, body?: unknown, type = 'application/json') =>
      run('curl', ['-sS', '--fail', '--max-time', '10', '-X', method, '-H', `Content-Type: ${type}`, ...(body === undefined ? [] : ['--data', JSON.stringify(body)]), `${proxy.url}${path}`], { env });
    await curl('POST', `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'second' }, data: { k: 'v2' } });
    await seen(/^ADDED\s+second\s/m);
    await curl('PATCH', `/api/v1/namespaces/${ns}/configmaps/second`, { data: { k: 'v3' } }, 'application/merge-patch+json');
    await seen(/^MODIFIED\s+second\s/m);
    await curl('DELETE', `/api/v1/namespaces/${ns}/configmaps/second`);
    await seen(/^DELETED\s+second\s/m);
    watch.kill('SIGTERM');

    await kubectl('-n', ns, 'delete', 'configmap', 'first');
    t.equal((await kubectl('-n', ns, 'get', 'configmaps', '-o', 'name')).stdout, '', 'deleted');
    await kubectl('delete', 'namespace', ns, '--wait=false');
    // No controller-manager runs, so the namespace stays Terminating (it is never removed).
    t.equal((await kubectl('get', 'namespace', ns, '-o', 'jsonpath={.status.phase}')).stdout, 'Terminating');
  });

  await t.test('@kubernetes/client-node list and watch', async (t) => {
    const nodeNs = `${ns}-client-node`;
    await kubectl('create', 'namespace', nodeNs);
    const path = join(server.dir, 'client-node.yaml');
    writeFileSync(path, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'proxy',
      // client-node refuses plain http unless told to skip TLS verification (there is no TLS to verify).
      clusters: [{ name: 'proxy', cluster: { server: proxy.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'nobody', user: {} }],
      contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'nobody' } }],
    }));
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(path);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const namespaces = await core.listNamespace();
    t.ok(namespaces.items.some((item) => item.metadata?.name === nodeNs), 'listNamespace sees the new namespace');
    await core.createNamespacedConfigMap({ namespace: nodeNs, body: { metadata: { name: 'listed' }, data: { a: 'b' } } });
    const list = await core.listNamespacedConfigMap({ namespace: nodeNs });
    t.same(list.items.map((item) => item.metadata?.name), ['listed']);

    const watch = new k8s.Watch(kc);
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watch saw only ${events.join(', ')} within 15 s`)), 15_000);
      void watch
        .watch(`/api/v1/namespaces/${nodeNs}/configmaps`, { resourceVersion: list.metadata?.resourceVersion }, (type, cm: k8s.V1ConfigMap) => {
          events.push(`${type} ${cm.metadata?.name}`);
          if (type === 'DELETED' && cm.metadata?.name === 'watched') {
            clearTimeout(timer);
            resolve();
          }
        }, (err: unknown) => {
          if (err !== null && err !== undefined) reject(err instanceof Error ? err : new Error('watch failed'));
        })
        .then(async (request: { abort(): void }) => {
          t.teardown(() => request.abort());
          // A second client writes: kubectl, through the same proxy.
          await kubectl('-n', nodeNs, 'create', 'configmap', 'watched', '--from-literal=x=1');
          await kubectl('-n', nodeNs, 'delete', 'configmap', 'watched');
        })
        .catch(reject);
    });
    await done;
    t.same(events, ['ADDED watched', 'DELETED watched'], 'the watch delivered the second client\'s writes in order');
  });

  await t.test('discovery through the proxy is byte-identical to direct', async (t) => {
    for (const path of ['/api', '/apis', '/openapi/v2', '/version']) {
      const direct = await server.direct(path);
      const proxied = await get(`${proxy.url}${path}`);
      t.equal(proxied.status, 200, path);
      t.equal(proxied.headers['content-type'], direct.headers['content-type'], `${path} content-type`);
      t.ok(direct.body.length > 0, `${path}: ${direct.body.length} bytes`);
      t.equal(sha256(proxied.body), sha256(direct.body), `${path} body sha256`);
    }
  });

  await t.test('the upgrade path is answered by the real server: exec on a missing pod gets its 404 Status', async (t) => {
    const path = '/api/v1/namespaces/default/pods/no-such-pod/exec?command=true&stdout=true';
    const upgrades = {
      'SPDY/3.1': { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' },
      websocket: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': 'v4.channel.k8s.io',
      },
    };
    for (const [protocol, headers] of Object.entries(upgrades)) {
      const reply = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
        // A connection of its own, as upgrade clients use (see the keep-alive test below).
        const req = httpRequest(`${proxy.url}${path}`, { headers, agent: false, timeout: 10_000 }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          reject(new Error(`unexpected upgrade: ${res.statusCode}`));
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('exec upgrade: timeout')));
        req.end();
      });
      t.equal(reply.status, 404, `${protocol}: 404`);
      t.same(JSON.parse(reply.body), {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
        message: 'pods "no-such-pod" not found', reason: 'NotFound', details: { name: 'no-such-pod', kind: 'pods' }, code: 404,
      }, `${protocol}: the server's Status`);
      t.type(reply.headers['audit-id'], 'string');
      const event = await server.waitForAudit((e) => e.auditID === reply.headers['audit-id'] && e.stage === 'ResponseComplete');
      t.match(event, { requestURI: path, responseStatus: { code: 404 } }, `${protocol}: the server itself answered (its audit log has our Audit-ID)`);
    }

    // kubectl exec looks the pod up first (a plain GET), so this shows the message users get.
    const viaKubectl = await kubectl('-n', 'default', 'exec', 'no-such-pod', '--', 'true').then(
      () => ({ stderr: 'exited 0' }),
      (err: { stderr?: string }) => ({ stderr: err.stderr ?? '' }),
    );
    t.match(viaKubectl.stderr, /pods "no-such-pod" not found/, 'kubectl exec reports the server\'s NotFound');
  });

  await t.test('a refused upgrade tells the client that its connection closes (Connection: close), then closes it', async (t) => {
    const path = '/api/v1/namespaces/default/pods/no-such-pod/exec?command=true&stdout=true';
    const replies = await new Promise<string>((resolve, reject) => {
      const socket = connect(proxy.port, '127.0.0.1');
      let text = '';
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(text);
      }, 5_000);
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('"code": 404') && !text.includes('GET /version sent')) {
          text += '\n(GET /version sent)\n';
          socket.write('GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        }
        if (/"gitVersion"/.test(text)) {
          clearTimeout(timer);
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
      socket.on('error', reject);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n`);
    });
    t.match(replies, /^HTTP\/1\.1 404 /, 'the refused upgrade');
    t.match(replies, /\r\nConnection: close\r\n/, 'announced, so a keep-alive client opens a new connection');
    t.notMatch(replies, /"gitVersion"/, 'never reused for another request');
  });
});

