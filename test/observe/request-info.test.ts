// The API server's own request-info cases (requestinfo_test.go: TestGetAPIRequestInfo,
// TestGetNonAPIRequestInfo, the selector-parsing tests), restated as whole expected objects, plus
// the edges that requestinfo.go's code implies: bad selectors, Go query parsing, legacy path verbs.
import t, { type Test } from 'tap';
import { isLongRunning, requestInfo, type RequestInfo } from '../../src/observe/request-info.js';

type Fields = Partial<RequestInfo>;

const EMPTY: RequestInfo = {
  isResourceRequest: false,
  verb: '',
  apiPrefix: '',
  apiGroup: '',
  apiVersion: '',
  namespace: '',
  resource: '',
  subresource: '',
  name: '',
  parts: [],
  fieldSelector: '',
  labelSelector: '',
};

/** A resource request under /api/v1 (the core group). */
const core = (verb: string, fields: Fields): RequestInfo => ({ ...EMPTY, isResourceRequest: true, apiPrefix: 'api', apiVersion: 'v1', verb, ...fields });
/** A resource request under /apis/{group}/{version}. */
const grouped = (apiGroup: string, apiVersion: string, verb: string, fields: Fields): RequestInfo =>
  core(verb, { apiPrefix: 'apis', apiGroup, apiVersion, ...fields });
const nonResource = (verb: string, fields: Fields = {}): RequestInfo => ({ ...EMPTY, verb, ...fields });

interface Case {
  readonly name: string;
  /** `METHOD path?query`, as on the request line. */
  readonly request: string;
  readonly expect: RequestInfo;
}

function resolve(request: string): RequestInfo {
  const space = request.indexOf(' ');
  const target = request.slice(space + 1);
  const query = target.indexOf('?');
  if (query === -1) return requestInfo(request.slice(0, space), target, '');
  return requestInfo(request.slice(0, space), target.slice(0, query), target.slice(query));
}

function runCases(t: Test, cases: readonly Case[]): void {
  for (const { name, request, expect } of cases) t.strictSame(resolve(request), expect, `${name} (${request})`);
}

const pods = (namespace: string, name = ''): Fields => ({ namespace, resource: 'pods', name, parts: name === '' ? ['pods'] : ['pods', name] });

void t.test('resource paths (TestGetAPIRequestInfo)', async (t) => {
  runCases(t, [
    { name: 'the namespace collection is listed', request: 'GET /api/v1/namespaces', expect: core('list', { resource: 'namespaces', parts: ['namespaces'] }) },
    { name: 'one namespace is got, and is its own namespace', request: 'GET /api/v1/namespaces/other', expect: core('get', { namespace: 'other', resource: 'namespaces', name: 'other', parts: ['namespaces', 'other'] }) },
    { name: 'pods in a namespace are listed', request: 'GET /api/v1/namespaces/other/pods', expect: core('list', pods('other')) },
    { name: 'a named pod is got', request: 'GET /api/v1/namespaces/other/pods/foo', expect: core('get', pods('other', 'foo')) },
    { name: 'HEAD of a named pod is a get', request: 'HEAD /api/v1/namespaces/other/pods/foo', expect: core('get', pods('other', 'foo')) },
    { name: 'pods of all namespaces are listed with no namespace', request: 'GET /api/v1/pods', expect: core('list', pods('')) },
    { name: 'HEAD of a collection is a list', request: 'HEAD /api/v1/pods', expect: core('list', pods('')) },
    { name: 'a namespace is patched by name', request: 'PATCH /api/v1/namespaces/new-namespace', expect: core('patch', { namespace: 'new-namespace', resource: 'namespaces', name: 'new-namespace', parts: ['namespaces', 'new-namespace'] }) },
  ]);
});

void t.test('verbs in the path and the watch parameter', async (t) => {
  runCases(t, [
    { name: 'legacy proxy names the pod and has no subresource', request: 'GET /api/v1/proxy/namespaces/other/pods/foo', expect: core('proxy', pods('other', 'foo')) },
    {
      name: 'legacy proxy keeps its sub-path in parts only',
      request: 'GET /api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource',
      expect: core('proxy', { ...pods('other', 'foo'), parts: ['pods', 'foo', 'subpath', 'not', 'a', 'subresource'] }),
    },
    { name: 'legacy watch of all pods', request: 'GET /api/v1/watch/pods', expect: core('watch', pods('')) },
    { name: 'watch=true turns a list into a watch', request: 'GET /api/v1/pods?watch=true', expect: core('watch', pods('')) },
    { name: 'watch=false stays a list', request: 'GET /api/v1/pods?watch=false', expect: core('list', pods('')) },
    { name: 'legacy watch in a namespace', request: 'GET /api/v1/watch/namespaces/other/pods', expect: core('watch', pods('other')) },
    { name: 'watch=1 is a watch', request: 'GET /api/v1/namespaces/other/pods?watch=1', expect: core('watch', pods('other')) },
    { name: 'watch=0 is a list', request: 'GET /api/v1/namespaces/other/pods?watch=0', expect: core('list', pods('other')) },
    { name: 'an empty watch value is true, as apimachinery converts booleans', request: 'GET /api/v1/pods?watch=', expect: core('watch', pods('')) },
    { name: 'watch=FALSE is false in any case', request: 'GET /api/v1/pods?watch=FALSE', expect: core('list', pods('')) },
    { name: 'only the first watch value counts', request: 'GET /api/v1/pods?watch=0&watch=1', expect: core('list', pods('')) },
    { name: 'legacy watch of one named pod', request: 'GET /api/v1/watch/namespaces/other/pods/foo', expect: core('watch', pods('other', 'foo')) },
    { name: 'watch on a named get stays a get', request: 'GET /api/v1/namespaces/other/pods/foo?watch=1', expect: core('get', pods('other', 'foo')) },
    {
      name: 'a bare legacy watch is an error, as the API server fails it with 500',
      request: 'GET /api/v1/watch',
      expect: { ...core('get', {}), error: 'unable to determine kind and namespace from url, /api/v1/watch' },
    },
  ]);
});

void t.test('subresources', async (t) => {
  runCases(t, [
    { name: 'status of a pod', request: 'GET /api/v1/namespaces/other/pods/foo/status', expect: core('get', { ...pods('other', 'foo'), subresource: 'status', parts: ['pods', 'foo', 'status'] }) },
    {
      name: 'the proxy subresource is the third part, the rest is uninterpreted',
      request: 'GET /api/v1/namespaces/other/pods/foo/proxy/subpath',
      expect: core('get', { ...pods('other', 'foo'), subresource: 'proxy', parts: ['pods', 'foo', 'proxy', 'subpath'] }),
    },
    {
      name: 'finalize is a subresource of the namespace, not a resource in it',
      request: 'PUT /api/v1/namespaces/other/finalize',
      expect: core('update', { namespace: 'other', resource: 'namespaces', subresource: 'finalize', name: 'other', parts: ['namespaces', 'other', 'finalize'] }),
    },
    {
      name: 'status of a namespace',
      request: 'PUT /api/v1/namespaces/other/status',
      expect: core('update', { namespace: 'other', resource: 'namespaces', subresource: 'status', name: 'other', parts: ['namespaces', 'other', 'status'] }),
    },
    {
      name: 'exec with its query is the exec subresource',
      request: 'POST /api/v1/namespaces/other/pods/foo/exec?command=sh&stdin=true',
      expect: core('create', { ...pods('other', 'foo'), subresource: 'exec', parts: ['pods', 'foo', 'exec'] }),
    },
    {
      name: 'a group resource with a subresource',
      request: 'PUT /apis/apps/v1/namespaces/other/deployments/web/scale',
      expect: grouped('apps', 'v1', 'update', { namespace: 'other', resource: 'deployments', name: 'web', subresource: 'scale', parts: ['deployments', 'web', 'scale'] }),
    },
  ]);
});

void t.test('verbs from methods, deletecollection, groups and versions', async (t) => {
  runCases(t, [
    { name: 'PATCH is patch', request: 'PATCH /api/v1/namespaces/other/pods/foo', expect: core('patch', pods('other', 'foo')) },
    { name: 'DELETE of a name is delete', request: 'DELETE /api/v1/namespaces/other/pods/foo', expect: core('delete', pods('other', 'foo')) },
    { name: 'POST is create', request: 'POST /api/v1/namespaces/other/pods', expect: core('create', pods('other')) },
    { name: 'DELETE of cluster-scoped nodes is deletecollection', request: 'DELETE /api/v1/nodes', expect: core('deletecollection', { resource: 'nodes', parts: ['nodes'] }) },
    { name: 'DELETE of all namespaces is deletecollection', request: 'DELETE /api/v1/namespaces', expect: core('deletecollection', { resource: 'namespaces', parts: ['namespaces'] }) },
    { name: 'DELETE of pods in a namespace is deletecollection', request: 'DELETE /api/v1/namespaces/other/pods', expect: core('deletecollection', pods('other')) },
    { name: 'deletecollection in a group', request: 'DELETE /apis/extensions/v1/namespaces/other/pods', expect: grouped('extensions', 'v1', 'deletecollection', pods('other')) },
    { name: 'the group comes from /apis', request: 'POST /apis/extensions/v1/namespaces/other/pods', expect: grouped('extensions', 'v1', 'create', pods('other')) },
    { name: 'the version follows the group', request: 'POST /apis/extensions/v1beta3/namespaces/other/pods', expect: grouped('extensions', 'v1beta3', 'create', pods('other')) },
    { name: 'a method with no verb gives an empty verb', request: 'OPTIONS /api/v1/pods', expect: core('', pods('')) },
    { name: 'methods are matched case-sensitively, as Go does', request: 'get /api/v1/pods', expect: core('', pods('')) },
  ]);
});

void t.test('resource or not (TestGetNonAPIRequestInfo and the error table)', async (t) => {
  runCases(t, [
    { name: 'the root is not a resource', request: 'GET /', expect: nonResource('get') },
    { name: 'an empty path is not a resource', request: 'GET ', expect: nonResource('get') },
    { name: 'a version alone is discovery', request: 'GET /api/version/', expect: nonResource('get') },
    { name: 'prefix, group and version is discovery', request: 'GET /apis/group/version/', expect: nonResource('get', { apiPrefix: 'apis' }) },
    { name: 'an unknown prefix is not a resource', request: 'GET /badprefix/version/resource', expect: nonResource('get') },
    { name: 'a group path without its group is discovery', request: 'GET /apis/version/resource', expect: nonResource('get', { apiPrefix: 'apis' }) },
    { name: 'another unknown root', request: 'GET /not-api/version/resource', expect: nonResource('get') },
    { name: 'a group version without a slash', request: 'GET /apis/extensions/v1beta1', expect: nonResource('get', { apiPrefix: 'apis' }) },
    { name: 'a group version with a slash', request: 'GET /apis/extensions/v1beta1/', expect: nonResource('get', { apiPrefix: 'apis' }) },
    { name: 'a core version', request: 'GET /api/version', expect: nonResource('get') },
    { name: 'the core prefix alone', request: 'GET /api', expect: nonResource('get') },
    { name: 'a non-resource verb is the lower-case method', request: 'POST /healthz', expect: nonResource('post') },
    { name: 'a groupless resource', request: 'GET /api/version/resource', expect: core('list', { apiVersion: 'version', resource: 'resource', parts: ['resource'] }) },
    {
      name: 'a grouped subresource',
      request: 'GET /apis/group/version/resource/name/subresource',
      expect: grouped('group', 'version', 'get', { resource: 'resource', name: 'name', subresource: 'subresource', parts: ['resource', 'name', 'subresource'] }),
    },
    {
      name: 'a groupless subresource',
      request: 'GET /api/version/resource/name/subresource',
      expect: core('get', { apiVersion: 'version', resource: 'resource', name: 'name', subresource: 'subresource', parts: ['resource', 'name', 'subresource'] }),
    },
    { name: 'a group list', request: 'GET /apis/batch/v1/job', expect: grouped('batch', 'v1', 'list', { resource: 'job', parts: ['job'] }) },
    { name: 'a group get', request: 'GET /apis/batch/v1/job/foo', expect: grouped('batch', 'v1', 'get', { resource: 'job', name: 'foo', parts: ['job', 'foo'] }) },
    {
      name: 'a group subresource',
      request: 'GET /apis/batch/v1/job/foo/scale',
      expect: grouped('batch', 'v1', 'get', { resource: 'job', name: 'foo', subresource: 'scale', parts: ['job', 'foo', 'scale'] }),
    },
  ]);
});

const list = (verb: string, fields: Fields): RequestInfo => grouped('group', 'version', verb, { resource: 'resource', parts: ['resource'], ...fields });

void t.test('field selectors name the object of a list or watch', async (t) => {
  runCases(t, [
    { name: 'no selector, no name', request: 'GET /apis/group/version/resource', expect: list('list', {}) },
    { name: 'metadata.name names a list', request: 'GET /apis/group/version/resource?fieldSelector=metadata.name=name1', expect: list('list', { name: 'name1', fieldSelector: 'metadata.name=name1' }) },
    {
      name: 'metadata.name names a watch',
      request: 'GET /apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1',
      expect: list('watch', { name: 'name1', fieldSelector: 'metadata.name=name1' }),
    },
    {
      name: 'another field names nothing',
      request: 'GET /apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux',
      expect: list('list', { fieldSelector: 'foo=bar', labelSelector: 'baz=qux' }),
    },
    {
      name: 'an unparseable selector names nothing',
      request: 'GET /apis/group/version/resource?fieldSelector=metadata.name=name1,foo',
      expect: list('list', { fieldSelector: 'metadata.name=name1,foo' }),
    },
    {
      name: 'an unparseable selector still lets watch through',
      request: 'GET /apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true',
      expect: list('watch', { fieldSelector: 'metadata.name=name1,foo' }),
    },
    {
      name: 'an unparseable selector with watch=false is a list',
      request: 'GET /apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false',
      expect: list('list', { fieldSelector: 'metadata.name=name1,foo' }),
    },
    {
      name: 'deletecollection carries its selectors but no name',
      request: 'DELETE /apis/group/version/resource?fieldSelector=metadata.name=x&labelSelector=baz=qux',
      expect: list('deletecollection', { fieldSelector: 'metadata.name=x', labelSelector: 'baz=qux' }),
    },
    {
      name: 'a repeated selector uses its first value',
      request: 'GET /apis/group/version/resource?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar&labelSelector=foo=bar&labelSelector=foo=baz',
      expect: list('list', { name: 'foo', fieldSelector: 'metadata.name=foo', labelSelector: 'foo=bar' }),
    },
    {
      name: 'a get of a name ignores selectors',
      request: 'GET /apis/group/version/resource/name?fieldSelector=foo=bar&labelSelector=foo=bar',
      expect: list('get', { name: 'name', parts: ['resource', 'name'] }),
    },
    {
      name: 'the legacy watch of a collection ignores selectors',
      request: 'GET /apis/group/version/watch/resource?fieldSelector=metadata.name=foo&labelSelector=foo=bar',
      expect: list('watch', {}),
    },
    {
      name: 'the legacy watch of a name keeps the path name and ignores selectors',
      request: 'GET /apis/group/version/watch/resource/name?fieldSelector=metadata.name=foo&labelSelector=foo=bar',
      expect: list('watch', { name: 'name', parts: ['resource', 'name'] }),
    },
  ]);
});

void t.test('field selector details from fields.ParseSelector', async (t) => {
  const named = (selector: string, name: string): Case => ({
    name: `${JSON.stringify(selector)} gives ${name === '' ? 'no name' : JSON.stringify(name)}`,
    request: `GET /api/v1/pods?fieldSelector=${encodeURIComponent(selector)}`,
    expect: core('list', { ...pods(''), name, fieldSelector: selector }),
  });
  runCases(t, [
    named('metadata.name==web', 'web'),
    named('metadata.name!=web', ''),
    named('status.phase=Running,metadata.name=web', 'web'),
    named('metadata.name=b,metadata.name=a', 'a'),
    named('metadata.name=a\\,b', 'a,b'),
    named('metadata.name=a\\=b', 'a=b'),
    named('metadata.name=a=b', ''),
    named('metadata.name=a\\x', ''),
    named('metadata.name=web\\', ''),
    named('metadata.name=..', ''),
    named('metadata.name=a/b', ''),
    named('metadata.name=a%b', ''),
    named('metadata.name=', ''),
    named(',metadata.name=web,', 'web'),
    named(' metadata.name=web', ''),
  ]);
});

void t.test('the query is decoded as ListOptions first', async (t) => {
  const withName = (query: string, name: string): Case => ({
    name: `with ${query} the selector ${name === '' ? 'names nothing' : 'names the object'}`,
    request: `GET /api/v1/pods?fieldSelector=metadata.name%3Dweb&${query}`,
    expect: core('list', { ...pods(''), name, fieldSelector: 'metadata.name=web' }),
  });
  runCases(t, [
    withName('limit=500', 'web'),
    withName('limit=-1', 'web'),
    withName('limit=%2B5', 'web'),
    withName('limit=x', ''),
    withName('limit=', ''),
    withName('limit=9223372036854775807', 'web'),
    withName('limit=9223372036854775808', ''),
    withName('timeoutSeconds=1.5', ''),
    withName('resourceVersion=abc', 'web'),
  ]);
});

void t.test('the query is parsed as Go url.ParseQuery does', async (t) => {
  runCases(t, [
    { name: 'a pair with a semicolon is dropped', request: 'GET /api/v1/pods?watch=1;x=2', expect: core('list', pods('')) },
    { name: 'a pair with a broken escape is dropped', request: 'GET /api/v1/pods?watch=%zz', expect: core('list', pods('')) },
    { name: 'plus is a space', request: 'GET /api/v1/pods?labelSelector=a+in+(b)', expect: core('list', { ...pods(''), labelSelector: 'a in (b)' }) },
    { name: 'escapes are UTF-8', request: 'GET /api/v1/pods?labelSelector=x%3D%C3%A9', expect: core('list', { ...pods(''), labelSelector: 'x=é' }) },
  ]);
  t.strictSame(requestInfo('GET', '/api/v1/pods', 'watch=1'), core('watch', pods('')), 'a raw query without its ?');
  t.strictSame(requestInfo('GET', '/api/v1/pods', new URLSearchParams({ watch: 'true', fieldSelector: 'metadata.name=a' })), core('watch', { ...pods(''), name: 'a', fieldSelector: 'metadata.name=a' }), 'parsed params');
});

void t.test('paths are split as Go splitPath does', async (t) => {
  runCases(t, [
    { name: 'trailing slashes are trimmed', request: 'GET /api/v1/namespaces/other/pods/', expect: core('list', pods('other')) },
    { name: 'inner empty segments are kept', request: 'GET /api/v1//pods', expect: core('get', { name: 'pods', parts: ['', 'pods'] }) },
  ]);
});

void t.test('long-running requests, as kube-apiserver classifies them (BasicLongRunningRequestCheck)', async (t) => {
  const cases: readonly [request: string, longRunning: boolean][] = [
    ['GET /api/v1/namespaces/a/pods?watch=1', true],
    ['GET /api/v1/watch/namespaces/a/pods', true],
    ['GET /apis/apps/v1/deployments?watch=true&resourceVersion=5', true],
    ['GET /api/v1/namespaces/a/pods/p/log?follow=true', true],
    ['GET /api/v1/namespaces/a/pods/p/log', true],
    ['POST /api/v1/namespaces/a/pods/p/exec?command=ls', true],
    ['GET /api/v1/namespaces/a/pods/p/attach', true],
    ['GET /api/v1/namespaces/a/pods/p/portforward?ports=80', true],
    ['GET /api/v1/namespaces/a/services/s/proxy/metrics', true],
    ['GET /api/v1/nodes/n/proxy/stats/summary', true],
    ['GET /api/v1/proxy/namespaces/a/pods/p', true],
    ['GET /api/v1/namespaces/a/pods?watch=0', false],
    ['GET /api/v1/namespaces/a/pods', false],
    ['GET /api/v1/namespaces/a/pods/p', false],
    ['GET /api/v1/namespaces/a/pods/p/status', false],
    ['POST /api/v1/namespaces/a/pods', false],
    ['GET /version', false],
    ['GET /logs/kube-apiserver.log', false],
    ['GET /apis', false],
  ];
  for (const [request, expected] of cases) t.equal(isLongRunning(resolve(request)), expected, request);
});
