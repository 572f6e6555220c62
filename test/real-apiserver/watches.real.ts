// A thousand watches through the proxy to a genuine kube-apiserver 1.20: all open, GET /version
// still answered while they are, one write seen by every watch, multiplexed over a few HTTP/2
// connections as kubectl's transport does, and all let go when the clients leave.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { fetchText } from '../helpers/http.js';
import { metricReaches, metricsUrl, sampleValue, scrape } from '../helpers/prometheus.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';
import { allSee, openWatches, watchClients } from '../helpers/watches.js';
import { startRealApiServer } from './apiserver.js';

const WATCHES = 1000;

void t.test(`${WATCHES} watches on one namespace, one write, every watch sees it`, async (t) => {
  const server = await startRealApiServer(t);
  const kubeconfig = server.kubeconfig({ 'client-certificate': server.files.clientCert, 'client-key': server.files.clientKey }, 'proxy-kubeconfig');
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--metrics-address', '127.0.0.1:0'], { env: isolatedEnv(server.dir) });
  t.teardown(() => proxy.stop());
  const metrics = await metricsUrl(proxy);
  const clients = watchClients();
  t.teardown(() => clients.destroy());

  const ns = `watches-${randomBytes(4).toString('hex')}`;
  const json = { 'content-type': 'application/json' };
  const created = await fetchText(`${proxy.url}/api/v1/namespaces`, { method: 'POST', headers: json, body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }) });
  t.equal(created.status, 201, 'namespace created');

  const watches = await openWatches(clients, `${proxy.url}/api/v1/namespaces/${ns}/configmaps?watch=1`, WATCHES, 120_000);
  t.equal(watches.length, WATCHES, `all ${WATCHES} watches open`);

  const versionMs: number[] = [];
  for (let i = 0; i < 10; i++) {
    const started = performance.now();
    t.equal((await fetchText(`${proxy.url}/version`)).status, 200, `GET /version answered with ${WATCHES} watches open`);
    versionMs.push(performance.now() - started);
  }
  t.comment(`GET /version with ${WATCHES} watches open: slowest of 10 ${Math.max(...versionMs).toFixed(1)} ms`);

  const samples = await scrape(metrics);
  t.equal(sampleValue(samples, 'kube_auth_proxy_open_streams'), WATCHES);
  const connections = sampleValue(samples, 'kube_auth_proxy_upstream_connections', { pool: 'streams' })!;
  // The first batch of 100 may open a connection each before the first is known to be h2; after
  // that, 100 streams share each connection.
  t.ok(connections <= 110, `${WATCHES} watches multiplexed over ${connections} HTTP/2 connections`);

  const writtenAt = performance.now();
  const configMap = await fetchText(`${proxy.url}/api/v1/namespaces/${ns}/configmaps`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'seen-by-all' }, data: { k: 'v' } }),
  });
  t.equal(configMap.status, 201, 'one write');
  await allSee(watches, '"seen-by-all"', 60_000);
  t.comment(`the event reached all ${WATCHES} watches ${(performance.now() - writtenAt).toFixed(0)} ms after the write was sent`);
  t.ok(watches.every((watch) => /"type":"ADDED"[^\n]*"seen-by-all"/.test(watch.text)), `every watch saw ADDED`);

  for (const watch of watches) watch.body.destroy();
  t.equal(await metricReaches(metrics, 'kube_auth_proxy_open_streams', {}, 0, 30_000), 0, 'every stream closed when its client left');
  t.equal((await fetchText(`${proxy.url}/version`)).status, 200, 'and the proxy still answers');
});
