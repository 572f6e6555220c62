// The command line: kubectl's start line, one-line errors for bad input, unix sockets, signals.
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { startTestCluster } from '../helpers/cluster.js';
import { rawRequest } from '../helpers/http.js';
import { isolatedEnv, runProxy, startProxyProcess } from '../helpers/proxy-process.js';

/** A start-up failure: one line on stderr, non-zero exit, nothing on stdout, no stack trace. */
function assertOneLineError(t: Test, result: { code: number | null; stdout: string; stderr: string }, expected: RegExp): void {
  t.not(result.code, 0, 'non-zero exit');
  t.equal(result.stdout, '', 'nothing on stdout');
  t.equal(result.stderr.trimEnd().split('\n').length, 1, `one line: ${result.stderr.trimEnd()}`);
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  t.match(result.stderr, expected);
}

void t.test('bad input gets a one-line error naming the flag, file or field', async (t) => {
  const cluster = await startTestCluster(t);
  const env = isolatedEnv(cluster.dir);
  const kubeconfig = cluster.certKubeconfig();
  const openstackUser = cluster.kubeconfig({ 'auth-provider': { name: 'openstack' } }, {}, 'openstack.yaml');
  const gcpUser = cluster.kubeconfig({ 'auth-provider': { name: 'gcp', config: { 'cmd-path': '/usr/bin/gcloud' } } }, {}, 'gcp.yaml');
  const azureUser = cluster.kubeconfig({ 'auth-provider': { name: 'azure', config: { 'tenant-id': 't' } } }, {}, 'azure.yaml');
  const broken = join(cluster.dir, 'broken.yaml');
  writeFileSync(broken, 'clusters: [ {');
  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['--no-such-flag'], /^error: Unknown argument: no-such-flag/],
    ['--port with --unix-socket', ['--kubeconfig', kubeconfig, '--port', '9999', '--unix-socket', join(cluster.dir, 's')], /^error: cannot set --unix-socket and --port at the same time$/m],
    ['--www-prefix equal to --api-prefix', ['--kubeconfig', kubeconfig, '--www', '.', '--www-prefix', '/', '-p', '0'], /--www-prefix and --api-prefix cannot be the same/],
    ['an invalid regex', ['--kubeconfig', kubeconfig, '--accept-paths', '('], /^error: --accept-paths: invalid regular expression "\(": Unterminated group$/m],
    ['an invalid duration', ['--kubeconfig', kubeconfig, '--keepalive', 'often'], /--keepalive: invalid duration "often"/],
    ['a missing kubeconfig', ['--kubeconfig', join(cluster.dir, 'none.yaml')], /none\.yaml/],
    ['an unparsable kubeconfig', ['--kubeconfig', broken], /broken\.yaml/],
    ['a missing context', ['--kubeconfig', kubeconfig, '--context', 'nope'], /context "nope" does not exist/],
    ['a missing user', ['--kubeconfig', kubeconfig, '--user', 'nope'], /auth info "nope" does not exist/],
    ['a missing client key file', ['--kubeconfig', kubeconfig, '--client-key', join(cluster.dir, 'no.key')], /no\.key/],
    ['a repeated flag: the last value wins, as in kubectl', ['--kubeconfig', kubeconfig, '--port', '0', '--port', 'x1'], /^error: --port: "x1" is not a whole number$/m],
    ['the removed gcp auth-provider, with client-go\'s message', ['--kubeconfig', gcpUser], /^error: The gcp auth plugin has been removed\. Please use the "gke-gcloud-auth-plugin" kubectl\/client-go credential plugin instead\. See https:\/\/cloud\.google\.com\/\S+ for further details$/m],
    ['the removed azure auth-provider, with client-go\'s message', ['--kubeconfig', azureUser], /^error: The azure auth plugin has been removed\. Please use the https:\/\/github\.com\/Azure\/kubelogin kubectl\/client-go credential plugin instead\./m],
    ['an auth-provider client-go no longer has', ['--kubeconfig', openstackUser], /^error: user "tester" needs auth-provider "openstack" .*which this version of kube-auth-proxy does not support yet$/m],
    ['a non-numeric port', ['--kubeconfig', kubeconfig, '--port', 'abc'], /^error: --port: "abc" is not a whole number$/m],
  ];
  for (const [name, args, expected] of cases) {
    void t.test(name, async (t) => assertOneLineError(t, await runProxy(args, { env }), expected));
  }
});

void t.test('a busy port is a one-line error naming --port', async (t) => {
  const cluster = await startTestCluster(t);
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const result = await runProxy(['--kubeconfig', cluster.certKubeconfig(), '--port', String(port)], { env: isolatedEnv(cluster.dir) });
  assertOneLineError(t, result, new RegExp(`^error: --port: listen 127\\.0\\.0\\.1:${port}: address already in use$`, 'm'));
});

void t.test('--address accepts ::1 as well as [::1]', async (t) => {
  const cluster = await startTestCluster(t);
  for (const address of ['::1', '[::1]']) {
    const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--address', address], { env: isolatedEnv(cluster.dir) });
    t.match(proxy.address, /^\[::1\]:\d+$/, `--address ${address}`);
    const reply = await rawRequest({ port: proxy.port, host: '::1' }, ['GET /version HTTP/1.1', `Host: [::1]:${proxy.port}`]);
    t.equal(reply.status, 200);
    t.equal(await proxy.stop(), 0);
  }
});

void t.test('unix socket: owner-only, stale socket replaced, removed on exit', async (t) => {
  const cluster = await startTestCluster(t);
  // Socket paths are limited to 108 bytes: tap's test directories are too deep for them.
  const socketDir = mkdtempSync(join(tmpdir(), 'kap-'));
  t.teardown(() => rmSync(socketDir, { recursive: true, force: true }));
  const socketPath = join(socketDir, 'proxy.sock');
  // A process that dies without cleaning up leaves its socket file behind.
  const crashed = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('ready'))", socketPath]);
  const started = await Promise.race([once(crashed.stdout, 'data').then(() => true), once(crashed, 'exit').then(() => false)]);
  t.ok(started, 'the socket holder started');
  crashed.kill('SIGKILL');
  await once(crashed, 'exit');
  t.ok(existsSync(socketPath), 'a stale socket file is there');
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '--unix-socket', socketPath], { env: isolatedEnv(cluster.dir) });
  t.equal(proxy.address, socketPath, 'prints the socket path');
  t.equal(lstatSync(socketPath).mode & 0o777, 0o700, 'srwx------ like kubectl (umask 0077)');
  const ok = await rawRequest({ path: socketPath }, ['GET /version HTTP/1.1', 'Host: localhost']);
  t.equal(ok.status, 200);
  t.equal(cluster.api.requests.at(-1)!.headers['x-forwarded-for'], undefined, 'no client address to forward on a unix socket');
  const evil = await rawRequest({ path: socketPath }, ['GET /version HTTP/1.1', 'Host: evil.example']);
  t.equal(evil.status, 403, 'the Host check applies to unix-socket clients too');
  t.equal(await proxy.stop('SIGINT'), 0, 'exit 0 on SIGINT');
  t.notOk(existsSync(socketPath), 'socket file removed');
});

void t.test('a unix socket path holding a regular file is left alone', async (t) => {
  const cluster = await startTestCluster(t);
  const path = join(cluster.dir, 'not-a-socket');
  writeFileSync(path, 'precious');
  assertOneLineError(t, await runProxy(['--kubeconfig', cluster.certKubeconfig(), '-u', path], { env: isolatedEnv(cluster.dir) }), /--unix-socket: .*not-a-socket exists and is not a socket/);
});

void t.test('SIGTERM: in-flight requests finish, watches end, exit 0', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  const watch = await request(`${proxy.url}/api/v1/namespaces/default/pods?watch=1`);
  const download = await request(`${proxy.url}/test/bytes?size=${32 * 1024 * 1024}`);
  const watchEnded = (async () => {
    // Drain until the proxy ends the stream.
    for await (const chunk of watch.body) void chunk;
    return 'ended';
  })();
  const exit = proxy.stop('SIGTERM');
  let bytes = 0;
  for await (const chunk of download.body) bytes += (chunk as Buffer).length;
  t.equal(bytes, 32 * 1024 * 1024, 'the in-flight download completed');
  t.equal(await watchEnded, 'ended', 'the watch was ended cleanly');
  t.equal(await exit, 0, 'exit code 0');
});

void t.test('warnings: a server path without --append-server-path', async (t) => {
  const cluster = await startTestCluster(t);
  const kubeconfig = cluster.kubeconfig({ 'client-certificate': cluster.files.clientCert, 'client-key': cluster.files.clientKey }, { server: `${cluster.api.url}/some/prefix` });
  const plain = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => plain.stop());
  t.match(plain.stderr(), /Your kube context contains a server path \/some\/prefix, use --append-server-path/);
  await rawRequest({ port: plain.port }, ['GET /version HTTP/1.1', 'Host: localhost']);
  t.equal(cluster.api.requests.at(-1)!.url, '/version', 'server path dropped, as kubectl');

  const appended = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--append-server-path'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => appended.stop());
  await rawRequest({ port: appended.port }, ['GET /version?x=1 HTTP/1.1', 'Host: localhost']);
  t.equal(cluster.api.requests.at(-1)!.url, '/some/prefix/version?x=1', '--append-server-path prepends it');
});

void t.test('binding beyond loopback is allowed when asked, with a warning', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--address', '0.0.0.0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.match(proxy.address, /^0\.0\.0\.0:\d+$/);
  await t.resolves(proxy.waitForStderr(/listening on 0\.0\.0\.0, not loopback: anyone who can reach this address can use your cluster credentials/));
  const quiet = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => quiet.stop());
  t.notMatch(quiet.stderr(), /not loopback/, 'no warning on 127.0.0.1');

  const dualStack = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--address', '::'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => dualStack.stop());
  t.equal((await rawRequest({ port: dualStack.port }, ['GET /version HTTP/1.1', 'Host: 127.0.0.1'])).status, 200);
  t.equal(cluster.api.requests.at(-1)!.headers['x-forwarded-for'], '127.0.0.1', 'an IPv4 client of a dual-stack listener, without ::ffff:');
});
