// SPDY/3.1 of the example API server, frame by frame: the framing and header compression on
// their own, then exec (v4.channel.k8s.io streams) and port-forward (error/data stream pairs)
// spoken to by a client built on the same codec, and the refusals, which stay plain HTTP.
import { randomBytes } from 'node:crypto';
import { connect, type TLSSocket } from 'node:tls';
import t from 'tap';
import { startApiServer } from '../../examples/api-server.js';
import {
  decodeHeaderBlock,
  encodeControlFrame,
  encodeDataFrame,
  encodeHeaderBlock,
  encodePing,
  encodeSettings,
  encodeSynStream,
  encodeWindowUpdate,
  Flag,
  FrameParser,
  FrameType,
  HeaderCompressor,
  HeaderDecompressor,
  parseStreamHeaders,
  SPDY_DICTIONARY,
  type ControlFrame,
  type Frame,
} from '../../examples/api-server/spdy.js';
import { createPki } from '../../examples/pki.js';

const pki = createPki();
const api = await startApiServer({ pki, tokens: { 'token-1': 'token-user' } });
t.teardown(() => api.close());

const EXEC = '/api/v1/namespaces/default/pods/web-0/exec';
const PORT_FORWARD = '/api/v1/namespaces/default/pods/web-0/portforward';
const SPDY_EXEC = { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io, v3.channel.k8s.io' };
const SPDY_PORT_FORWARD = { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' };

void t.test('framing: the dictionary, header blocks, compression and split frames', async (t) => {
  t.equal(SPDY_DICTIONARY.length, 1423, "the dictionary has Go's 1423 bytes");
  t.same(SPDY_DICTIONARY.subarray(0, 11), Buffer.from('\0\0\0\x07options', 'latin1'));
  t.equal(SPDY_DICTIONARY.subarray(-6).toString('latin1'), 'enq=0.');

  const block = encodeHeaderBlock({ streamtype: 'data', port: '80', multi: ['a', 'b'] });
  t.same([...decodeHeaderBlock(block)], [['streamtype', ['data']], ['port', ['80']], ['multi', ['a', 'b']]], 'NUL-separated values');
  t.throws(() => decodeHeaderBlock(Buffer.concat([Buffer.of(0, 0, 0, 1, 0, 0, 0, 1), Buffer.from('A'), Buffer.of(0, 0, 0, 0)])), { name: 'SpdyProtocolError' }, 'upper-case names are refused');
  const twice = Buffer.concat([Buffer.of(0, 0, 0, 2), encodeHeaderBlock({ a: '1' }).subarray(4), encodeHeaderBlock({ a: '2' }).subarray(4)]);
  t.throws(() => decodeHeaderBlock(twice), { name: 'SpdyProtocolError' }, 'a repeated name is refused');
  t.throws(() => decodeHeaderBlock(block.subarray(0, block.length - 1)), { name: 'SpdyProtocolError' }, 'a truncated block is refused');

  // One zlib stream per direction: each block depends on those before it.
  const compressor = new HeaderCompressor();
  const decompressor = new HeaderDecompressor();
  t.teardown(() => {
    compressor.close();
    decompressor.close();
  });
  const blocks: Record<string, string>[] = [{ streamtype: 'error' }, { streamtype: 'stdout' }, { streamtype: 'stdout', extra: 'x'.repeat(100_000) }];
  for (const headers of blocks) {
    const compressed = await compressor.compress(headers);
    t.same(compressed.subarray(-4), Buffer.of(0, 0, 0xff, 0xff), 'each block ends with a sync flush');
    t.same(Object.fromEntries([...(await decompressor.decompress(compressed))].map(([k, v]) => [k, v[0]])), headers);
  }
  const stranger = new HeaderDecompressor();
  t.teardown(() => stranger.close());
  await t.rejects(stranger.decompress(await compressor.compress({ a: 'b' })), { name: 'SpdyProtocolError' }, 'a block out of its stream does not decode');

  const frames = Buffer.concat([encodeDataFrame(5, Buffer.from('abc'), true), encodePing(7), encodeWindowUpdate(5, 1000)]);
  const parser = new FrameParser();
  const parsed: Frame[] = [];
  for (const byte of frames) parsed.push(...parser.push(Buffer.of(byte)));
  t.match(parsed, [
    { control: false, streamId: 5, flags: Flag.fin, data: Buffer.from('abc') },
    { control: true, version: 3, type: FrameType.ping, flags: 0 },
    { control: true, version: 3, type: FrameType.windowUpdate, flags: 0 },
  ]);
});

interface Client {
  status: number;
  head: string;
  /** Opens a stream with these headers; resolves when the server's SYN_REPLY arrives (10 s). */
  open(streamId: number, headers: Record<string, string>, flags?: number): Promise<void>;
  send(bytes: Buffer): void;
  /** Resolves with the data of a stream once the server sends FIN on it (10 s). */
  finished(streamId: number): Promise<Buffer>;
  /** The next control frame of `type` (10 s). */
  control(type: number): Promise<ControlFrame>;
  /** Everything after the response head, once the server has closed the connection (10 s). */
  rest(): Promise<string>;
  socket: TLSSocket;
}

/** Connects with the client certificate, sends an upgrade request and speaks SPDY once it gets 101. */
function open(path: string, headers: Record<string, string>): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: api.port, ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey });
    t.teardown(() => socket.destroy());
    const compressor = new HeaderCompressor();
    const decompressor = new HeaderDecompressor();
    const parser = new FrameParser();
    let head: string | undefined;
    let unparsed = Buffer.alloc(0);
    const after: Buffer[] = [];
    const data = new Map<number, Buffer[]>();
    const waiters: (() => void)[] = [];
    const controls: ControlFrame[] = [];
    const replied = new Set<number>();
    const fins = new Set<number>();
    const closed = new Promise<void>((resolveClose) => socket.once('close', () => resolveClose()));
    const wake = () => waiters.splice(0).forEach((wakeUp) => wakeUp());
    // Frames are handled in order; SYN_REPLY's header block goes through the decompressor.
    let frameQueue: Promise<void> = Promise.resolve();
    const onFrame = async (frame: Frame) => {
      if (!frame.control) {
        data.set(frame.streamId, [...(data.get(frame.streamId) ?? []), frame.data]);
        if ((frame.flags & Flag.fin) !== 0) fins.add(frame.streamId);
      } else if (frame.type === FrameType.synReply) {
        const { streamId, block } = parseStreamHeaders(frame.payload);
        await decompressor.decompress(block);
        replied.add(streamId);
      } else controls.push(frame);
      wake();
    };
    const until = <T>(what: string, check: () => T | undefined): Promise<T> =>
      new Promise((resolveWait, rejectWait) => {
        const timer = setTimeout(() => rejectWait(new Error(`no ${what} within 10 s`)), 10_000);
        const poll = () => {
          const value = check();
          if (value !== undefined) {
            clearTimeout(timer);
            resolveWait(value);
          } else if (drainedAfterClose) {
            clearTimeout(timer);
            rejectWait(new Error(`connection closed before ${what}`));
          }
          else waiters.push(poll);
        };
        poll();
      });
    const timer = setTimeout(() => reject(new Error('no response head within 10 s')), 10_000);
    socket.on('error', reject);
    let drainedAfterClose = false;
    socket.once('close', () => {
      void frameQueue.then(() => {
        drainedAfterClose = true;
        wake();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      if (head !== undefined) {
        after.push(chunk);
        for (const frame of parser.push(chunk)) frameQueue = frameQueue.then(() => onFrame(frame));
        return;
      }
      unparsed = Buffer.concat([unparsed, chunk]);
      const end = unparsed.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      head = unparsed.subarray(0, end).toString('latin1');
      const rest = unparsed.subarray(end + 4);
      after.push(rest);
      for (const frame of parser.push(rest)) frameQueue = frameQueue.then(() => onFrame(frame));
      resolve({
        status: Number(head.split(' ')[1]),
        head,
        socket,
        send: (bytes) => socket.write(bytes),
        async open(streamId, streamHeaders, flags = 0) {
          socket.write(encodeSynStream(streamId, await compressor.compress(streamHeaders), flags));
          await until(`SYN_REPLY for stream ${streamId}`, () => (replied.has(streamId) ? true : undefined));
        },
        finished: (streamId) => until(`FIN on stream ${streamId}`, () => (fins.has(streamId) ? Buffer.concat(data.get(streamId) ?? []) : undefined)),
        control: (type) =>
          until(`control frame ${type}`, () => {
            const index = controls.findIndex((frame) => frame.type === type);
            return index === -1 ? undefined : controls.splice(index, 1)[0];
          }),
        rest: async () => {
          await closed;
          return Buffer.concat(after).toString('utf8');
        },
      });
    });
    socket.once('close', () => {
      compressor.close();
      decompressor.close();
    });
    socket.write([`GET ${path} HTTP/1.1`, 'Host: localhost', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n'));
  });
}

void t.test('exec over SPDY: 101, one stream per channel, the Status on the error stream, then GOAWAY', async (t) => {
  const client = await open(`${EXEC}?command=echo&command=hello&stdout=true&stderr=true`, SPDY_EXEC);
  t.equal(client.status, 101);
  t.match(client.head, /\r\nUpgrade: SPDY\/3\.1\r\n/);
  t.match(client.head, /\r\nConnection: Upgrade\r\n/);
  t.match(client.head, /\r\nX-Stream-Protocol-Version: v4\.channel\.k8s\.io\r\n/);
  // SETTINGS and a PING before any stream: the ping comes back, the settings change nothing.
  client.send(encodeSettings([[7, 65536]]));
  client.send(encodePing(1));
  t.equal((await client.control(FrameType.ping)).payload.readUInt32BE(0), 1, 'a client PING is echoed');
  await client.open(1, { streamtype: 'error' });
  await client.open(3, { streamtype: 'stdout' });
  t.equal(api.execSessions.length, 0, 'the command waits for every stream the options ask for');
  await client.open(5, { streamtype: 'stderr' });
  t.equal((await client.finished(3)).toString(), 'hello\n');
  t.equal((await client.finished(5)).length, 0, 'nothing on stderr');
  t.same(JSON.parse((await client.finished(1)).toString()), { metadata: {}, status: 'Success' });
  const goAway = await client.control(FrameType.goAway);
  t.same([goAway.payload.readUInt32BE(0), goAway.payload.readUInt32BE(4)], [5, 0], 'GOAWAY OK with the last stream');
  t.match(api.execSessions.at(-1), { pod: 'web-0', command: ['echo', 'hello'], protocol: 'v4.channel.k8s.io', exitCode: 0, stdinClosed: true });
  client.socket.end();
});

void t.test('exec over SPDY: stdin echoed by cat until FIN, and a non-zero exit code', async (t) => {
  const client = await open(`${EXEC}?command=cat&stdin=true&stdout=true`, SPDY_EXEC);
  await client.open(1, { streamtype: 'error' });
  await client.open(3, { streamtype: 'stdin' });
  await client.open(5, { streamtype: 'stdout' });
  const input = randomBytes(300_000);
  for (let at = 0; at < input.length; at += 32 * 1024) client.send(encodeDataFrame(3, input.subarray(at, at + 32 * 1024)));
  client.send(encodeDataFrame(3, Buffer.alloc(0), true));
  t.same(await client.finished(5), input, 'stdin echoed byte-exact');
  t.same(JSON.parse((await client.finished(1)).toString()), { metadata: {}, status: 'Success' });
  t.equal((await client.finished(3)).length, 0, 'the server closes its side of stdin too');
  t.match(api.execSessions.at(-1), { command: ['cat'], stdinBytes: input.length, stdinClosed: true, exitCode: 0 });
  client.socket.end();

  const failing = await open(`${EXEC}?command=sh&command=-c&command=exit%203&stdout=true`, SPDY_EXEC);
  await failing.open(1, { streamtype: 'error' });
  await failing.open(3, { streamtype: 'stdout' });
  t.match(JSON.parse((await failing.finished(1)).toString()), {
    status: 'Failure',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] },
  });
  failing.socket.end();
});

void t.test('exec over SPDY: a stream the session did not ask for is refused; an unknown frame type is ignored', async (t) => {
  const client = await open(`${EXEC}?command=true&stdout=true`, SPDY_EXEC);
  client.send(encodeControlFrame(0x77, 0, Buffer.alloc(4)));
  await client.open(1, { streamtype: 'stdin' });
  const reset = await client.control(FrameType.rstStream);
  t.same([reset.payload.readUInt32BE(0), reset.payload.readUInt32BE(4)], [1, 3], 'RST_STREAM REFUSED_STREAM');
  await client.open(3, { streamtype: 'error' });
  await client.open(5, { streamtype: 'stdout' });
  t.same(JSON.parse((await client.finished(3)).toString()), { metadata: {}, status: 'Success' });
  client.socket.end();
});

void t.test('port-forward over SPDY: stream pairs by request id, each an echo of its data stream', async (t) => {
  const forwards = api.portForwards.length;
  const client = await open(PORT_FORWARD, SPDY_PORT_FORWARD);
  t.equal(client.status, 101);
  t.match(client.head, /\r\nX-Stream-Protocol-Version: portforward\.k8s\.io\r\n/);
  // kubectl's order: the error stream, closed on its side at once, then the data stream.
  await client.open(1, { streamtype: 'error', port: '80', requestid: '0' }, Flag.fin);
  await client.open(3, { streamtype: 'data', port: '80', requestid: '0' });
  await client.open(5, { streamtype: 'error', port: '5432', requestid: '1' }, Flag.fin);
  await client.open(7, { streamtype: 'data', port: '5432', requestid: '1' });
  const first = randomBytes(200_000);
  client.send(encodeDataFrame(7, Buffer.from('second')));
  client.send(encodeDataFrame(3, first));
  client.send(encodeDataFrame(3, Buffer.alloc(0), true));
  t.same(await client.finished(3), first, 'data echoed');
  t.equal((await client.finished(1)).length, 0, 'an empty error stream, closed');
  client.send(encodeDataFrame(7, Buffer.alloc(0), true));
  t.equal((await client.finished(7)).toString(), 'second', 'the other pair is its own echo');
  t.match(api.portForwards.slice(forwards), [
    { namespace: 'default', pod: 'web-0', port: 80, requestId: '0', bytes: first.length, done: true },
    { port: 5432, requestId: '1', bytes: 6, done: true },
  ]);

  await client.open(9, { streamtype: 'error', port: '99999', requestid: '2' }, Flag.fin);
  await client.open(11, { streamtype: 'data', port: '99999', requestid: '2' });
  t.equal((await client.finished(9)).toString(), 'invalid port: "99999"', 'a port out of range is reported on the error stream');
  t.equal((await client.finished(11)).length, 0);
  client.socket.end();
});

void t.test('refusals are plain HTTP Status answers, never an upgrade', async (t) => {
  const cases: [string, string, Record<string, string>, number, RegExp][] = [
    ['exec without v4.channel.k8s.io', EXEC + '?command=true&stdout=true', { ...SPDY_EXEC, 'X-Stream-Protocol-Version': 'v2.channel.k8s.io' }, 403, /unable to negotiate protocol: client supports \[v2\.channel\.k8s\.io\]/],
    ['exec of an unknown pod', '/api/v1/namespaces/default/pods/nope/exec?command=true&stdout=true', SPDY_EXEC, 404, /pods \\"nope\\" not found/],
    ['port-forward without portforward.k8s.io', PORT_FORWARD, { ...SPDY_PORT_FORWARD, 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' }, 403, /server accepts \[portforward\.k8s\.io\]/],
    ['port-forward of an unknown pod', '/api/v1/namespaces/default/pods/nope/portforward', SPDY_PORT_FORWARD, 404, /pods \\"nope\\" not found/],
    ['port-forward over another protocol', PORT_FORWARD, { Connection: 'Upgrade', Upgrade: 'h2c' }, 400, /SPDY\/3\.1 or WebSocket only, not h2c/],
    [
      'port-forward over WebSocket without the tunnel subprotocol',
      PORT_FORWARD,
      { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'v4.channel.k8s.io' },
      400,
      /supports \[SPDY\/3\.1\+portforward\.k8s\.io\]/,
    ],
    ['port-forward without an upgrade (the unknown-path answer)', PORT_FORWARD, { Connection: 'close' }, 404, /could not find the requested resource/],
  ];
  const [sessions, forwards] = [api.execSessions.length, api.portForwards.length];
  for (const [name, path, headers, status, body] of cases) {
    const client = await open(path, headers);
    t.equal(client.status, status, name);
    t.match(await client.rest(), body, `${name}: body, then the connection closes`);
  }
  t.equal(api.execSessions.length, sessions, 'no exec session started');
  t.equal(api.portForwards.length, forwards, 'nothing forwarded');
});
