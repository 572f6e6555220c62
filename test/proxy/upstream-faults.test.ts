// Faults of the API server under the proxy (issue 14, "Faults"): it dies mid-watch, mid-exec and
// mid-port-forward and comes back on the same port; it freezes (SIGSTOP: its kernel still accepts
// and ACKs, nothing answers); it answers slowly. For each: no crash, no hang, a Status naming the
// cause, /readyz telling the truth throughout, and requests that succeed afterwards.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { startApiServerProcess } from '../helpers/api-server-process.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { fetchText, firstStatus, type Reply, type StatusBody } from '../helpers/http.js';
import { kubectl } from '../helpers/kubectl.js';
import { echoThrough, startPortForward } from '../helpers/port-forward.js';
import { metricsUrl, sampleValue, scrape } from '../helpers/prometheus.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { waitFor, withTimeout } from '../helpers/waiting.js';
import { openWatch, watchClients, type OpenWatch } from '../helpers/watches.js';

const PODS = '/api/v1/namespaces/default/pods';

/** kubectl against the proxy only: an empty kubeconfig, so nothing of the machine's is read. */
function kubectlEnv(cluster: TestCluster): NodeJS.ProcessEnv {
  const emptyKubeconfig = join(cluster.dir, 'empty-kubeconfig');
  writeFileSync(emptyKubeconfig, '');
  return isolatedEnv(cluster.dir, { KUBECONFIG: emptyKubeconfig });
}

/** The Status body of a reply, which must be one. */
function statusOf(reply: Reply): StatusBody {
  return JSON.parse(reply.body) as StatusBody;
}

/** Asks /readyz until it answers `status` (it reuses a probe's answer for a second), within `timeoutMs`; returns the last reply. */
async function readyzBecomes(metrics: string, status: number, timeoutMs = 20_000): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await fetchText(`${metrics}/readyz`);
    if (reply.status === status || Date.now() > deadline) return reply;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Opens a watch of the default namespace's pods through the proxy; destroyed at teardown. */
async function watchPods(t: Test, proxy: ProxyProcess): Promise<OpenWatch> {
  const clients = watchClients();
  // destroy, not close: close would wait for a watch that only the proxy's stop ends.
  t.teardown(() => clients.destroy());
  return openWatch(clients, `${proxy.url}${PODS}?watch=1`);
}

/** Creates a pod through the proxy (the API server's own store), so that watches see an event. */
async function createPod(proxy: ProxyProcess, name: string): Promise<number> {
  const reply = await fetchText(`${proxy.url}${PODS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name } }) });
  return reply.status;
}

/** `kubectl exec -i web-0 -- cat` with its stdin kept open: a session that lasts until something ends it. */
function startCat(proxy: ProxyProcess, env: NodeJS.ProcessEnv) {
  const child: ChildProcessWithoutNullStreams = spawn('kubectl', ['--server', proxy.url, 'exec', '-i', 'web-0', '--', 'cat'], { env });
  const session = { stdout: '', stderr: '', exit: undefined as number | null | undefined, child };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (session.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (session.stderr += chunk));
  child.stdin.on('error', () => undefined);
  child.once('exit', (code) => (session.exit = code));
  return session;
}

void t.test('the API server dies mid-watch: the watch fails, requests get 503, /readyz says why, and all recovers on its return', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--metrics-address', '127.0.0.1:0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const metrics = await metricsUrl(proxy);
  // Several keep-alive connections in the pool, all to the server that is about to die.
  const warm = await Promise.all(Array.from({ length: 8 }, () => fetchText(`${proxy.url}${PODS}`)));
  t.same(warm.map((reply) => reply.status), Array(8).fill(200));
  const watch = await watchPods(t, proxy);
  let failed = false;
  watch.body.once('error', () => (failed = true));
  cluster.api.createPod('default', 'before-crash');
  await waitFor(() => watch.text.includes('before-crash'), 10_000, 'the event before the crash');
  t.equal((await fetchText(`${metrics}/readyz`)).status, 200, 'ready while the API server answers');
  const requestsSeen = cluster.api.requests.length;
  for (let i = 0; i < 20; i++) await fetchText(`${metrics}/readyz`);
  t.equal(cluster.api.requests.length, requestsSeen, '/readyz never sends the API server a request');

  await cluster.stopApiServer();
  await waitFor(() => watch.ended, 10_000, 'the watch ending');
  t.ok(failed, 'the client sees its stream fail (cut mid-body), not end as a finished watch would');
  await proxy.waitForStderr(/"code":"KAP_UPSTREAM_RESET".*"msg":"Response cut off: the connection to the API server broke"/);
  t.match(proxy.stderr(), /"verb":"watch".*"status":200,"code":"KAP_UPSTREAM_RESET"/, 'the cut watch is logged with its status and cause');

  const down = await fetchText(`${proxy.url}${PODS}`);
  t.equal(down.status, 503);
  t.equal(down.headers['audit-id'] !== undefined, true, 'the Status carries an Audit-Id');
  t.match(statusOf(down), { kind: 'Status', reason: 'ServiceUnavailable', message: `dial tcp 127.0.0.1:${cluster.api.port}: connect: connection refused (server ${cluster.api.url})` });
  const notReady = await readyzBecomes(metrics, 503);
  t.equal(notReady.status, 503, '/readyz: not ready while the API server refuses');
  t.equal(notReady.body, `API server: dial tcp 127.0.0.1:${cluster.api.port}: connect: connection refused (server ${cluster.api.url})\n`);
  t.equal((await fetchText(`${metrics}/healthz`)).status, 200, 'the process itself is fine');
  t.equal(sampleValue(await scrape(metrics), 'kube_auth_proxy_requests_total', { verb: 'list', resource: 'pods', code: '503' }), 1, 'the refusal is counted');

  await cluster.restartApiServer();
  t.equal((await readyzBecomes(metrics, 200)).status, 200, '/readyz: ready again once it answers');
  const after = await Promise.all(Array.from({ length: 16 }, () => fetchText(`${proxy.url}${PODS}`)));
  t.same(after.map((reply) => reply.status), Array(16).fill(200), 'no dead pooled connection is handed out: every request succeeds');
  const again = await watchPods(t, proxy);
  cluster.api.createPod('default', 'after-restart');
  await waitFor(() => again.text.includes('after-restart'), 10_000, 'an event on a new watch');
  t.equal(proxy.child.exitCode, null, 'the proxy never exited');
});

void t.test('the API server dies mid-exec and mid-port-forward: both sessions end, and new ones work once it is back', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--allow-exec', '-v', '6'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const env = kubectlEnv(cluster);
  const cat = startCat(proxy, env);
  t.teardown(() => void (cat.exit === undefined && process.kill(cat.child.pid!, 'SIGKILL')));
  cat.child.stdin.write('ping\n');
  await waitFor(() => cat.stdout.includes('ping'), 30_000, 'the exec session echoing');
  const forward = await startPortForward(['--server', proxy.url, 'port-forward', 'web-0', ':8080'], env);
  t.teardown(() => forward.stop());
  const local = connect(forward.localPort, '127.0.0.1');
  const seen = { text: '', closed: false };
  local.on('data', (chunk: Buffer) => (seen.text += chunk.toString()));
  local.on('error', () => undefined);
  local.once('close', () => (seen.closed = true));
  local.write('hello');
  await waitFor(() => seen.text.includes('hello'), 30_000, 'the port-forward echoing');

  await cluster.stopApiServer();
  await waitFor(() => cat.exit !== undefined, 20_000, 'kubectl exec ending');
  t.not(cat.exit, 0, 'kubectl exec fails rather than hangs');
  t.match(cat.stderr, /abnormal closure|unexpected EOF|connection/, `kubectl says the connection broke: ${cat.stderr}`);
  await waitFor(() => seen.closed, 20_000, 'the port-forwarded connection closing');
  await withTimeout(new Promise((resolve) => (forward.child.exitCode === null ? forward.child.once('exit', resolve) : resolve(undefined))), 20_000, 'kubectl port-forward exiting');
  t.match(forward.stderr(), /lost connection to pod/);
  await proxy.waitForStderr(/"resource":"pods\/exec".*"closedBy":"upstream".*"msg":"upgrade completed"/);
  await proxy.waitForStderr(/"resource":"pods\/portforward".*"closedBy":"upstream".*"msg":"upgrade completed"/);

  await cluster.restartApiServer();
  const echo = await kubectl(proxy, env, ['exec', 'web-0', '--', 'echo', 'back']);
  t.equal(echo.code, 0, echo.stderr);
  t.equal(echo.stdout.toString(), 'back\n', 'a new exec session works');
  const next = await startPortForward(['--server', proxy.url, 'port-forward', 'web-0', ':8080'], env);
  t.teardown(() => next.stop());
  t.equal((await echoThrough(next.localPort, Buffer.from('again'))).toString(), 'again', 'a new port-forward works');
  t.equal(proxy.child.exitCode, null, 'the proxy never exited');
});

void t.test('a frozen API server (SIGSTOP): requests end in 504 naming the stage, /readyz says so, the watch waits, and all resumes on SIGCONT', async (t) => {
  const cluster = await startTestCluster(t);
  const api = await startApiServerProcess(t, cluster);
  const kubeconfig = cluster.kubeconfig({ 'client-certificate': cluster.files.clientCert, 'client-key': cluster.files.clientKey }, { server: api.url }, 'frozen-kubeconfig');
  const args = ['--kubeconfig', kubeconfig, '-p', '0', '--request-timeout', '2s', '--metrics-address', '127.0.0.1:0'];
  const proxy = await startProxyProcess(args, { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const metrics = await metricsUrl(proxy);
  t.equal((await fetchText(`${proxy.url}${PODS}`)).status, 200, 'one pooled connection, idle');
  const watch = await watchPods(t, proxy);
  await waitFor(() => watch.text.includes('"ADDED"'), 10_000, 'the watch\'s first events');

  api.freeze();
  // Two at once: one rides the idle pooled connection, the other needs a new one, whose TCP
  // handshake the frozen server's kernel completes and whose TLS handshake nobody answers.
  const [first, second] = await Promise.all([fetchText(`${proxy.url}${PODS}`, { timeoutMs: 30_000 }), fetchText(`${proxy.url}/version`, { timeoutMs: 30_000 })]);
  const messages = [statusOf(first).message, statusOf(second).message].sort();
  t.same([first.status, second.status], [504, 504], 'both end at --request-timeout');
  t.match(messages, [
    new RegExp(`^no connection to the API server within 2s \\(--request-timeout\\): TLS handshake unanswered for \\d+\\.\\ds \\(server ${api.url}\\)$`),
    `the API server did not answer within --request-timeout (server ${api.url})`,
  ]);
  const upgrade = await firstStatus(proxy.port, [
    `GET ${PODS}/web-0/portforward HTTP/1.1`,
    'Host: localhost',
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Protocol: v4.channel.k8s.io',
  ], 30_000);
  t.equal(upgrade, 504, 'an upgrade ends at --request-timeout too');
  await proxy.waitForStderr(/"code":"KAP_UPGRADE_TIMEOUT".*"error":"the API server did not answer the upgrade within 2000 ms: TLS handshake unanswered"/);
  const notReady = await readyzBecomes(metrics, 503);
  t.equal(notReady.body, `API server: net/http: TLS handshake timeout after 3s (server ${api.url})\n`, '/readyz: not ready, and why');
  t.equal((await fetchText(`${metrics}/healthz`)).status, 200, 'the proxy itself stays healthy');
  // A silent watch cannot be told from a frozen server's (neither sends a byte, and the kernel
  // answers TCP keep-alive probes): it is kept, as kubectl and client-go keep it over HTTP/1.1.
  t.equal(watch.ended, false, 'the watch is still open after all of the above');

  api.thaw();
  t.equal(await createPod(proxy, 'after-thaw'), 201, 'requests succeed again');
  await waitFor(() => watch.text.includes('after-thaw'), 10_000, 'the same watch delivering an event after the thaw');
  t.equal((await readyzBecomes(metrics, 200)).status, 200, '/readyz: ready again');
  t.equal(proxy.child.exitCode, null, 'the proxy never exited');
});

void t.test('a slow API server: late headers within --request-timeout and a body trickling past it are relayed whole, as they come', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--request-timeout', '5s'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const watch = await watchPods(t, proxy);
  // Headers after 1 s, then 6 lines a second apart: about 7 s in all, beyond the 5 s timeout.
  const response = await request(`${proxy.url}/test/trickle?headersAfterMs=1000&chunks=6&everyMs=1000`, { signal: AbortSignal.timeout(60_000) });
  t.equal(response.statusCode, 200);
  let body = '';
  let firstRead: string | undefined;
  for await (const chunk of response.body) {
    body += (chunk as Buffer).toString();
    firstRead ??= body;
  }
  t.equal(body, [0, 1, 2, 3, 4, 5].map((index) => `chunk ${index}\n`).join(''), 'the whole body, though it took longer than --request-timeout');
  t.notMatch(firstRead, /chunk 5/, 'relayed as it came, not gathered');
  t.equal(watch.ended, false, 'a watch silent for longer than --request-timeout stays open');
  cluster.api.createPod('default', 'late-event');
  await waitFor(() => watch.text.includes('late-event'), 10_000, 'an event on the silent watch');
});

/** Seconds to the next keep-alive probe of each established connection to `port`, from `ss -o` (`timer:(keepalive,29sec,0)`); null without one. */
async function keepaliveTimers(port: number): Promise<(number | null)[]> {
  const { stdout } = await promisify(execFile)('ss', ['-tnoH', 'state', 'established', 'dst', `127.0.0.1:${port}`]);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const timer = /timer:\(keepalive,(?:(\d+)min)?(?:(\d+)(?:\.\d+)?sec)?/.exec(line);
      return timer === null ? null : Number(timer[1] ?? 0) * 60 + Number(timer[2] ?? 0);
    });
}

void t.test('connections to the API server probe with TCP keep-alive after 30 s of silence, as client-go\'s do: what ends a half-open one', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.equal((await fetchText(`${proxy.url}${PODS}`)).status, 200);
  await watchPods(t, proxy);
  // Only the proxy connects to this API server: every connection to its port is the proxy's.
  const timers = await keepaliveTimers(cluster.api.port);
  // The watch's connection, and the pooled one unless the server already closed it (idle 5 s).
  t.ok(timers.length >= 1, `${timers.length} connections`);
  for (const seconds of timers) t.ok(seconds !== null && seconds <= 30, `keep-alive on, first probe within 30 s (${seconds} s)`);
});
