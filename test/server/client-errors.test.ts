// What the proxy answers when Node's parser refuses a request, or its head is too slow.
import t from 'tap';
import { clientErrorAnswer } from '../../src/server/client-errors.js';

/** An error as Node hands it to 'clientError'. */
function parserError(code: string, reason?: string): Error & { code: string; reason?: string } {
  return Object.assign(new Error(reason === undefined ? code : `Parse Error: ${reason}`), { code, ...(reason === undefined ? {} : { reason }) });
}

void t.test('clientErrorAnswer', async (t) => {
  const cases: [string, Error & { code: string }, [number, string] | undefined][] = [
    ['a smuggling shape llhttp refuses', parserError('HPE_UNEXPECTED_CONTENT_LENGTH', 'Duplicate Content-Length'), [400, 'KAP_BAD_REQUEST']],
    ['a head over the size limit', parserError('HPE_HEADER_OVERFLOW', 'Header overflow'), [431, 'KAP_HEADERS_TOO_LARGE']],
    ['chunk extensions over their limit', parserError('HPE_CHUNK_EXTENSIONS_OVERFLOW', 'Chunk extensions overflow'), [413, 'KAP_CHUNK_EXTENSIONS_TOO_LARGE']],
    ['a head that did not arrive in time', parserError('ERR_HTTP_REQUEST_TIMEOUT'), [408, 'KAP_REQUEST_HEADERS_TIMEOUT']],
    ['a reset connection: nobody to answer', parserError('ECONNRESET'), undefined],
  ];
  for (const [name, err, expected] of cases) {
    const answer = clientErrorAnswer(err, 10_000);
    t.same(answer === undefined ? undefined : [answer.statusCode, answer.code], expected, name);
  }
  t.equal(clientErrorAnswer(parserError('HPE_UNEXPECTED_CONTENT_LENGTH', 'Duplicate Content-Length'), 10_000)?.message, 'malformed HTTP request: Duplicate Content-Length (HPE_UNEXPECTED_CONTENT_LENGTH)');
  t.equal(clientErrorAnswer(parserError('ERR_HTTP_REQUEST_TIMEOUT'), 1_500)?.message, "the request's line and headers did not arrive within 1.5s (--headers-timeout)");
});
