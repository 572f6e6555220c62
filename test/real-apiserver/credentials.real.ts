// Each credential kind a genuine kube-apiserver 1.20 can check, injected by the built proxy: the
// identity the server saw is read from its own audit log, found by the Audit-ID the proxy sent.
// Also: 401 for a bad token and for basic auth (removed from the server in 1.19), 403 from RBAC as
// the server's own Status, and the client's own Audit-ID adopted by the server.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { execCredential, EXEC_V1, writePlugin } from '../helpers/exec-plugin.js';
import { fetchText, type StatusBody } from '../helpers/http.js';
import { plant } from '../helpers/planted-secrets.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { ADMIN_USER, CERT_USER, NOPERM_USER, startRealApiServer } from './apiserver.js';

void t.test('credentials against a real kube-apiserver 1.20', async (t) => {
  const server = await startRealApiServer(t);
  const env = isolatedEnv(server.dir);

  const proxyFor = async (t: Test, user: Record<string, unknown>, name: string): Promise<ProxyProcess> => {
    const proxy = await startProxyProcess(['--kubeconfig', server.kubeconfig(user, name), '-p', '0'], { env });
    t.teardown(() => proxy.stop());
    return proxy;
  };

  /** GET through the proxy; the server's audit event for it, found by the Audit-ID we got back. */
  const seenAs = async (t: Test, proxy: ProxyProcess, path = '/api/v1/namespaces/kube-system') => {
    const reply = await fetchText(`${proxy.url}${path}`);
    const auditId = reply.headers['audit-id'];
    t.type(auditId, 'string', 'the reply carries an Audit-ID');
    // ResponseComplete normally; a failed authentication is logged at ResponseStarted.
    const event = await server.waitForAudit((e) => e.auditID === auditId && (e.stage === 'ResponseComplete' || e.responseStatus?.code === 401));
    return { reply, event };
  };

  const identity = (user: Record<string, unknown>, name: string, username: string, groups: string[]) =>
    t.test(name, async (t) => {
      const proxy = await proxyFor(t, user, name.replace(/\W+/g, '-'));
      const { reply, event } = await seenAs(t, proxy);
      t.equal(reply.status, 200, 'status 200');
      t.match(JSON.parse(reply.body), { kind: 'Namespace', metadata: { name: 'kube-system' } });
      t.equal(event.user.username, username, 'the server authenticated the injected credential');
      for (const group of groups) t.ok(event.user.groups?.includes(group), `in group ${group}`);
      t.equal(event.responseStatus?.code, 200);
    });

  await identity({ 'client-certificate': server.files.clientCert, 'client-key': server.files.clientKey }, 'client certificate', CERT_USER, ['system:masters']);
  await identity({ token: server.adminToken }, 'token', ADMIN_USER, ['system:masters', 'system:authenticated']);

  const tokenFile = join(server.dir, 'admin.token');
  writeFileSync(tokenFile, `${server.adminToken}\n`, { mode: 0o600 });
  await identity({ tokenFile }, 'tokenFile', ADMIN_USER, ['system:masters']);

  await t.test('exec plugin returning the token', async (t) => {
    const plugin = writePlugin(server.dir, 'token-plugin');
    plugin.answer(execCredential({ token: server.adminToken }));
    const proxy = await proxyFor(t, { exec: { apiVersion: EXEC_V1, command: plugin.command, interactiveMode: 'Never' } }, 'exec-kubeconfig');
    const { reply, event } = await seenAs(t, proxy);
    t.equal(reply.status, 200, 'status 200');
    t.equal(event.user.username, ADMIN_USER);
    t.ok(plugin.runs() >= 1, 'the plugin ran');
  });

  const rejected = async (t: Test, user: Record<string, unknown>, name: string, code: number) => {
    const proxy = await proxyFor(t, user, name);
    const { reply, event } = await seenAs(t, proxy, '/api/v1/namespaces/default');
    t.equal(reply.status, code);
    t.match(reply.headers['content-type'], /^application\/json/);
    t.equal(event.responseStatus?.code, code, 'the audit log shows the server itself answered so');
    return JSON.parse(reply.body) as StatusBody & { details?: unknown };
  };

  await t.test('a bad token: the server\'s 401 Status', async (t) => {
    const bad = `bad-${randomUUID()}`;
    plant(bad);
    const status = await rejected(t, { token: bad }, 'bad-token', 401);
    t.same(status, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  });

  await t.test('basic auth: 1.20 has no --basic-auth-file (removed in 1.19), so the server ignores it: anonymous, 403', async (t) => {
    const password = `pw-${randomUUID()}`;
    plant(password);
    const status = await rejected(t, { username: 'admin', password }, 'basic-auth', 403);
    t.match(status, { kind: 'Status', reason: 'Forbidden', code: 403, message: /User "system:anonymous" cannot get resource "namespaces"/ });
  });

  await t.test('the no-permission token: RBAC\'s 403 as the server\'s own Status, byte for byte', async (t) => {
    const status = await rejected(t, { token: server.nopermToken }, 'noperm', 403);
    t.match(status, { kind: 'Status', reason: 'Forbidden', code: 403, message: new RegExp(`User "${NOPERM_USER}" cannot get resource "namespaces"`) });
    const direct = await server.direct('/api/v1/namespaces/default', { authorization: `Bearer ${server.nopermToken}` });
    t.equal(direct.status, 403);
    t.equal(JSON.stringify(status), JSON.stringify(JSON.parse(direct.body.toString('utf8'))), 'the same Status as asked directly');
  });

  await t.test('Audit-ID: the client\'s own is passed on and adopted by the server', async (t) => {
    const proxy = await proxyFor(t, { token: server.adminToken }, 'audit-id');
    const own = randomUUID();
    const reply = await fetchText(`${proxy.url}/api/v1/namespaces?limit=1`, { headers: { 'Audit-ID': own } });
    t.equal(reply.status, 200);
    t.equal(reply.headers['audit-id'], own, 'the server echoed it');
    const event = await server.waitForAudit((e) => e.auditID === own && e.stage === 'ResponseComplete');
    t.match(event, { verb: 'list', requestURI: '/api/v1/namespaces?limit=1', user: { username: ADMIN_USER }, responseStatus: { code: 200 } });
  });
});

