// --metrics-address: Prometheus text (parsed, not string-matched) with requests by verb,
// resource and code, phase histograms, bytes, streams, upgrades, connections and credential
// fetches; /healthz and /readyz on that listener only.
import t from 'tap';
import { metricsUrl, parseMetrics, sampleValue } from '../helpers/prometheus.js';
import { request } from 'undici';
import { startTestCluster } from '../helpers/cluster.js';
import { EXEC_V1, execCredential, writePlugin } from '../helpers/exec-plugin.js';
import { fetchText } from '../helpers/http.js';
import { isolatedEnv, runProxy, startProxyProcess } from '../helpers/proxy-process.js';

void t.test('requests, phases, bytes, open streams and connections, as Prometheus text', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--metrics-address', '127.0.0.1:0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const metrics = await metricsUrl(proxy);

  await fetchText(`${proxy.url}/api/v1/namespaces/default/pods`);
  await fetchText(`${proxy.url}/api/v1/namespaces/default/pods`);
  await fetchText(`${proxy.url}/api/v1/namespaces/default/pods/nope`);
  await fetchText(`${proxy.url}/version`);
  const watch = await request(`${proxy.url}/api/v1/namespaces/default/pods?watch=1`);
  t.equal(watch.statusCode, 200);

  const scrape = await fetchText(`${metrics}/metrics`);
  t.equal(scrape.status, 200);
  t.match(scrape.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const samples = parseMetrics(scrape.body);
  t.equal(sampleValue(samples, 'kube_auth_proxy_requests_total', { verb: 'list', resource: 'pods', code: '200' }), 2);
  t.equal(sampleValue(samples, 'kube_auth_proxy_requests_total', { verb: 'get', resource: 'pods', code: '404' }), 1);
  t.equal(sampleValue(samples, 'kube_auth_proxy_requests_total', { verb: 'get', resource: '', code: '200' }), 1, '/version: a non-resource get');
  t.equal(sampleValue(samples, 'kube_auth_proxy_request_phase_seconds_count', { phase: 'total' }), 4, 'the open watch is not counted yet');
  t.equal(sampleValue(samples, 'kube_auth_proxy_request_phase_seconds_count', { phase: 'tls' }), 1, 'one new connection, one handshake');
  t.ok(sampleValue(samples, 'kube_auth_proxy_request_phase_seconds_sum', { phase: 'server' })! > 0);
  t.ok(sampleValue(samples, 'kube_auth_proxy_response_bytes_total')! > 0);
  t.equal(sampleValue(samples, 'kube_auth_proxy_open_streams'), 1, 'the watch is open');
  t.ok(sampleValue(samples, 'kube_auth_proxy_upstream_connections', { pool: 'requests' })! >= 1);
  t.equal(sampleValue(samples, 'kube_auth_proxy_upstream_connections', { pool: 'streams' }), 1, 'the watch has a connection of its own');
  t.equal(sampleValue(samples, 'kube_auth_proxy_queued_requests', { pool: 'requests' }), 0);
  t.equal(sampleValue(samples, 'kube_auth_proxy_queued_requests', { pool: 'streams' }), 0);

  watch.body.destroy();
  const deadline = Date.now() + 10_000;
  let open: number | undefined = 1;
  while (open !== 0 && Date.now() < deadline) open = sampleValue(parseMetrics((await fetchText(`${metrics}/metrics`)).body), 'kube_auth_proxy_open_streams');
  t.equal(open, 0, 'the watch closed');

  t.equal((await fetchText(`${metrics}/healthz`)).body, 'ok\n');
  t.equal((await fetchText(`${metrics}/readyz`)).status, 200);
  t.equal((await fetchText(`${metrics}/elsewhere`)).status, 404);
  t.equal((await fetchText(`${proxy.url}/metrics`)).status, 404, 'the proxied listener forwards /metrics to the API server');
  t.equal(cluster.api.requests.at(-1)?.url, '/metrics');
});

void t.test('credential fetches are counted; a failing plugin makes /readyz answer 503 with its error', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'exec-token-1': 'exec-user' } });
  const plugin = writePlugin(cluster.dir);
  plugin.answer(execCredential({ token: 'exec-token-1' }));
  const kubeconfig = cluster.kubeconfig({ exec: { apiVersion: EXEC_V1, command: plugin.command, interactiveMode: 'Never' } });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--metrics-address', '[::1]:0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const metrics = await metricsUrl(proxy);
  await Promise.all([fetchText(`${proxy.url}/version`), fetchText(`${proxy.url}/version`), fetchText(`${proxy.url}/version`)]);
  const samples = parseMetrics((await fetchText(`${metrics}/metrics`)).body);
  t.equal(sampleValue(samples, 'kube_auth_proxy_credential_fetches_total', { result: 'success' }), 1, 'three requests, one plugin run');
  t.equal(plugin.runs(), 1);

  cluster.api.tokens.delete('exec-token-1');
  plugin.fail(4, 'sso session expired');
  t.equal((await fetchText(`${proxy.url}/version`)).status, 502);
  const after = parseMetrics((await fetchText(`${metrics}/metrics`)).body);
  t.equal(sampleValue(after, 'kube_auth_proxy_credential_fetches_total', { result: 'failure' }), 1);
  const ready = await fetchText(`${metrics}/readyz`);
  t.equal(ready.status, 503);
  t.match(ready.body, /^credentials: exec: executable .* failed with exit code 4: sso session expired\n$/);
});

void t.test('--metrics-address must be HOST:PORT', async (t) => {
  const cluster = await startTestCluster(t);
  const result = await runProxy(['--kubeconfig', cluster.certKubeconfig(), '--metrics-address', '9090'], { env: isolatedEnv(cluster.dir) });
  t.equal(result.code, 1);
  t.match(result.stderr, /^error: --metrics-address: "9090" is not HOST:PORT/m);
});
