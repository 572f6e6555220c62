// The suite-wide secret sweep (test/helpers/planted-secrets.ts) itself: every proxy a test runs
// has its whole output checked for planted tokens, passwords and key lines when it exits.
import t from 'tap';
import { startTestCluster } from '../helpers/cluster.js';
import { EXEC_V1, writePlugin } from '../helpers/exec-plugin.js';
import { fetchText } from '../helpers/http.js';
import { leakedSecrets, plant, plantPrivateKey } from '../helpers/planted-secrets.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';

void t.test('planted values are found in text, reported by their first characters only', async (t) => {
  plant('sweep-unit-secret-1', 'short');
  plantPrivateKey('-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIDsweepunitkeylinethatislongenoughtocount0123456789\n-----END EC PRIVATE KEY-----\n');
  t.same(leakedSecrets('nothing here'), []);
  t.same(leakedSecrets('a line with sweep-unit-secret-1 in it'), ['swee…']);
  t.same(leakedSecrets('MHcCAQEEIDsweepunitkeylinethatislongenoughtocount0123456789'), ['MHcC…']);
  t.same(leakedSecrets('short'), [], 'values under 8 characters are not planted');
});

void t.test('a proxy whose output carries a planted secret fails the test that stops it', async (t) => {
  const cluster = await startTestCluster(t);
  const plugin = writePlugin(cluster.dir);
  // A plugin's stderr reaches ours by design (as in kubectl): a canary planted there must be caught.
  plant('sweep-canary-7f3a9c');
  plugin.fail(1, 'sweep-canary-7f3a9c');
  const kubeconfig = cluster.kubeconfig({ exec: { apiVersion: EXEC_V1, command: plugin.command, interactiveMode: 'Never' } });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  await fetchText(`${proxy.url}/version`);
  await proxy.waitForStderr(/sweep-canary/);
  await t.rejects(proxy.stop(), { message: "the proxy's output contains planted secrets: swee…" });
});
