// The example API server's pods/exec over WebSocket, spoken to frame by frame: subprotocol
// choice, channels, fragments, pings, the close-channel message and the Status at the end; and
// every refusal answered in plain HTTP without an upgrade.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:tls';
import t from 'tap';
import { startApiServer } from '../../examples/api-server.js';
import { createPki } from '../../examples/pki.js';

const pki = createPki();
const api = await startApiServer({ pki, tokens: { 'token-1': 'token-user' } });
t.teardown(() => api.close());

const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;
const EXEC = '/api/v1/namespaces/default/pods/web-0/exec';

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** A masked client frame (RFC 6455 §5.3). */
function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i & 3]!));
  const length = payload.length < 126 ? Buffer.of(0x80 | payload.length) : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([Buffer.of((fin ? 0x80 : 0) | opcode), length, mask, masked]);
}

/** Parses the server's unmasked frames off the front of `bytes`. */
function serverFrames(bytes: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let at = 0;
  while (bytes.length - at >= 2) {
    const short = bytes[at + 1]! & 0x7f;
    const extra = short === 126 ? 2 : short === 127 ? 8 : 0;
    if (bytes.length - at < 2 + extra) break;
    const length = short === 126 ? bytes.readUInt16BE(at + 2) : short === 127 ? Number(bytes.readBigUInt64BE(at + 2)) : short;
    if (bytes.length - at < 2 + extra + length) break;
    frames.push({ fin: (bytes[at]! & 0x80) !== 0, opcode: bytes[at]! & 0x0f, payload: bytes.subarray(at + 2 + extra, at + 2 + extra + length) });
    at += 2 + extra + length;
  }
  return { frames, rest: bytes.subarray(at) };
}

interface Session {
  status: number;
  head: string;
  /** The next frame from the server, within 10 s. */
  next(): Promise<Frame>;
  /** Frames until (and with) the close frame. */
  untilClosed(): Promise<Frame[]>;
  /** Everything after the response head, once the server has closed the connection (within 10 s). */
  rest(): Promise<string>;
  send(bytes: Buffer): void;
}

/** Opens a TLS connection, with the client certificate unless told otherwise, and sends a request head. */
function open(path: string, headers: Record<string, string>, withCert = true): Promise<Session> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: api.port, ca: pki.caCert, ...(withCert ? { cert: pki.clientCert, key: pki.clientKey } : {}) });
    t.teardown(() => socket.destroy());
    let head: string | undefined;
    let unparsed: Buffer = Buffer.alloc(0);
    const afterHead: Buffer[] = [];
    const queue: Frame[] = [];
    let wake: (() => void) | undefined;
    const closed = new Promise<void>((resolveClose) => socket.once('close', () => resolveClose()));
    const timer = setTimeout(() => reject(new Error('no response head within 10 s')), 10_000);
    socket.on('error', reject);
    socket.on('close', () => wake?.());
    socket.on('data', (chunk: Buffer) => {
      unparsed = Buffer.concat([unparsed, chunk]);
      if (head === undefined) {
        const end = unparsed.indexOf('\r\n\r\n');
        if (end === -1) return;
        clearTimeout(timer);
        head = unparsed.subarray(0, end).toString('latin1');
        unparsed = unparsed.subarray(end + 4);
        resolve({ status: Number(head.split(' ')[1]), head, next, untilClosed, rest, send: (bytes) => socket.write(bytes) });
      }
      afterHead.push(unparsed);
      const parsed = serverFrames(unparsed);
      queue.push(...parsed.frames);
      unparsed = parsed.rest;
      wake?.();
    });
    const next = (): Promise<Frame> =>
      new Promise((resolveFrame, rejectFrame) => {
        const give = () => {
          const frame = queue.shift();
          if (frame !== undefined) return resolveFrame(frame);
          if (socket.destroyed) return rejectFrame(new Error('connection closed before the next frame'));
          const wait = setTimeout(() => rejectFrame(new Error('no frame within 10 s')), 10_000);
          wake = () => {
            clearTimeout(wait);
            wake = undefined;
            give();
          };
        };
        give();
      });
    const untilClosed = async (): Promise<Frame[]> => {
      const frames: Frame[] = [];
      for (let frame = await next(); ; frame = await next()) {
        frames.push(frame);
        if (frame.opcode === OP.close) return frames;
      }
    };
    const rest = async (): Promise<string> => {
      let timeout: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, rejectLate) => (timeout = setTimeout(() => rejectLate(new Error('the server did not close within 10 s')), 10_000)));
      await Promise.race([closed, late]).finally(() => clearTimeout(timeout));
      return Buffer.concat(afterHead).toString();
    };
    const lines = [`GET ${path} HTTP/1.1`, 'Host: localhost', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
    socket.write(lines.join('\r\n') + '\r\n\r\n');
  });
}

const websocket = (protocols = 'v5.channel.k8s.io'): Record<string, string> => ({
  Connection: 'Upgrade',
  Upgrade: 'websocket',
  'Sec-WebSocket-Version': '13',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Protocol': protocols,
});

/** A binary message on a channel. */
const onChannel = (channel: number, data: Buffer | string = Buffer.alloc(0)) => Buffer.concat([Buffer.of(channel), Buffer.from(data)]);
const channelOf = (frame: Frame) => ({ channel: frame.payload[0], data: frame.payload.subarray(1).toString() });

void t.test('the handshake: RFC 6455 accept value, and the first offered protocol this server speaks', async (t) => {
  const v4 = await open(`${EXEC}?command=true&stdout=true`, websocket('v4.channel.k8s.io, v5.channel.k8s.io'));
  t.equal(v4.status, 101);
  t.match(v4.head, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=(\r\n|$)/, "RFC 6455's example key and answer");
  t.match(v4.head, /\r\nSec-WebSocket-Protocol: v4\.channel\.k8s\.io(\r\n|$)/);
  t.equal(api.execSessions.at(-1)?.protocol, 'v4.channel.k8s.io');
  const v5 = await open(`${EXEC}?command=true&stdout=true`, websocket('v1.channel.k8s.io, v5.channel.k8s.io'));
  t.match(v5.head, /\r\nSec-WebSocket-Protocol: v5\.channel\.k8s\.io(\r\n|$)/, 'protocols it does not speak are skipped');
});

void t.test('echo: stdout, then a Success Status on the error channel, then a normal close', async (t) => {
  const session = await open(`${EXEC}?command=echo&command=hi&command=there&stdout=true&stderr=true`, websocket());
  const frames = await session.untilClosed();
  t.same(frames.slice(0, 2).map(channelOf), [
    { channel: 1, data: 'hi there\n' },
    { channel: 3, data: '{"metadata":{},"status":"Success"}' },
  ]);
  t.equal(frames[2]?.payload.readUInt16BE(0), 1000, 'close code 1000');
  t.equal(api.requests.at(-1)?.user, 'kube-admin', 'authenticated and recorded like any request');
});

void t.test('cat: fragmented stdin reassembled, pings answered, v5 close-channel ends stdin', async (t) => {
  const session = await open(`${EXEC}?command=cat&stdin=true&stdout=true`, websocket());
  const message = onChannel(0, 'a'.repeat(300) + 'b'.repeat(300));
  session.send(clientFrame(OP.binary, message.subarray(0, 200), false));
  session.send(clientFrame(OP.ping, Buffer.from('are you there')));
  session.send(clientFrame(OP.continuation, message.subarray(200, 450), false));
  session.send(clientFrame(OP.continuation, message.subarray(450), true));
  const pong = await session.next();
  t.same({ opcode: pong.opcode, payload: pong.payload.toString() }, { opcode: OP.pong, payload: 'are you there' }, 'a control frame may come between fragments');
  t.same(channelOf(await session.next()), { channel: 1, data: 'a'.repeat(300) + 'b'.repeat(300) });
  session.send(clientFrame(OP.binary, Buffer.of(255, 0)));
  t.same(channelOf(await session.next()), { channel: 3, data: '{"metadata":{},"status":"Success"}' });
  t.equal((await session.next()).opcode, OP.close);
  t.match(api.execSessions.at(-1), { command: ['cat'], stdinBytes: 600, stdinClosed: true, exitCode: 0 });
});

void t.test("exit codes as kubelet reports them: NonZeroExitCode with an ExitCode cause", async (t) => {
  const session = await open(`${EXEC}?command=sh&command=-c&command=exit%203&stdout=true`, websocket());
  const status = JSON.parse(channelOf((await session.untilClosed())[0]!).data) as unknown;
  t.match(status, { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  const missing = await open(`${EXEC}?command=nosuch&stdout=true`, websocket());
  t.match(JSON.parse(channelOf((await missing.untilClosed())[0]!).data), { status: 'Failure', reason: 'InternalError', message: /executable file not found/ });
});

void t.test('a broken client frame closes the connection with 1002', async (t) => {
  const session = await open(`${EXEC}?command=cat&stdin=true&stdout=true`, websocket());
  session.send(Buffer.from([0x82, 0x01, 0x00]));
  const close = await session.next();
  t.equal(close.opcode, OP.close);
  t.equal(close.payload.readUInt16BE(0), 1002, 'unmasked client frames are a protocol error');
});

void t.test('refusals are plain HTTP Status answers, never an upgrade', async (t) => {
  const cases: [string, string, Record<string, string>, boolean, number, RegExp][] = [
    ['no credentials', EXEC + '?command=true&stdout=true', websocket(), false, 401, /"reason":"Unauthorized"/],
    ['a wrong token', EXEC + '?command=true&stdout=true', { ...websocket(), Authorization: 'Bearer wrong' }, false, 401, /"reason":"Unauthorized"/],
    ['an unknown pod', '/api/v1/namespaces/default/pods/nope/exec?command=true&stdout=true', websocket(), true, 404, /pods \\"nope\\" not found/],
    ['an unknown container', EXEC + '?command=true&stdout=true&container=db', websocket(), true, 400, /container db is not valid for pod web-0/],
    ['no command', EXEC + '?stdout=true', websocket(), true, 400, /at least one command/],
    ['no stream', EXEC + '?command=true', websocket(), true, 400, /at least 1 of stdin, stdout, stderr/],
    ['a protocol this server does not speak (SPDY/3.1 is served: test/examples/spdy.test.ts)', EXEC + '?command=true&stdout=true', { Connection: 'Upgrade', Upgrade: 'h2c' }, true, 400, /WebSocket or SPDY\/3\.1 only, not h2c/],
    ['no protocol this server speaks', EXEC + '?command=true&stdout=true', websocket('v1.channel.k8s.io'), true, 400, /requested protocol\(s\) are not supported/],
    ['no upgrade at all', EXEC + '?command=true&stdout=true', { Connection: 'close' }, true, 400, /Upgrade request required/],
    ['an upgrade of another path gets its plain answer', '/version', websocket(), true, 200, /"gitVersion"/],
  ];
  const sessions = api.execSessions.length;
  for (const [name, path, headers, withCert, status, body] of cases) {
    const session = await open(path, headers, withCert);
    t.equal(session.status, status, name);
    t.match(await session.rest(), body, `${name}: body, then the connection closes`);
  }
  t.equal(api.execSessions.length, sessions, 'no session started');
});
