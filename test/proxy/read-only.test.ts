// --read-only, end to end: a table of requests (method, path, upgrade or not) → allowed (the API
// server saw it) or refused (403 KAP_READ_ONLY naming the rule, and the API server saw nothing).
// Reads are named as kube-apiserver names them, not by method; gets that run code or reach past the
// API server are refused; non-resource GETs pass.
import t from 'tap';
import { startTestCluster } from '../helpers/cluster.js';
import { fetchText, rawRequest, type Reply } from '../helpers/http.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';

const POD = '/api/v1/namespaces/default/pods/web-0';
const WEBSOCKET = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol: v5.channel.k8s.io'];

/** [method, path, upgrade?, the rule of the refusal, or undefined when the request must reach the API server]. */
const CASES: [string, string, boolean, RegExp | undefined][] = [
  ['GET', '/api/v1/namespaces/default/pods', false, undefined],
  ['GET', POD, false, undefined],
  ['HEAD', POD, false, undefined],
  ['GET', '/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1', false, undefined],
  ['GET', '/api/v1/watch/namespaces/default/pods?timeoutSeconds=1', false, undefined],
  ['GET', `${POD}/log`, false, undefined],
  ['GET', '/apis/apps/v1/namespaces/default/deployments', false, undefined],
  ['GET', '/version', false, undefined],
  ['HEAD', '/version', false, undefined],
  ['GET', '/api', false, undefined],
  ['GET', '/apis', false, undefined],
  ['GET', '/openapi/v2', false, undefined],
  ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', false, /only get, list and watch are allowed; this is "create" on selfsubjectaccessreviews/],
  ['POST', '/api/v1/namespaces/default/pods', false, /this is "create" on pods/],
  ['PUT', POD, false, /this is "update" on pods/],
  ['PATCH', POD, false, /this is "patch" on pods/],
  ['DELETE', POD, false, /this is "delete" on pods/],
  ['DELETE', '/api/v1/namespaces/default/pods', false, /this is "deletecollection" on pods/],
  ['PATCH', `${POD}/ephemeralcontainers`, false, /pods\/ephemeralcontainers adds code to a running pod/],
  ['GET', `${POD}/ephemeralcontainers`, false, /pods\/ephemeralcontainers adds code to a running pod, even as a get/],
  ['GET', `${POD}/exec?command=ls&stdout=true`, false, /pods\/exec runs a command in a container, even as a get/],
  ['POST', `${POD}/exec?command=ls&stdout=true`, false, /pods\/exec runs a command in a container/],
  ['GET', `${POD}/attach?stdout=true`, false, /pods\/attach attaches to a running container/],
  ['GET', `${POD}/portforward?ports=80`, false, /pods\/portforward opens a connection into a pod/],
  ['GET', `${POD}/proxy/`, false, /pods\/proxy reaches past the API server/],
  ['GET', '/api/v1/namespaces/default/services/web:80/proxy/healthz', false, /services\/proxy reaches past the API server/],
  ['GET', '/api/v1/nodes/node-1/proxy/configz', false, /nodes\/proxy reaches past the API server/],
  ['GET', '/api/v1/proxy/namespaces/default/pods/web-0', false, /the proxy verb reaches past the API server/],
  ['GET', `${POD}/exec?command=ls&stdout=true`, true, /upgrades \(exec, attach, port-forward, any WebSocket or SPDY\) are refused/],
  ['GET', `${POD}/portforward?ports=80`, true, /upgrades .* are refused/],
  ['GET', '/api/v1/namespaces/default/pods', true, /upgrades .* are refused/],
  ['POST', '/version', false, /non-resource paths allow only GET and HEAD, not POST/],
  ['OPTIONS', '/api/v1/namespaces/default/pods', false, /this is method OPTIONS on pods/],
];

function reasonOf(reply: Reply): string | undefined {
  return (JSON.parse(reply.body) as { details?: { causes?: { reason: string }[] } }).details?.causes?.[0]?.reason;
}

void t.test('--read-only lets reads through and refuses everything else, naming the rule', async (t) => {
  const cluster = await startTestCluster(t);
  // --allow-exec: the default exec rule would otherwise refuse exec and attach first.
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--read-only', '--allow-exec'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());

  for (const [index, [method, path, upgrade, rule]] of CASES.entries()) {
    const name = `${method} ${path}${upgrade ? ' (upgrade)' : ''}`;
    // A marker in the query tells this request's arrival upstream from every other's.
    const target = `${path}${path.includes('?') ? '&' : '?'}case=${index}`;
    const seen = () => cluster.api.requests.filter((request) => request.url.endsWith(`case=${index}`)).length;
    const reply = upgrade
      ? await rawRequest({ port: proxy.port }, [`${method} ${target} HTTP/1.1`, 'Host: localhost', ...WEBSOCKET])
      : await fetchText(`${proxy.url}${target}`, { method, ...(method === 'POST' || method === 'PUT' || method === 'PATCH' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) });
    if (rule === undefined) {
      t.not(reply.status, 403, `${name}: allowed`);
      t.equal(seen(), 1, `${name}: reached the API server`);
    } else {
      t.equal(reply.status, 403, `${name}: refused`);
      t.equal(reasonOf(reply), 'KAP_READ_ONLY', `${name}: the code`);
      t.match((JSON.parse(reply.body) as { message: string }).message, /^forbidden by kube-auth-proxy: --read-only: /, `${name}: the flag`);
      t.match((JSON.parse(reply.body) as { message: string }).message, rule, `${name}: the rule`);
      t.equal(seen(), 0, `${name}: the API server saw nothing`);
    }
  }
});

void t.test('without --read-only the same writes reach the API server', async (t) => {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0'], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const reply = await fetchText(`${proxy.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews?case=plain`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  t.not(reply.status, 403);
  t.equal(cluster.api.requests.filter((request) => request.url.endsWith('case=plain')).length, 1);
});
