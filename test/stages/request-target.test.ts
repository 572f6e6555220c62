// The canonical path: decoded once, cleaned like Go's ServeMux, re-encoded for the wire.
import t from 'tap';
import { cleanPath, encodePath, parseRequestTarget } from '../../src/stages/request-target.js';

void t.test('cleanPath follows Go path.Clean and keeps a trailing slash', async (t) => {
  const cases: [string, string][] = [
    ['/', '/'],
    ['//api/v1/pods', '/api/v1/pods'],
    ['/api/v1/../v1/pods', '/api/v1/pods'],
    ['/api/./v1/pods/', '/api/v1/pods/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
  ];
  for (const [input, expected] of cases) t.equal(cleanPath(input), expected, input);
});

void t.test('parseRequestTarget', async (t) => {
  const cases: { name: string; target: string; expect: ReturnType<typeof parseRequestTarget> }[] = [
    { name: 'a clean path passes with its query untouched', target: '/api/v1/pods?labelSelector=a%3Db&x', expect: { kind: 'path', path: '/api/v1/pods', query: '?labelSelector=a%3Db&x' } },
    { name: 'dot segments redirect to the clean path, query kept', target: '/api/v1/../v1/pods?x=1', expect: { kind: 'redirect', location: '/api/v1/pods?x=1' } },
    { name: 'double slashes redirect', target: '//api/v1/pods', expect: { kind: 'redirect', location: '/api/v1/pods' } },
    { name: 'an encoded dot segment is a dot segment', target: '/%2e/api/v1/namespaces/d/pods/p/exec', expect: { kind: 'redirect', location: '/api/v1/namespaces/d/pods/p/exec' } },
    { name: 'encoded dot-dot climbs like dot-dot', target: '/api/v1/namespaces/d/pods/p/x/%2e%2E/exec', expect: { kind: 'redirect', location: '/api/v1/namespaces/d/pods/p/exec' } },
    { name: 'an encoded slash is a slash', target: '/api/v1/namespaces/d/pods/p%2Fexec', expect: { kind: 'path', path: '/api/v1/namespaces/d/pods/p/exec', query: '' } },
    { name: 'encoded letters decode', target: '/api/v1/namespaces/d/pods/p/%65xec', expect: { kind: 'path', path: '/api/v1/namespaces/d/pods/p/exec', query: '' } },
    { name: 'absolute-form targets use their path and name their host', target: 'http://localhost:8001/api/v1/pods?w=1', expect: { kind: 'path', path: '/api/v1/pods', query: '?w=1', authority: 'localhost:8001' } },
    { name: 'an absolute-form target without a path means /', target: 'https://[::1]:8001?w=1', expect: { kind: 'path', path: '/', query: '?w=1', authority: '[::1]:8001' } },
    { name: 'an absolute-form path is cleaned like any other', target: 'http://localhost/%2e/api/v1/pods', expect: { kind: 'redirect', location: '/api/v1/pods' } },
    { name: 'user information in an absolute-form target is refused', target: 'http://localhost@evil.example/api', expect: { kind: 'invalid', message: 'invalid request target "http://localhost@evil.example/api"' } },
    { name: 'an absolute-form target without a host is refused', target: 'http:///api', expect: { kind: 'invalid', message: 'invalid request target "http:///api"' } },
    { name: 'an absolute-form target with a port out of range is refused', target: 'http://a:99999/x', expect: { kind: 'invalid', message: 'invalid request target "http://a:99999/x"' } },
    { name: 'a fragment is refused', target: '/api/v1/pods#x', expect: { kind: 'invalid', message: 'fragment in request target "/api/v1/pods#x"' } },
    { name: 'a NUL byte is refused', target: '/api/v1/pods%00', expect: { kind: 'invalid', message: 'control character in request path' } },
    { name: 'broken percent-encoding is refused', target: '/api/%zz', expect: { kind: 'invalid', message: 'invalid percent-encoding in path "/api/%zz"' } },
    { name: 'an asterisk target is refused', target: '*', expect: { kind: 'invalid', message: 'invalid request target "*"' } },
  ];
  for (const { name, target, expect } of cases) t.same(parseRequestTarget(target), expect, name);
});

void t.test('encodePath escapes data but keeps separators and pchar delimiters', async (t) => {
  t.equal(encodePath('/api/v1/namespaces/a b/services/s:http/proxy/x@y'), '/api/v1/namespaces/a%20b/services/s:http/proxy/x@y');
  t.equal(encodePath('/a?b#c%d'), '/a%3Fb%23c%25d');
});

void t.test('the fast paths of cleanPath and encodePath give what the segment-by-segment forms give', async (t) => {
  // The forms without the shortcuts, as they were before them.
  const slowClean = (path: string): string => {
    const out: string[] = [];
    for (const segment of path.split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') out.pop();
      else out.push(segment);
    }
    const last = path.split('/').at(-1);
    const cleaned = '/' + out.join('/');
    return (path.endsWith('/') || last === '.' || last === '..') && cleaned !== '/' ? cleaned + '/' : cleaned;
  };
  const slowEncode = (path: string): string =>
    path
      .split('/')
      .map((segment) => encodeURIComponent(segment).replace(/%(?:24|26|2B|2C|3B|3D|3A|40)/g, (escape) => decodeURIComponent(escape)))
      .join('/');
  const characters = [...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)), 'é', '☃', '\u{1F600}'];
  let checked = 0;
  for (const c of characters) {
    for (const path of [`/${c}`, `/api/v1/${c}x`, `/a${c}/b/`, `/${c}${c}/.${c}`, `/x/${c}/..`, `/${c}/./y`]) {
      t.equal(cleanPath(path), slowClean(path), `cleanPath(${JSON.stringify(path)})`);
      t.equal(encodePath(path), slowEncode(path), `encodePath(${JSON.stringify(path)})`);
      checked++;
    }
  }
  t.ok(checked > 500);
});
