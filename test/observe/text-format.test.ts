// The text log format: pino's JSON records in, one readable line (plus indented header lines) out.
import t from 'tap';
import { createLogger, resolveLogFormat } from '../../src/observe/logger.js';
import { createTextDestination, formatRecord } from '../../src/observe/text-format.js';

/** 17:03:21.040 local time, as the formatter prints local time. */
const TIME = new Date(2026, 11, 1, 17, 3, 21, 40).getTime();
const AUDIT = '014778c0-cdff-4162-a3ce-1853ee419b34';

const request = {
  level: 20,
  time: TIME,
  method: 'GET',
  url: '/api/v1/namespaces/default/pods',
  status: 200,
  completed: true,
  ms: 48.01,
  auditID: AUDIT,
  connection: 'new',
  phases: { total: 45.957, tcp: 3.792, tls: 15.783, queue: 1.427, server: 23.501, transfer: 1.454 },
  responseBytes: 679,
  msg: 'request completed',
};

void t.test('each record becomes one line: time, level, message, key=value', async (t) => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['a message alone', { level: 40, time: TIME, msg: 'listening beyond loopback' }, '17:03:21.040 WARN  listening beyond loopback'],
    ['a string with spaces is quoted', { level: 30, time: TIME, identity: 'client certificate CN=admin', msg: 'acting as' }, '17:03:21.040 INFO  acting as identity="client certificate CN=admin"'],
    ['a bare word is not', { level: 30, time: TIME, signal: 'SIGTERM', msg: 'shutting down' }, '17:03:21.040 INFO  shutting down signal=SIGTERM'],
    ['numbers and errors', { level: 50, time: TIME, error: 'connect ECONNREFUSED 10.0.0.1:6443', status: 503, msg: 'Error while proxying request' }, '17:03:21.040 ERROR Error while proxying request error="connect ECONNREFUSED 10.0.0.1:6443" status=503'],
    ['an object is JSON', { level: 30, time: TIME, limits: { a: 1 }, msg: 'x' }, '17:03:21.040 INFO  x limits={"a":1}'],
    ['an unknown level is shown as given', { level: 35, time: TIME, msg: 'custom' }, '17:03:21.040 35    custom'],
    ['no message', { level: 60, time: TIME, code: 'E' }, '17:03:21.040 FATAL code=E'],
  ];
  for (const [name, record, line] of cases) t.equal(formatRecord(record), line, name);
});

void t.test('the per-request line is an access-log line, phases in the order they happen', async (t) => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['a new connection', request, `17:03:21.040 GET /api/v1/namespaces/default/pods 200 48.0ms new queue=1.4 tcp=3.8 tls=15.8 server=23.5 transfer=1.5 679B audit=${AUDIT}`],
    [
      'a reused one, with a plugin run',
      { ...request, connection: 'reused', phases: { total: 9, credentials: 5.25, queue: 0.44, server: 2.387, transfer: 0.258 } },
      `17:03:21.040 GET /api/v1/namespaces/default/pods 200 48.0ms reused credentials=5.3 queue=0.4 server=2.4 transfer=0.3 679B audit=${AUDIT}`,
    ],
    [
      'a local answer: no timeline',
      { level: 20, time: TIME, method: 'POST', url: '/api/v1/x', status: 403, completed: true, ms: 0.31, msg: 'request completed' },
      '17:03:21.040 POST /api/v1/x 403 0.3ms',
    ],
    [
      'a response cut short, and a field the compact form does not know',
      { ...request, completed: false, connection: undefined, phases: {}, responseBytes: 12, verb: 'list', shard: 'b' },
      `17:03:21.040 GET /api/v1/namespaces/default/pods 200 48.0ms incomplete 12B audit=${AUDIT} shard=b`,
    ],
    [
      'an upgrade: the session follows as key=value',
      { ...request, msg: 'upgrade completed', url: '/api/v1/namespaces/d/pods/p/exec?command=sh', status: 101, responseBytes: undefined, protocol: 'websocket', sessionMs: 1500.2, closedBy: 'client' },
      `17:03:21.040 GET /api/v1/namespaces/d/pods/p/exec?command=sh 101 48.0ms new queue=1.4 tcp=3.8 tls=15.8 server=23.5 transfer=1.5 audit=${AUDIT} protocol=websocket sessionMs=1500.2 closedBy=client`,
    ],
  ];
  for (const [name, record, line] of cases) t.equal(formatRecord(record), line, name);
});

void t.test('-v=7/8 headers follow on indented lines, sorted; -v=9 the curl command', async (t) => {
  const record = {
    ...request,
    requestHeaders: { 'user-agent': 'kubectl/v1.32', accept: '*/*', authorization: 'Bearer <masked>' },
    responseHeaders: { 'set-cookie': ['<masked>', '<masked>'], 'content-type': 'application/json' },
    curl: `curl -v -XGET -H "accept: */*" 'https://10.0.0.1:6443/api/v1/namespaces/default/pods'`,
  };
  t.same(formatRecord(record).split('\n').slice(1), [
    '    > accept: */*',
    '    > authorization: Bearer <masked>',
    '    > user-agent: kubectl/v1.32',
    '    < content-type: application/json',
    '    < set-cookie: <masked>',
    '    < set-cookie: <masked>',
    `    curl -v -XGET -H "accept: */*" 'https://10.0.0.1:6443/api/v1/namespaces/default/pods'`,
  ]);
});

void t.test('the destination turns each JSON line into text and passes anything else through', async (t) => {
  const written: string[] = [];
  let flushed = 0;
  const destination = createTextDestination({ write: (text) => written.push(text), flushSync: () => flushed++ });
  destination.write(JSON.stringify({ level: 30, time: TIME, msg: 'one' }) + '\n');
  destination.write('not json\n');
  destination.flushSync();
  t.same(written, ['17:03:21.040 INFO  one\n', 'not json\n']);
  t.equal(flushed, 1, 'a flush reaches the file destination');
});

void t.test('through pino: levels and redaction apply before the text form', async (t) => {
  let out = '';
  const stderr = { isTTY: false, write: (text: string) => ((out += text), true) } as unknown as NodeJS.WriteStream;
  const logger = createLogger({ verbosity: 0, format: 'text' }, stderr);
  logger.info({ headers: { authorization: 'Bearer planted-secret' }, token: 'planted-token' }, 'hello');
  logger.debug('not at -v=0');
  t.match(out, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}hello headers=\{"authorization":"<masked>"\} token=<masked>\n$/);
  t.notMatch(out, /planted/);
});

void t.test('text on a terminal, JSON lines for anything else', async (t) => {
  const cases: [string, Parameters<typeof resolveLogFormat>[0], boolean, string][] = [
    ['stderr is a terminal', { verbosity: 0 }, true, 'text'],
    ['stderr is a pipe or file', { verbosity: 0 }, false, 'json'],
    ['--log-file, even from a terminal', { verbosity: 0, file: '/tmp/log' }, true, 'json'],
    ['--log-format wins', { verbosity: 0, format: 'json' }, true, 'json'],
    ['--log-format text into a file', { verbosity: 0, format: 'text', file: '/tmp/log' }, false, 'text'],
  ];
  for (const [name, options, terminal, format] of cases) t.equal(resolveLogFormat(options, terminal), format, name);
});
