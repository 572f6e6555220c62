// Real clients through the proxy: curl, kubectl (`--server http://127.0.0.1:PORT`) and
// @kubernetes/client-node, against the HTTPS example API server that demands a client certificate.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import t from 'tap';
import { startTestCluster } from '../helpers/cluster.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';

const run = promisify(execFile);

void t.test('curl, kubectl and client-node', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const env = isolatedEnv(cluster.dir);

  void t.test('curl', async (t) => {
    const { stdout } = await run('curl', ['-sS', '--max-time', '10', `${proxy.url}/api/v1/namespaces/default/pods`], { env });
    t.match(JSON.parse(stdout), { kind: 'PodList' });
    const head = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', '--path-as-is', `${proxy.url}/api/v1/namespaces/d/pods/p/exec`], { env });
    t.equal(head.stdout, '403');
  });

  void t.test('kubectl', async (t) => {
    const kubectl = (...args: string[]) => run('kubectl', ['--server', proxy.url, '--request-timeout', '10s', ...args], { env, timeout: 20_000 });
    const raw = await kubectl('get', '--raw', '/api/v1/namespaces/default/pods');
    t.match(JSON.parse(raw.stdout), { kind: 'PodList' });
    const names = await kubectl('get', 'pods', '-n', 'default', '-o', 'name');
    t.match(names.stdout, /^pod\//m, 'kubectl get pods lists pods through discovery');
    const version = await kubectl('version', '-o', 'json');
    t.match(JSON.parse(version.stdout), { serverVersion: { major: String } });
  });

  void t.test('@kubernetes/client-node list and watch', async (t) => {
    const kubeconfigPath = join(cluster.dir, 'client-node.yaml');
    writeFileSync(kubeconfigPath, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'proxy',
      // client-node refuses plain http unless told to skip TLS verification (there is no TLS to verify).
      clusters: [{ name: 'proxy', cluster: { server: proxy.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'nobody', user: {} }],
      contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'nobody' } }],
    }));
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace: 'default' });
    t.ok(pods.items.length > 0, 'listNamespacedPod returns pods');

    const watch = new k8s.Watch(kc);
    const seen = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no watch event within 10 s')), 10_000);
      void watch
        .watch('/api/v1/namespaces/default/pods', {}, (type, pod: k8s.V1Pod) => {
          if (pod.metadata?.name === 'from-client-node') {
            clearTimeout(timer);
            resolve(type);
          }
        }, (err: unknown) => {
          if (err !== null && err !== undefined) reject(err instanceof Error ? err : new Error('watch failed'));
        })
        .then((request: { abort(): void }) => {
          cluster.api.createPod('default', 'from-client-node');
          t.teardown(() => request.abort());
        });
    });
    t.equal(await seen, 'ADDED', 'the watch delivered the new pod');
  });
});
