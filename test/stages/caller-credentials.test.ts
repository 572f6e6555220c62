// The caller's proof in headers, and its removal before forwarding: pure functions and a request
// object as node:http makes it (rawHeaders, and the headers parsed from them).
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import t from 'tap';
import { basicPassword, bearerToken, consumeCallerCredentials, cookieValues, proofOf, withoutCookie } from '../../src/stages/caller-credentials.js';
import { CallerSecrets } from '../../src/stages/caller-secrets.js';

const TOKEN = 'the-caller-token-0123456789';

/** A request with these raw headers, as the HTTP parser hands it over. */
function request(rawHeaders: string[]): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.rawHeaders = rawHeaders;
  // What Node's parser does: the parsed view is built from rawHeaders on first use.
  for (let i = 0; i < rawHeaders.length; i += 2) (req as unknown as { _addHeaderLine(name: string, value: string, dest: object): void })._addHeaderLine(rawHeaders[i]!, rawHeaders[i + 1]!, req.headers);
  return req;
}

void t.test('header values', async (t) => {
  t.equal(bearerToken(`Bearer ${TOKEN}`), TOKEN);
  t.equal(bearerToken(`bearer   ${TOKEN} `), TOKEN, 'the scheme in any case, spaces around');
  t.equal(bearerToken(`Basic ${TOKEN}`), undefined);
  t.equal(bearerToken('Bearer a b'), undefined, 'one token only');
  t.equal(basicPassword(`Basic ${Buffer.from(`caller:${TOKEN}`).toString('base64')}`), TOKEN);
  t.equal(basicPassword(`Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`), TOKEN, 'an empty user name');
  t.equal(basicPassword(`Basic ${Buffer.from('a:b:c').toString('base64')}`), 'b:c', 'the password is everything after the first colon');
  t.equal(basicPassword(`Basic ${Buffer.from(TOKEN).toString('base64')}`), undefined, 'no colon, no password');
  t.same(cookieValues('a=1; kap=x; b=2; kap=y', 'kap'), ['x', 'y']);
  t.same(cookieValues('kapx=1', 'kap'), []);
  t.equal(withoutCookie('a=1; kap=x;b=2', 'kap'), 'a=1; b=2');
  t.equal(withoutCookie('kap=x', 'kap'), '');
});

void t.test('proofOf looks at every header of each kind', async (t) => {
  const secrets = new CallerSecrets(TOKEN, 60_000);
  const cookie = `kap=${secrets.sessionValue}`;
  const cases: [string, string[], string | undefined][] = [
    ['nothing', [], undefined],
    ['Bearer', ['Authorization', `Bearer ${TOKEN}`], 'authorization'],
    ['the second Authorization', ['Authorization', 'Bearer other', 'authorization', `Bearer ${TOKEN}`], 'authorization'],
    ['Proxy-Authorization Basic', ['Proxy-Authorization', `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`], 'proxy-authorization'],
    ['the session cookie', ['Cookie', `a=1; ${cookie}`], 'cookie'],
    ['the session cookie under another name', ['Cookie', `other=${secrets.sessionValue}`], undefined],
    ['the token as a cookie', ['Cookie', `kap=${TOKEN}`], undefined],
    ['the session value as a bearer token', ['Authorization', `Bearer ${secrets.sessionValue}`], undefined],
  ];
  for (const [name, raw, proof] of cases) t.equal(proofOf(request(raw), secrets, 'kap'), proof, name);
});

void t.test('consumeCallerCredentials takes off what is addressed to the proxy, and only that', async (t) => {
  const secrets = new CallerSecrets(TOKEN, 60_000);
  const req = request([
    'Host', 'localhost',
    'Authorization', `Bearer ${TOKEN}`,
    'Authorization', 'Bearer own-identity',
    'Proxy-Authorization', 'Basic eDp5',
    'Cookie', `a=1; kap=${secrets.sessionValue}`,
    'Cookie', `kap=${secrets.sessionValue}`,
  ]);
  consumeCallerCredentials(req, secrets, 'kap');
  t.same(req.rawHeaders, ['Host', 'localhost', 'Authorization', 'Bearer own-identity', 'Cookie', 'a=1']);
  t.equal(req.headers.authorization, 'Bearer own-identity', "the client's own Authorization is what is left");
  t.equal(req.headers.cookie, 'a=1');
  t.equal(req.headers['proxy-authorization'], undefined);

  const only = request(['Authorization', `Bearer ${TOKEN}`, 'Cookie', `kap=${secrets.sessionValue}`]);
  consumeCallerCredentials(only, secrets, 'kap');
  t.same(only.rawHeaders, []);
  t.equal(only.headers.authorization, undefined, 'no Authorization left: the kubeconfig credential will be injected');
  t.equal(only.headers.cookie, undefined);
});
