// --www / --www-prefix: Go FileServer behaviour, behind the Host check (kubectl skips it there).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startTestCluster } from '../helpers/cluster.js';
import { rawRequest } from '../helpers/http.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';

void t.test('static files', async (t) => {
  const cluster = await startTestCluster(t);
  const www = join(cluster.dir, 'www');
  mkdirSync(join(www, 'app'), { recursive: true });
  writeFileSync(join(www, 'hello.txt'), 'hello, world\n');
  writeFileSync(join(www, 'app', 'index.html'), '<h1>app</h1>');
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--www', www], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const get = (path: string, ...headers: string[]) => rawRequest({ port: proxy.port }, [`GET ${path} HTTP/1.1`, 'Host: localhost', ...headers]);

  const file = await get('/static/hello.txt');
  t.equal(file.status, 200);
  t.equal(file.body, 'hello, world\n');
  t.equal(file.headers['content-type'], 'text/plain; charset=utf-8');
  const range = await get('/static/hello.txt', 'Range: bytes=0-4');
  t.equal(range.status, 206);
  t.equal(range.body, 'hello');
  t.equal((await get('/static/app/')).body, '<h1>app</h1>', 'index.html for a directory');
  const dir = await get('/static/app');
  t.equal(dir.status, 301);
  t.equal(dir.headers.location, 'app/');
  t.equal((await get('/static/app/index.html')).headers.location, './');
  t.match((await get('/static/')).body, /<a href="hello.txt">hello.txt<\/a>/, 'directory listing');
  t.equal((await get('/static/missing')).status, 404);
  t.equal((await get('/static/%2e%2e/%2e%2e/etc/passwd')).status, 301, 'dot segments are cleaned first');
  t.equal((await get('/static/../../etc/passwd')).headers.location, '/etc/passwd', 'and never climb out of the directory');
  t.equal((await get('/static')).headers.location, '/static/');
  t.equal((await get('/version')).status, 200, 'the API is still served under /');
  const evil = await rawRequest({ port: proxy.port }, ['GET /static/hello.txt HTTP/1.1', 'Host: evil.example']);
  t.equal(evil.status, 403, 'the Host check covers static files');
});

void t.test('a missing --www directory is a warning, as kubectl', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--www', join(cluster.dir, 'nope')], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  t.match(proxy.stderr(), /Failed to stat static file directory .*nope/);
});

void t.test('-P moves the static prefix', async (t) => {
  const cluster = await startTestCluster(t);
  const www = join(cluster.dir, 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, 'a.json'), '{}');
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '-w', www, '-P', '/files'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const reply = await rawRequest({ port: proxy.port }, ['GET /files/a.json HTTP/1.1', 'Host: localhost']);
  t.equal(reply.status, 200);
  t.equal(reply.headers['content-type'], 'application/json');
});
