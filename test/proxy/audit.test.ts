// The audit log end to end: the built command, the example API server, real clients. Events in
// kube-apiserver's audit.k8s.io/v1 format with the same Audit-ID the client and the API server
// saw; the proxy's own refusals audited with their reason; long-running requests with
// ResponseStarted; bodies by policy level, capped and redacted; and every request that reached
// the proxy ends with exactly one final event, client aborts and a SIGTERM mid-flight included.
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { fetchText } from '../helpers/http.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { waitFor, withTimeout } from '../helpers/waiting.js';

interface Event {
  kind: string;
  apiVersion: string;
  level: string;
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username: string; groups?: string[] };
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: Record<string, string>;
  responseStatus?: { code: number; message?: string; reason?: string; status?: string };
  requestObject?: Record<string, unknown>;
  responseObject?: Record<string, unknown>;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

const FINAL = new Set(['ResponseComplete', 'Panic']);

async function start(t: Test, ...flags: string[]): Promise<{ cluster: TestCluster; proxy: ProxyProcess; log: string }> {
  const cluster = await startTestCluster(t);
  const log = join(cluster.dir, 'audit', 'audit.log');
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--audit-log-path', log, ...flags.map((f) => f.replace('$DIR', cluster.dir))], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  return { cluster, proxy, log };
}

function readEvents(log: string): Event[] {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Event);
}

function byId(events: readonly Event[], auditID: string): Event[] {
  return events.filter((event) => event.auditID === auditID);
}

void t.test('Metadata for everything by default: the same Audit-ID as the client and the API server, the proxy\'s refusals too', async (t) => {
  const { cluster, proxy, log } = await start(t);
  const list = await fetchText(`${proxy.url}/api/v1/namespaces/default/pods?limit=5`, { headers: { 'user-agent': 'audit-test/1.0' } });
  const listId = String(list.headers['audit-id']);
  const refused = await fetchText(`${proxy.url}/api/v1/namespaces/default/pods/web-0/exec?command=ls`);
  const refusedId = String(refused.headers['audit-id']);
  const missing = await fetchText(`${proxy.url}/api/v1/namespaces/default/pods/nope`);
  const missingId = String(missing.headers['audit-id']);
  const version = await fetchText(`${proxy.url}/version`, { headers: { 'audit-id': 'client-chosen-id-1' } });
  t.equal(version.headers['audit-id'], 'client-chosen-id-1', "the client's own Audit-ID is kept");
  t.equal(await proxy.stop('SIGTERM', 10_000), 0);

  const events = readEvents(log);
  const [received, complete] = byId(events, listId);
  t.match(received, { kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', stage: 'RequestReceived', verb: 'list', requestURI: '/api/v1/namespaces/default/pods?limit=5' });
  t.same(received?.objectRef, { resource: 'pods', namespace: 'default', apiVersion: 'v1' });
  t.same(received?.user, { username: 'kube-admin', groups: ['system:masters', 'system:authenticated'] }, 'the user the client certificate names, in system:authenticated as the API server adds');
  t.same(received?.sourceIPs, ['127.0.0.1']);
  t.equal(received?.userAgent, 'audit-test/1.0');
  t.notOk(received?.responseStatus, 'RequestReceived carries no status');
  t.match(complete, { stage: 'ResponseComplete', responseStatus: { code: 200 }, annotations: { 'kube-auth-proxy/answered-by': 'upstream', 'kube-auth-proxy/user-source': 'client-certificate' } });
  t.match(JSON.parse(complete?.annotations?.['kube-auth-proxy/timeline'] ?? '{}'), { total: Number, server: Number }, 'the upstream timeline as an annotation');
  t.notOk(complete?.requestObject ?? complete?.responseObject, 'no bodies at Metadata');
  t.match(complete?.stageTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime, as the API server writes it');
  t.ok(complete!.stageTimestamp >= complete!.requestReceivedTimestamp, 'stage after receipt');
  const upstreamSaw = cluster.api.requests.find((seen) => seen.url === '/api/v1/namespaces/default/pods?limit=5');
  t.equal(upstreamSaw?.headers['audit-id'], listId, 'the API server got the same Audit-ID, so its own event joins ours');

  const refusal = byId(events, refusedId).find((event) => FINAL.has(event.stage));
  t.match(refusal, {
    verb: 'get',
    objectRef: { resource: 'pods', subresource: 'exec', name: 'web-0' },
    responseStatus: { code: 403, status: 'Failure', reason: 'Forbidden', message: /--reject-paths/ },
    annotations: { 'kube-auth-proxy/answered-by': 'proxy', 'kube-auth-proxy/code': 'KAP_FILTER_REJECTED' },
  }, 'a filter refusal is audited with its reason');
  t.match(byId(events, missingId).find((event) => FINAL.has(event.stage))?.responseStatus, { code: 404, reason: 'NotFound', message: /not found/ }, "the API server's Status message and reason on an error");
  t.match(byId(events, 'client-chosen-id-1'), [{ stage: 'RequestReceived', verb: 'get', requestURI: '/version' }, { stage: 'ResponseComplete' }], 'non-resource requests: the lower-case method');
  t.notOk(byId(events, 'client-chosen-id-1')[0]?.objectRef, 'and no objectRef');
});

void t.test('long-running requests get ResponseStarted; upgrades too; a policy decides levels and bodies, capped and redacted', async (t) => {
  const POLICY = [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'rules:',
      '  - level: None',
      '    nonResourceURLs: ["/version"]',
      '  - level: Request',
      '    resources: [{ group: "", resources: ["secrets"] }]',
      '  - level: RequestResponse',
      '    resources: [{ group: "", resources: ["pods"] }]',
      '  - level: Metadata',
      '',
    ].join('\n');
  const cluster = await startTestCluster(t);
  const policy = join(cluster.dir, 'policy.yaml');
  writeFileSync(policy, POLICY);
  const log = join(cluster.dir, 'audit.log');
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--allow-exec', '--audit-log-path', log, '--audit-policy-file', policy, '--audit-body-limit', '2Ki'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());

  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'audited', namespace: 'default', managedFields: [{ manager: 'x' }] }, spec: { containers: [{ name: 'c', image: 'pause' }] } };
  const created = await fetchText(`${proxy.url}/api/v1/namespaces/default/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod) });
  t.equal(created.status, 201);
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: 'aHVudGVyMg==' }, stringData: { token: 'plain-token' } };
  const secretReply = await fetchText(`${proxy.url}/api/v1/namespaces/default/secrets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(secret) });
  const big = await fetchText(`${proxy.url}/api/v1/namespaces/default/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...pod, metadata: { name: 'big', namespace: 'default' }, padding: 'x'.repeat(5000) }) });
  await fetchText(`${proxy.url}/version`);

  // A watch: ResponseStarted when its headers go out, ResponseComplete when the client leaves.
  const watchId = 'watch-audit-1';
  const watch = httpRequest(`${proxy.url}/api/v1/namespaces/default/pods?watch=1`, { headers: { 'audit-id': watchId } });
  const headers = withTimeout(new Promise<void>((resolve) => watch.once('response', (res) => (res.resume(), resolve()))), 10_000, 'watch headers');
  watch.on('error', () => undefined);
  watch.end();
  await headers;
  watch.destroy();

  // An exec over WebSocket: 101, then a session.
  const { connect } = await import('node:net');
  const socket = connect(proxy.port, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write(['GET /api/v1/namespaces/default/pods/web-0/exec?command=date&stdout=true HTTP/1.1', `Host: localhost:${proxy.port}`, 'Audit-ID: exec-audit-1', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol: v5.channel.k8s.io', '', ''].join('\r\n'));
  await waitFor(() => text.includes('\r\n\r\n'), 10_000, 'the 101');
  socket.destroy();
  await waitFor(() => readFileSync(log, 'utf8').includes('"auditID":"exec-audit-1","stage":"ResponseComplete"'), 10_000, 'the exec session to be audited as complete');
  t.equal(await proxy.stop('SIGTERM', 10_000), 0);

  const events = readEvents(log);
  const podEvents = byId(events, String(created.headers['audit-id']));
  const podFinal = podEvents.find((event) => event.stage === 'ResponseComplete');
  t.equal(podFinal?.level, 'RequestResponse');
  t.match(podFinal?.requestObject, { kind: 'Pod', metadata: { name: 'audited' } }, 'the request body at RequestResponse');
  t.equal(podFinal?.objectRef?.name, 'audited', "a create's objectRef names the object from its body, as kube-apiserver does");
  t.notOk(podEvents[0]?.objectRef?.name, 'not yet at RequestReceived (the body is not read by then)');
  t.match(podFinal?.responseObject, { kind: 'Pod', metadata: { name: 'audited' } }, 'and the response body');
  t.same((podFinal?.requestObject?.metadata as Record<string, unknown> | undefined)?.managedFields, pod.metadata.managedFields, 'managedFields kept unless omitManagedFields');
  const secretFinal = byId(events, String(secretReply.headers['audit-id'])).find((event) => event.stage === 'ResponseComplete');
  t.equal(secretFinal?.level, 'Request');
  t.match(secretFinal?.requestObject, { kind: 'Secret', data: { password: '<redacted>' }, stringData: { token: '<redacted>' } }, 'Secret values redacted');
  t.notOk(secretFinal?.responseObject, 'no response body at Request');
  t.notMatch(readFileSync(log, 'utf8'), /aHVudGVyMg==|plain-token/, 'the secret values appear nowhere in the log');
  const bigFinal = byId(events, String(big.headers['audit-id'])).find((event) => event.stage === 'ResponseComplete');
  t.notOk(bigFinal?.requestObject, 'a body over --audit-body-limit is not written');
  t.match(bigFinal?.annotations?.['kube-auth-proxy/request-object'], /^truncated: \d+ bytes, over the 2048-byte cap/);
  t.notOk(events.some((event) => event.requestURI === '/version'), 'level None: no event at all');

  t.match(byId(events, watchId), [
    { stage: 'RequestReceived', verb: 'watch' },
    { stage: 'ResponseStarted', responseStatus: { code: 200 } },
    { stage: 'ResponseComplete', responseStatus: { code: 200 }, annotations: { 'kube-auth-proxy/ended-by': 'client' } },
  ], 'a watch: received, started, complete when the client left');
  t.notOk(byId(events, watchId).at(-1)?.responseObject, 'no responseObject for a stream');
  t.match(byId(events, 'exec-audit-1'), [
    // A WebSocket exec is a GET: verb get, as kube-apiserver names it (RBAC also asks for create on pods/exec).
    { stage: 'RequestReceived', verb: 'get', objectRef: { subresource: 'exec' } },
    { stage: 'ResponseStarted', responseStatus: { code: 101 } },
    { stage: 'ResponseComplete', responseStatus: { code: 101 } },
  ], 'an exec upgrade: started at the 101, complete when the session ends');
});

void t.test('nothing lost: concurrent requests, client aborts and a SIGTERM mid-flight, exactly one final event each', async (t) => {
  const { proxy, log } = await start(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  t.teardown(() => agent.destroy());
  const receivedInLog = (id: string) => readFileSync(log, 'utf8').includes(`"auditID":"${id}","stage":"RequestReceived"`);
  type Kind = 'list' | 'refused' | 'watch-abort' | 'hang-abort' | 'watch-open' | 'hang-open';
  const PATHS: Record<Kind, string> = {
    list: '/api/v1/namespaces/default/pods',
    refused: '/api/v1/namespaces/default/pods/web-0/exec',
    'watch-abort': '/api/v1/namespaces/default/pods?watch=1',
    'watch-open': '/api/v1/namespaces/default/pods?watch=1',
    'hang-abort': '/test/hang',
    'hang-open': '/test/hang',
  };
  /** Resolves once the request is where the test wants it: answered, aborted by the client, or open and received. */
  const request = (id: string, kind: Kind) =>
    new Promise<{ ended: Promise<void> }>((resolve) => {
      let settle!: () => void;
      const ended = new Promise<void>((done) => (settle = done));
      const req = httpRequest(`${proxy.url}${PATHS[kind]}`, { agent, headers: { 'audit-id': id } }, (res) => {
        res.on('data', () => {
          if (kind === 'watch-abort') req.destroy();
          if (kind === 'watch-open') resolve({ ended });
        });
        res.once('close', settle);
        if (kind === 'list' || kind === 'refused') res.once('end', () => resolve({ ended }));
      });
      req.once('close', () => {
        settle();
        if (kind === 'watch-abort') resolve({ ended });
      });
      req.on('error', () => undefined);
      req.end();
      if (kind === 'hang-abort' || kind === 'hang-open') {
        void waitFor(() => receivedInLog(id), 10_000, `${id} in the log`).then(() => {
          if (kind === 'hang-abort') req.destroy();
          resolve({ ended });
        });
      }
    });
  const kinds: Kind[] = ['list', 'refused', 'watch-abort', 'hang-abort'];
  const first = await withTimeout(Promise.all(Array.from({ length: 200 }, (_, i) => request(`loss-${i}`, kinds[i % 4]!))), 30_000, 'the first 200 requests');
  await withTimeout(Promise.all(first.map((r) => r.ended)), 10_000, 'the first 200 to end');
  // In flight at the stop: open watches and hanging requests, each received by the proxy.
  const open = await withTimeout(Promise.all(Array.from({ length: 40 }, (_, i) => request(`open-${i}`, i % 2 === 0 ? 'watch-open' : 'hang-open'))), 30_000, 'the open requests');
  t.equal(await proxy.stop('SIGTERM', 15_000), 0, 'the proxy stops cleanly with requests in flight');
  await withTimeout(Promise.all(open.map((r) => r.ended)), 10_000, 'the open requests to end');

  const events = readEvents(log);
  const received = events.filter((event) => event.stage === 'RequestReceived').map((event) => event.auditID);
  const finals = events.filter((event) => FINAL.has(event.stage)).map((event) => event.auditID);
  t.equal(received.length, 240, 'all 240 requests received');
  t.equal(new Set(received).size, received.length, 'once each');
  t.same([...finals].sort(), [...received].sort(), 'exactly one final event per received request');
  const byKind = (prefix: string) => events.filter((event) => FINAL.has(event.stage) && event.auditID.startsWith(prefix));
  t.equal(byKind('open-').length, 40, 'the 40 in flight at the stop have theirs');
  const aborted = events.filter((event) => FINAL.has(event.stage) && event.annotations?.['kube-auth-proxy/ended-by'] === 'client').length;
  t.ok(aborted >= 100, `client aborts are marked (${aborted})`);
  t.comment(`sent 240, received ${received.length}, final ${finals.length}, ended by the client ${aborted}`);
});

void t.test('the webhook: a receiver that fails, then recovers, gets every event exactly once, across a restart', async (t) => {
  const cluster = await startTestCluster(t);
  const received: Event[] = [];
  let failuresLeft = 3;
  const receiver = createHttpsServer({ cert: cluster.pki.serverCert, key: cluster.pki.serverKey }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (failuresLeft > 0) {
        failuresLeft--;
        return void res.writeHead(503).end();
      }
      const list = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { kind: string; items: Event[] };
      if (list.kind === 'EventList') received.push(...list.items);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const webhookConfig = cluster.kubeconfig({ token: 'webhook-token' }, { server: `https://127.0.0.1:${(receiver.address() as { port: number }).port}` }, 'webhook-kubeconfig');
  const env = isolatedEnv(cluster.dir, { XDG_STATE_HOME: join(cluster.dir, 'state') });
  const args = ['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--audit-webhook-config-file', webhookConfig, '--audit-webhook-batch-max-wait', '100ms', '--audit-webhook-initial-backoff', '100ms'];

  const proxy = await startProxyProcess(args, { env });
  const ids = Array.from({ length: 60 }, (_, i) => `webhook-${i}`);
  const send = (some: readonly string[]) => Promise.all(some.map((id) => fetchText(`${proxy.url}/api/v1/namespaces/default/pods`, { headers: { 'audit-id': id } })));
  await send(ids.slice(0, 40));
  await waitFor(() => received.length > 0, 15_000, 'delivery once the receiver recovers from its three 503s');
  // Down again for the rest and the stop: what is not delivered by then goes to the spool.
  failuresLeft = Number.POSITIVE_INFINITY;
  await send(ids.slice(40));
  t.equal(await proxy.stop('SIGTERM', 20_000), 0, 'the proxy stops while the receiver fails');
  const beforeRestart = received.length;
  failuresLeft = 0;
  const again = await startProxyProcess(args, { env });
  t.teardown(() => again.stop());
  await waitFor(() => received.filter((event) => event.auditID.startsWith('webhook-')).length >= 120, 15_000, 'the spooled events after the restart');
  const final = received.filter((event) => event.auditID.startsWith('webhook-') && FINAL.has(event.stage)).map((event) => event.auditID);
  t.same([...final].sort(), [...ids].sort(), 'exactly one final event per request, across failures and a restart');
  t.equal(received.filter((event) => event.auditID.startsWith('webhook-')).length, 120, 'and one RequestReceived each, nothing twice');
  t.comment(`delivered before the stop ${beforeRestart}, after the restart ${received.length - beforeRestart}`);
});
