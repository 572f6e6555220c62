// pods/exec of the example API server over WebSocket, as kube-apiserver serves kubectl ≥ 1.31
// (KEP-4006): subprotocol v5.channel.k8s.io (or v4), a channel byte before each binary message,
// and the command's end as a v1 Status on the error channel, the way kubelet reports it.
// Upgrades reach this route after the same authentication as any request (upgrades.ts); SPDY/3.1
// upgrades are handed to exec-spdy.ts once the options are checked.
import type { Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { matches, type RequestContext, type Route } from './context.js';
import { startCommand, type CommandIO } from './exec-commands.js';
import { sendStatus } from './respond.js';
import { acceptSpdyExec } from './exec-spdy.js';
import { isSpdyUpgrade } from './spdy-session.js';
import { CloseCode, closeFrame, encodeFrame, FrameReader, Opcode, WebSocketProtocolError, writeWebSocketAccept, type Message } from './websocket.js';

/** Subprotocols this server speaks (apimachinery util/remotecommand constants). */
export const EXEC_PROTOCOLS: readonly string[] = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/** Channel bytes; v5 adds 255, whose one-byte payload names a channel the sender closes. */
const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** client-go sends stdin in 32 KiB messages; far more than that is a broken client. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** How long a client gets to answer our close frame before its connection is cut. */
const CLOSE_GRACE_MS = 5_000;

/** One exec session as the server saw it: tests check what was negotiated and how it ended. */
export interface ExecSession {
  namespace: string;
  pod: string;
  command: string[];
  /** The negotiated subprotocol, e.g. `v5.channel.k8s.io` (always `v4.channel.k8s.io` over SPDY). */
  protocol: string;
  stdinBytes: number;
  /** Set when the command ended and its status was sent. */
  exitCode?: number;
  /** Whether stdin has ended: closed by the client (v5's close-channel message), or never asked for. */
  stdinClosed: boolean;
}

export interface ExecOptions {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Go's strconv.ParseBool, which kube-apiserver uses for these query parameters. */
function flag(query: URLSearchParams, name: string): boolean {
  return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(query.get(name) ?? '');
}

/** The exec options, or kube-apiserver's reason to refuse them. */
function execOptions(ctx: RequestContext, containers: readonly string[]): ExecOptions | string {
  const { query } = ctx;
  const options = { command: query.getAll('command'), stdin: flag(query, 'stdin'), stdout: flag(query, 'stdout'), stderr: flag(query, 'stderr'), tty: flag(query, 'tty') };
  const container = query.get('container');
  if (container !== null && !containers.includes(container)) return `container ${container} is not valid for pod ${ctx.segments[5]}`;
  if (options.command.length === 0) return 'you must specify at least one command for the container';
  if (!options.stdin && !options.stdout && !options.stderr) return 'you must specify at least 1 of stdin, stdout, stderr';
  return options;
}

/** The first subprotocol the client offers that this server speaks, as apimachinery's wsstream picks. */
function negotiate(req: IncomingMessage): { protocol: string; key: string } | string {
  const upgrade = String(req.headers.upgrade ?? '');
  if (upgrade.toLowerCase() !== 'websocket') return `the example API server serves exec over WebSocket or SPDY/3.1 only, not ${upgrade}`;
  const key = req.headers['sec-websocket-key'];
  if (req.headers['sec-websocket-version'] !== '13' || key === undefined) return 'a WebSocket upgrade needs Sec-WebSocket-Version 13 and a Sec-WebSocket-Key';
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const protocol = offered.find((p) => EXEC_PROTOCOLS.includes(p));
  if (protocol === undefined) return `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${EXEC_PROTOCOLS.join(' ')}]`;
  return { protocol, key };
}

/** Routes pods/exec; plain requests get kube-apiserver's 400, WebSocket upgrades a session. */
export const execRoute: Route = (ctx) => {
  const s = ctx.segments;
  if (!matches(s, 'api', 'v1', 'namespaces', '*', 'pods', '*', 'exec')) return false;
  const [namespace = '', name = ''] = [s[3], s[5]];
  const pod = ctx.store.get(namespace, name);
  if (ctx.method !== 'GET' && ctx.method !== 'POST') {
    sendStatus(ctx.res, 405, 'the server does not allow this method on the requested resource');
  } else if (pod === undefined) {
    sendStatus(ctx.res, 404, `pods "${name}" not found`, { name, kind: 'pods' });
  } else {
    const options = execOptions(ctx, pod.spec.containers.map((c) => c.name));
    const handshake = ctx.upgrade === undefined ? 'Upgrade request required' : negotiate(ctx.req);
    if (typeof options === 'string') sendStatus(ctx.res, 400, options);
    else if (ctx.upgrade !== undefined && isSpdyUpgrade(ctx.req)) acceptSpdyExec(ctx, { namespace, pod: name, command: options.command }, options);
    else if (typeof handshake === 'string') sendStatus(ctx.res, 400, handshake);
    else accept(ctx, handshake, { namespace, pod: name, command: options.command, protocol: handshake.protocol, stdinBytes: 0, stdinClosed: false }, options);
  }
  return true;
};

/** Takes the socket from the HTTP response, answers 101 and starts the command. */
function accept(ctx: RequestContext, handshake: { protocol: string; key: string }, session: ExecSession, options: ExecOptions): void {
  const { socket, head } = ctx.upgrade!;
  ctx.res.detachSocket(socket);
  writeWebSocketAccept(socket, handshake.key, handshake.protocol, ctx.res.getHeader('Audit-Id'));
  ctx.execSessions.push(session);
  runSession(socket, head, session, options);
}

/** kubelet's Status for a command's end (pkg/kubelet/cri/streaming/remotecommand). */
export function exitStatus(command: readonly string[], code: number): object {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

export function internalError(message: string): object {
  const full = `Internal error occurred: error executing command in container: ${message}`;
  return { metadata: {}, status: 'Failure', message: full, reason: 'InternalError', details: { causes: [{ message: full }] }, code: 500 };
}

/** Writes frames with backpressure: reading stops while the socket's buffer is full. */
function frameWriter(socket: Socket) {
  let closeSent = false;
  const send = (frame: Buffer) => {
    if (closeSent || socket.destroyed) return;
    if (!socket.write(frame) && !socket.isPaused()) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  };
  return {
    get closeSent() {
      return closeSent;
    },
    data: (channel: number, data: Buffer | string) => send(encodeFrame(Opcode.binary, Buffer.concat([Buffer.of(channel), Buffer.from(data)]))),
    pong: (payload: Buffer) => send(encodeFrame(Opcode.pong, payload)),
    /** Sends a close frame; a client that does not answer it is cut off after a grace period. */
    close(code: number) {
      if (closeSent) return;
      send(closeFrame(code));
      closeSent = true;
      const cutOff = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      socket.once('close', () => clearTimeout(cutOff));
    },
  };
}

/** The command's side of a session: its output as channel messages, its end as a Status. */
function commandIO(frames: ReturnType<typeof frameWriter>, session: ExecSession, options: ExecOptions): CommandIO & { readonly ended: boolean } {
  let ended = false;
  const end = (status: object) => {
    if (ended || frames.closeSent) return;
    ended = true;
    frames.data(Channel.error, JSON.stringify(status));
    frames.close(CloseCode.normal);
  };
  const io = {
    get ended() {
      return ended || frames.closeSent;
    },
    stdout(data: Buffer | string) {
      if (!io.ended && options.stdout) frames.data(Channel.stdout, data);
    },
    stderr(data: Buffer | string) {
      // With a TTY, stderr is part of the terminal's output.
      if (options.tty) io.stdout(data);
      else if (!io.ended && options.stderr) frames.data(Channel.stderr, data);
    },
    exit(code: number) {
      if (!io.ended) session.exitCode = code;
      end(exitStatus(session.command, code));
    },
    fail: (message: string) => end(internalError(message)),
  };
  return io;
}

/** Runs one command over the WebSocket until it ends or the client leaves. */
function runSession(socket: Socket, head: Buffer, session: ExecSession, options: ExecOptions): void {
  const frames = frameWriter(socket);
  const io = commandIO(frames, session, options);
  const stdin = startCommand(session.command, io);
  const closeStdin = () => {
    if (session.stdinClosed) return;
    session.stdinClosed = true;
    stdin?.end();
  };
  // Without stdin=true the command reads an empty stdin, as from /dev/null.
  if (!options.stdin) closeStdin();

  const onBinary = (channel: number | undefined, data: Buffer) => {
    if (channel === Channel.stdin && options.stdin && !session.stdinClosed && !io.ended) {
      session.stdinBytes += data.length;
      stdin?.data(data);
    } else if (channel === Channel.close && session.protocol === 'v5.channel.k8s.io' && data[0] === Channel.stdin) {
      closeStdin();
    }
    // Resize messages and channels the session did not ask for are ignored, as kubelet does.
  };
  let stopped = false;
  const stop = (code: number) => {
    stopped = true;
    frames.close(code);
  };
  const onMessage = ({ opcode, payload }: Message) => {
    if (opcode === Opcode.binary) onBinary(payload[0], payload.subarray(1));
    else if (opcode === Opcode.ping) frames.pong(payload);
    else if (opcode === Opcode.close) {
      // The client's answer to our close, or its own close (echoed): either way the session is over.
      stop(payload.length >= 2 ? payload.readUInt16BE(0) : CloseCode.normal);
      socket.end();
    } else if (opcode !== Opcode.pong) stop(CloseCode.unsupportedData);
  };
  const reader = new FrameReader(MAX_MESSAGE_BYTES);
  const onData = (chunk: Buffer) => {
    if (stopped) return;
    try {
      for (const message of reader.push(chunk)) {
        // Nothing after a close or a protocol error counts.
        if (stopped) return;
        onMessage(message);
      }
    } catch (err) {
      stop(err instanceof WebSocketProtocolError ? err.code : CloseCode.protocolError);
    }
  };
  socket.on('data', onData);
  if (head.length > 0) onData(head);
  socket.resume();
}
