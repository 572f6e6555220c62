// One request context from the first byte to the last: a request refused by a filter, one served
// from --www, one that fails on credentials and one forwarded all carry an Audit-ID in their
// answer, and log a line with the same fields under that ID; an error line and its access line
// share the ID; the ID the client gets is the one that went upstream; with --api-prefix, logs and
// metrics name the forwarded path; every proxy-made failure names its code.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startTestCluster } from '../helpers/cluster.js';
import { EXEC_V1, writePlugin } from '../helpers/exec-plugin.js';
import { fetchText, type Reply } from '../helpers/http.js';
import { metricsUrl, sampleValue, scrape } from '../helpers/prometheus.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';

/** Sent by every request here, so the line's userAgent field has a value to show. */
const UA = { 'user-agent': 'request-context-test' };

/** Every line about a request has these, whoever answered it. */
const COMMON_FIELDS = ['method', 'url', 'status', 'completed', 'ms', 'auditID', 'verb', 'answeredBy', 'client', 'userAgent'];

type LogLine = Record<string, unknown>;

function lines(proxy: ProxyProcess): LogLine[] {
  return proxy
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The access line of the request that got `reply`, found by the Audit-ID in the answer. */
async function accessLine(proxy: ProxyProcess, reply: Reply): Promise<LogLine> {
  const id = reply.headers['audit-id'];
  if (typeof id !== 'string' || id === '') throw new Error(`no Audit-Id in the answer (status ${reply.status})`);
  await proxy.waitForStderr(new RegExp(`"auditID":"${id}"[^\\n]*"msg":"request completed"`));
  return lines(proxy).find((line) => line.auditID === id && line.msg === 'request completed')!;
}

function causeOf(reply: Reply): string | undefined {
  return (JSON.parse(reply.body) as { details?: { causes?: { reason: string }[] } }).details?.causes?.[0]?.reason;
}

void t.test('filter refusal, static file, credential failure and forwarded request: one Audit-ID each, the same log fields', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'plugin-token': 'plugin-user' } });
  const www = join(cluster.dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'hello.txt'), 'hello\n');
  const plugin = writePlugin(cluster.dir);
  plugin.fail(3, 'no session');
  const failing = cluster.kubeconfig({ exec: { apiVersion: EXEC_V1, command: plugin.command, interactiveMode: 'Never' } }, {}, 'failing-kubeconfig');
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '-v=6', '--www', www], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const broken = await startProxyProcess(['--kubeconfig', failing, '-p', '0', '-v=6'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => broken.stop());

  const refused = await fetchText(`${proxy.url}/api/v1/namespaces/d/pods/p/exec?command=sh`, { headers: UA });
  t.equal(refused.status, 403);
  t.equal(causeOf(refused), 'KAP_FILTER_REJECTED', 'the Status names the code');
  const refusedLine = await accessLine(proxy, refused);
  t.match(refusedLine, { status: 403, answeredBy: 'proxy', code: 'KAP_FILTER_REJECTED', verb: 'get', resource: 'pods/exec', namespace: 'd', name: 'p' });

  const file = await fetchText(`${proxy.url}/static/hello.txt`, { headers: UA });
  t.equal(file.body, 'hello\n');
  const fileLine = await accessLine(proxy, file);
  t.match(fileLine, { status: 200, answeredBy: 'proxy', url: '/static/hello.txt' });
  t.equal(fileLine.code, undefined, 'no error code for a file served');

  const forwarded = await fetchText(`${proxy.url}/api/v1/namespaces/default/pods`, { headers: UA });
  t.equal(forwarded.status, 200);
  const sent = cluster.api.requests.at(-1)!.headers['audit-id'];
  t.equal(forwarded.headers['audit-id'], sent, 'the client gets the ID that went upstream');
  const forwardedLine = await accessLine(proxy, forwarded);
  t.match(forwardedLine, { status: 200, answeredBy: 'upstream', verb: 'list', resource: 'pods', namespace: 'default' });
  t.ok(forwardedLine.phases !== undefined, 'a forwarded request logs its phases');

  const failed = await fetchText(`${broken.url}/version`, { headers: UA });
  t.equal(failed.status, 502);
  t.equal(causeOf(failed), 'KAP_CREDENTIALS_FAILED');
  const failedLine = await accessLine(broken, failed);
  t.match(failedLine, { status: 502, answeredBy: 'proxy', code: 'KAP_CREDENTIALS_FAILED', verb: 'get' });
  const errorLine = lines(broken).find((line) => line.msg === 'Error while proxying request');
  t.match(errorLine, { auditID: failed.headers['audit-id'], method: 'GET', url: '/version', code: 'KAP_CREDENTIALS_FAILED', status: 502 }, 'the error line shares the ID, method and path');

  for (const [what, line] of [['refused', refusedLine], ['static', fileLine], ['forwarded', forwardedLine], ['credential failure', failedLine]] as const) {
    t.same(COMMON_FIELDS.filter((field) => !(field in line)), [], `the ${what} line has every common field`);
  }
});

void t.test('--api-prefix: logs and metrics name the forwarded path, not the prefixed one', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '-v=6', '--api-prefix', '/custom/', '--metrics-address', '127.0.0.1:0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const metrics = await metricsUrl(proxy);
  const reply = await fetchText(`${proxy.url}/custom/api/v1/namespaces/default/pods`);
  t.equal(reply.status, 200);
  t.equal(cluster.api.requests.at(-1)?.url, '/api/v1/namespaces/default/pods', 'the prefix was stripped');
  t.match(await accessLine(proxy, reply), { url: '/custom/api/v1/namespaces/default/pods', verb: 'list', resource: 'pods', namespace: 'default' });
  t.equal(sampleValue(await scrape(metrics), 'kube_auth_proxy_requests_total', { verb: 'list', resource: 'pods', code: '200' }), 1);
});
