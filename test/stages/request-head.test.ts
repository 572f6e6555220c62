// The request head checked before the stages: what llhttp lets through but a party after the proxy
// could read another way is refused, with its code; everything ordinary passes.
import type { IncomingMessage } from 'node:http';
import t from 'tap';
import { MAX_HEADER_FIELDS, MAX_URL_BYTES, requestHeadProblem } from '../../src/stages/request-head.js';

interface Head {
  readonly method?: string;
  readonly url?: string;
  readonly version?: readonly [number, number];
  /** Header lines as sent; Host: localhost first unless `noHost`. */
  readonly lines?: readonly (readonly [string, string])[];
  readonly noHost?: true;
}

/** An IncomingMessage as Node's parser leaves it: raw lines, and parsed headers (first value wins here). */
function head({ method = 'GET', url = '/version', version = [1, 1], lines = [], noHost }: Head): IncomingMessage {
  const all = [...(noHost === true ? [] : [['Host', 'localhost'] as const]), ...lines];
  const headers: Record<string, string> = {};
  for (const [name, value] of all) headers[name.toLowerCase()] ??= value;
  return { method, url, httpVersionMajor: version[0], httpVersionMinor: version[1], headers, rawHeaders: all.flat() } as unknown as IncomingMessage;
}

void t.test('requestHeadProblem', async (t) => {
  const cases: { name: string; head: Head; upgrade?: true; expect: string | undefined }[] = [
    { name: 'an ordinary GET passes', head: {}, expect: undefined },
    { name: 'a POST with a body passes', head: { method: 'POST', lines: [['Content-Length', '5']] }, expect: undefined },
    { name: 'Transfer-Encoding: chunked passes, in any case', head: { method: 'POST', lines: [['Transfer-Encoding', 'Chunked']] }, expect: undefined },
    { name: 'GET with Content-Length: 0 passes', head: { lines: [['Content-Length', '0']] }, expect: undefined },
    { name: 'HTTP/1.0 without Host passes (the Host check judges it)', head: { version: [1, 0], noHost: true }, expect: undefined },
    { name: 'two Impersonate-Group lines pass', head: { lines: [['Impersonate-Group', 'a'], ['Impersonate-Group', 'b']] }, expect: undefined },
    { name: 'an underscore in an extra key passes', head: { lines: [['Impersonate-Extra-my_key', 'v']] }, expect: undefined },
    { name: 'an underscore in another header passes', head: { lines: [['X_Custom', '1']] }, expect: undefined },
    { name: `${MAX_HEADER_FIELDS} header lines pass`, head: { lines: Array.from({ length: MAX_HEADER_FIELDS - 1 }, (_, i) => [`X-${i}`, '1'] as const) }, expect: undefined },
    { name: 'a URL at the limit passes', head: { url: `/${'u'.repeat(MAX_URL_BYTES - 1)}` }, expect: undefined },
    { name: 'a URL over the limit', head: { url: `/${'u'.repeat(MAX_URL_BYTES)}` }, expect: 'KAP_URI_TOO_LONG' },
    { name: 'more header lines than the limit', head: { lines: Array.from({ length: MAX_HEADER_FIELDS }, (_, i) => [`X-${i}`, '1'] as const) }, expect: 'KAP_HEADERS_TOO_LARGE' },
    { name: 'HTTP/2.0 on an HTTP/1 connection', head: { version: [2, 0] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'HTTP/0.9', head: { version: [0, 9] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'Transfer-Encoding: gzip, chunked', head: { method: 'POST', lines: [['Transfer-Encoding', 'gzip, chunked']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'a body on GET', head: { lines: [['Content-Length', '5']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'a chunked body on HEAD', head: { method: 'HEAD', lines: [['Transfer-Encoding', 'chunked']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'an upgrade with a body is left to the upgrader (its own code)', head: { lines: [['Content-Length', '5']] }, upgrade: true, expect: undefined },
    { name: 'HTTP/1.1 without Host', head: { noHost: true }, expect: 'KAP_BAD_REQUEST' },
    { name: 'two Host lines', head: { lines: [['Host', 'evil.example']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'two Authorization lines', head: { lines: [['Authorization', 'Bearer a'], ['AUTHORIZATION', 'Bearer b']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'two Proxy-Authorization lines', head: { lines: [['Proxy-Authorization', 'Basic a'], ['Proxy-Authorization', 'Basic b']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'two Impersonate-User lines', head: { lines: [['Impersonate-User', 'a'], ['impersonate-user', 'b']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'two Impersonate-Uid lines', head: { lines: [['Impersonate-Uid', '1'], ['Impersonate-Uid', '2']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'Impersonate_User', head: { lines: [['Impersonate_User', 'admin']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'IMPERSONATE_UID', head: { lines: [['IMPERSONATE_UID', '0']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'impersonate_group', head: { lines: [['impersonate_group', 'system:masters']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'Impersonate_Extra-scopes', head: { lines: [['Impersonate_Extra-scopes', 'x']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'Impersonate-Extra_scopes', head: { lines: [['Impersonate-Extra_scopes', 'x']] }, expect: 'KAP_BAD_REQUEST' },
    { name: 'Proxy_Authorization', head: { lines: [['Proxy_Authorization', 'Basic a']] }, expect: 'KAP_BAD_REQUEST' },
  ];
  for (const { name, head: h, upgrade, expect } of cases) t.equal(requestHeadProblem(head(h), upgrade === true)?.code, expect, name);
});

void t.test('the refusal names what is wrong', async (t) => {
  t.equal(requestHeadProblem(head({ lines: [['Impersonate_User', 'admin']] }), false)?.message, 'bad request: header "Impersonate_User": write it with "-" (an underscore spelling of an identity header is refused)');
  t.equal(requestHeadProblem(head({ lines: [['Impersonate-User', 'a'], ['Impersonate-User', 'b']] }), false)?.message, 'bad request: more than one impersonate-user header');
  t.equal(requestHeadProblem(head({ method: 'POST', lines: [['Transfer-Encoding', 'gzip, chunked']] }), false)?.message, 'bad request: Transfer-Encoding "gzip, chunked" is not supported (only chunked)');
});
