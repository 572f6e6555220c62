// Local faults (issue 14), end to end through the built proxy: an exec plugin that prints garbage,
// crashes mid-output or never stops printing; the kubeconfig and the files it names deleted or
// rewritten while the proxy runs; the proxy's own log and the audit log on a full disk. Each: no
// crash, no hang, a one-line Status naming the cause (never a secret), /readyz telling the truth,
// and the proxy healthy once the fault is gone. (Upstream faults are in their own file.)
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { startTestCluster } from '../helpers/cluster.js';
import { EXEC_V1, writeScript } from '../helpers/exec-plugin.js';
import { fetchText, type StatusBody } from '../helpers/http.js';
import { plant } from '../helpers/planted-secrets.js';
import { metricsUrl, sampleValue, scrape } from '../helpers/prometheus.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { waitFor } from '../helpers/waiting.js';

const PODS = '/api/v1/namespaces/default/pods';

/** The answer to a proxied request that needs credentials, checked as a one-line Status with an Audit-Id and no secret. */
async function expectStatus(t: Test, proxy: ProxyProcess, code: number, message: string, secret: string): Promise<void> {
  const reply = await fetchText(`${proxy.url}${PODS}`);
  t.equal(reply.status, code, message);
  const status = JSON.parse(reply.body) as StatusBody;
  t.match(status, { kind: 'Status', status: 'Failure', code }, 'a Status');
  t.equal(status.message, message, 'naming the plugin and the problem, on one line');
  t.notOk(reply.body.includes(secret), "nothing of the plugin's output");
  t.match(reply.headers['audit-id'], /^[0-9a-f-]{36}$/, 'with its Audit-Id');
}

/** Every assertion that the proxy is otherwise well: its static files and /healthz answer. */
async function expectServing(t: Test, proxy: ProxyProcess, metrics: string): Promise<void> {
  t.match(await fetchText(`${proxy.url}/static/page.html`), { status: 200, body: 'local page\n' }, 'other paths are served');
  t.equal((await fetchText(`${metrics}/healthz`)).status, 200, '/healthz: the process serves');
}

void t.test('an exec plugin that prints garbage, crashes mid-output or never stops: a Status naming it, /readyz 503, and well again once fixed', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'fixed-plugin-token': 'exec-user' } });
  const secret = 'garbage-secret-5e1f09c2';
  plant(secret);
  const www = join(cluster.dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'page.html'), 'local page\n');
  const command = writeScript(join(cluster.dir, 'plugin'), 'exit 0');
  const user = { exec: { apiVersion: EXEC_V1, command, interactiveMode: 'Never' } };
  const proxy = await startProxyProcess(['--kubeconfig', cluster.kubeconfig(user), '-p', '0', '--www', www, '--metrics-address', '127.0.0.1:0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const metrics = await metricsUrl(proxy);
  const pidFile = join(cluster.dir, 'printer.pid');
  const credential = (fields: Record<string, unknown>) => `printf '%s' '${JSON.stringify(fields)}'`;
  const partial = `{"apiVersion":"${EXEC_V1}","status":{"token":"${secret}`;
  const cases: [string, string, string][] = [
    ['not JSON', `echo "token=${secret}"`, `exec plugin ${command}: decoding stdout: not valid JSON (${secret.length + 7} bytes)`],
    [
      'the wrong apiVersion',
      credential({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: secret } }),
      `exec plugin ${command}: exec plugin is configured to use API version ${EXEC_V1}, plugin returned version client.authentication.k8s.io/v1beta1`,
    ],
    ['the wrong kind', credential({ apiVersion: EXEC_V1, kind: 'Secret', status: { token: secret } }), `exec plugin ${command}: decoding stdout: expected kind "ExecCredential", got "Secret"`],
    ['no token', credential({ apiVersion: EXEC_V1, kind: 'ExecCredential', status: {} }), `exec plugin ${command}: exec plugin didn't return a token or cert/key pair`],
    [
      'an expirationTimestamp that is not RFC 3339',
      credential({ apiVersion: EXEC_V1, kind: 'ExecCredential', status: { token: secret, expirationTimestamp: 'tomorrow at noon' } }),
      `exec plugin ${command}: decoding stdout: status.expirationTimestamp: not an RFC 3339 time`,
    ],
    ['partial JSON, then killed by a signal', `printf '%s' '${partial}'; kill -KILL $$`, `exec: executable ${command} was killed by signal SIGKILL`],
    ['partial JSON, exit 0', `printf '%s' '${partial}'`, `exec plugin ${command}: decoding stdout: not valid JSON (${partial.length} bytes)`],
    ['output that never ends', `echo $$ > '${pidFile}'; exec yes '${secret}'`, `exec: executable ${command} printed more than 1048576 bytes`],
  ];
  for (const [name, body, message] of cases) {
    await t.test(name, async (t) => {
      writeScript(command, body);
      await expectStatus(t, proxy, 502, `getting credentials: ${message}`, secret);
      await expectServing(t, proxy, metrics);
      const ready = await fetchText(`${metrics}/readyz`);
      t.equal(ready.status, 503, '/readyz: not ready while the plugin fails');
      t.ok(ready.body.includes(message), `/readyz names the cause: ${ready.body.trim()}`);
      t.notOk(ready.body.includes(secret));
    });
  }
  // The endless printer was killed with its process group, not left running.
  const printer = Number(readFileSync(pidFile, 'utf8'));
  await t.resolves(waitFor(() => !existsSync(`/proc/${printer}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${printer}/status`, 'utf8')), 10_000, 'the endless plugin killed'));

  writeScript(command, credential({ apiVersion: EXEC_V1, kind: 'ExecCredential', status: { token: 'fixed-plugin-token' } }));
  const fixed = await fetchText(`${proxy.url}${PODS}`);
  t.equal(fixed.status, 200, 'the next request after the fix succeeds');
  t.equal(cluster.api.requests.at(-1)?.headers.authorization, 'Bearer fixed-plugin-token');
  t.equal((await fetchText(`${metrics}/readyz`)).status, 200, '/readyz: ready again');
  t.equal(await proxy.stop(), 0, 'exits cleanly, no secret in its output');
});

/** The stderr lines matching `pattern`. */
const linesOf = (proxy: ProxyProcess, pattern: RegExp) => proxy.stderr().split('\n').filter((line) => pattern.test(line));

void t.test('the kubeconfig deleted or rewritten while running: the loaded config stays in force; a tokenFile is re-read', async (t) => {
  const cluster = await startTestCluster(t, { tokens: { 'file-token-1': 'file-user', 'file-token-2': 'file-user', 'file-token-3': 'file-user' } });
  const tokenFile = join(cluster.dir, 'token');
  writeFileSync(tokenFile, 'file-token-1\n');
  const kubeconfig = cluster.kubeconfig({ tokenFile });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  /** The status of a request and the Authorization the API server saw for it. */
  const sent = async () => {
    const reply = await fetchText(`${proxy.url}${PODS}`);
    return `${reply.status} ${String(cluster.api.requests.at(-1)?.headers.authorization)}`;
  };
  /** Sends requests until the API server sees `authorization` (the file is re-read every second), for at most 15 s. */
  const sentUntil = async (authorization: string) => {
    const deadline = Date.now() + 15_000;
    let seen = await sent();
    while (seen !== authorization && Date.now() < deadline) seen = await sent();
    return seen;
  };
  t.equal(await sent(), '200 Bearer file-token-1');

  unlinkSync(kubeconfig);
  const before = cluster.api.requests.length;
  t.equal(await sent(), '200 Bearer file-token-1', 'kubeconfig deleted: served as before (kubectl proxy reads it once, at start)');
  writeFileSync(kubeconfig, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'elsewhere',
    clusters: [{ name: 'elsewhere', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: 'other', user: { token: 'other-token-not-used' } }],
    contexts: [{ name: 'elsewhere', context: { cluster: 'elsewhere', user: 'other' } }],
  }));
  t.equal(await sent(), '200 Bearer file-token-1', 'kubeconfig rewritten to another server and user: still the original');
  t.equal(cluster.api.requests.length, before + 2, 'both requests reached the original API server');

  writeFileSync(tokenFile, 'file-token-2\n');
  t.equal(await sentUntil('200 Bearer file-token-2'), '200 Bearer file-token-2', 'a rotated token file is picked up');

  unlinkSync(tokenFile);
  const failure = /Unable to rotate token/;
  await t.resolves(waitForLine(proxy, failure, () => sent()), 'a deleted token file is reported');
  // Re-reads go on every second; over three of them the report stays one line.
  const kept = new Set<unknown>();
  for (const until = Date.now() + 3_000; Date.now() < until; ) kept.add(await sent());
  t.same([...kept], ['200 Bearer file-token-2'], 'the last good token is kept');
  t.same(linesOf(proxy, failure).map((line) => (JSON.parse(line) as { msg: string }).msg), [`Unable to rotate token: failed to read token file "${tokenFile}": open ${tokenFile}: no such file or directory`], 'one line, naming the file');

  writeFileSync(tokenFile, '  \n');
  await t.resolves(waitForLine(proxy, /read empty token from file/, () => sent()), 'an emptied file is a new reason, reported once');
  writeFileSync(tokenFile, 'file-token-3\n');
  t.equal(await sentUntil('200 Bearer file-token-3'), '200 Bearer file-token-3', 'a token written again is picked up');
  t.equal(linesOf(proxy, failure).length, 2, 'two reports in all');
  t.notMatch(proxy.stderr(), /file-token-/, 'no token in the log');
  t.equal(await proxy.stop(), 0);
});

/** Sends requests until a stderr line matches `pattern` (the re-read happens on a request), bounded. */
async function waitForLine(proxy: ProxyProcess, pattern: RegExp, request: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!pattern.test(proxy.stderr())) {
    if (Date.now() > deadline) throw new Error(`no stderr line matching ${pattern} within 15 s`);
    await request();
  }
}

// Client certificate and key files are read once, at start, like the CA: deleting or rewriting them
// changes nothing for the running proxy, new connections included (the material is in memory).
// client-go 1.32 differs: it re-reads them on each new TLS handshake and rotates its connections
// (transport/cert_rotation.go); ours would need the upstream pools to take a new identity, as they
// do for an exec plugin's certificate.
void t.test('client certificate files deleted or rewritten: the loaded certificate stays in use, no crash', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const users = async () => {
    // Several at once, so that new connections are opened too.
    const replies = await Promise.all(Array.from({ length: 6 }, () => fetchText(`${proxy.url}/test/echo`)));
    return replies.map((reply) => `${reply.status} ${(JSON.parse(reply.body) as { user: string }).user}`);
  };
  t.same(await users(), Array(6).fill('200 kube-admin'));
  rmSync(cluster.files.clientCert);
  rmSync(cluster.files.clientKey);
  t.same(await users(), Array(6).fill('200 kube-admin'), 'files deleted');
  writeFileSync(cluster.files.clientCert, 'not a certificate');
  writeFileSync(cluster.files.clientKey, 'not a key');
  t.same(await users(), Array(6).fill('200 kube-admin'), 'files rewritten with garbage');
  t.equal(await proxy.stop(), 0);
});

/** The TCP ports process `pid` listens on, from /proc (its logs, where it says so, go to a full disk here). */
function listeningPorts(pid: number): number[] {
  const sockets = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
    if (inode !== undefined) sockets.add(inode);
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // st 0A is LISTEN; field 9 is the socket's inode.
      if (fields[3] === '0A' && sockets.has(fields[9] ?? '')) ports.push(parseInt(fields[1]?.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}

/** CPU seconds process `pid` has used (utime + stime). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  // After the command name: state is field 3, utime 14 and stime 15, in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const noDevFull = existsSync('/dev/full') ? false : 'no /dev/full here';

void t.test('the log and the audit log on a full disk: requests served, reported once, audit drops counted, SIGTERM exits', { skip: noDevFull }, async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '-v=9', '--log-file', '/dev/full', '--audit-log-path', '/dev/full', '--metrics-address', '127.0.0.1:0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const pid = proxy.child.pid ?? 0;
  const ports = listeningPorts(pid).filter((port) => port !== proxy.port);
  t.equal(ports.length, 1, 'one more listener: the metrics one');
  const metrics = `http://127.0.0.1:${ports[0]}`;

  for (let i = 0; i < 20; i += 1) t.equal((await fetchText(`${proxy.url}${PODS}`)).status, 200, `request ${i + 1} served`);
  const report = /cannot write the log to \/dev\/full/;
  t.same(linesOf(proxy, report), ['error: cannot write the log to /dev/full: no space left on device; log lines are lost until it can be written again'], 'reported once, on stderr');
  const dropped = sampleValue(await scrape(metrics), 'kube_auth_proxy_audit_events_dropped_total', { backend: 'log' }) ?? 0;
  t.ok(dropped >= 1, `the audit drop counter rises while the disk is full (${dropped})`);
  t.equal((await fetchText(`${metrics}/healthz`)).status, 200, 'healthy');

  // Not spinning: idle, the proxy uses a small part of the CPU (a retry loop would use all of it).
  const cpuBefore = cpuSeconds(pid);
  const idleFrom = Date.now();
  while (Date.now() - idleFrom < 2_000) await new Promise((resolve) => setTimeout(resolve, 100));
  const used = cpuSeconds(pid) - cpuBefore;
  t.ok(used < 1, `CPU while idle: ${used.toFixed(2)} s in ${((Date.now() - idleFrom) / 1000).toFixed(1)} s`);

  t.equal(await proxy.stop('SIGTERM', 15_000), 0, 'SIGTERM: exits cleanly, within the bound');
  t.equal(linesOf(proxy, report).length, 1, 'still one report: the flush at exit tries once and adds nothing');
});

void t.test('the audit log on a full disk, the log on stderr: one error line, drops counted as they happen', { skip: noDevFull }, async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--audit-log-path', '/dev/full', '--metrics-address', '127.0.0.1:0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const metrics = await metricsUrl(proxy);
  for (let i = 0; i < 20; i += 1) t.equal((await fetchText(`${proxy.url}${PODS}`)).status, 200);
  const samples = await scrape(metrics);
  const dropped = sampleValue(samples, 'kube_auth_proxy_audit_events_dropped_total', { backend: 'log' }) ?? 0;
  t.ok(dropped >= 1, `counted before the proxy stops (${dropped})`);
  t.same(linesOf(proxy, /write \/dev\/full/).map((line) => (JSON.parse(line) as { msg: string }).msg).map((msg) => msg.replace(/\d+ events lost$/, 'N events lost')), ['audit: audit log: write /dev/full: no space left on device; N events lost'], 'one error line for the run of failures');
  t.equal(await proxy.stop('SIGTERM', 15_000), 0);
});
