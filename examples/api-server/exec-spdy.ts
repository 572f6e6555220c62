// pods/exec over SPDY/3.1 with the v4.channel.k8s.io stream protocol, as kubelet serves it to
// kubectl's SPDY fallback (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false) and older clients: the client
// opens one stream per channel, named by its `streamtype` header; the command starts once all
// the streams the options ask for are there; its output goes on stdout/stderr and its end, as a
// v1 Status, on the error stream; then every stream is closed and the server says GOAWAY.
import type { CommandIO } from './exec-commands.js';
import { startCommand } from './exec-commands.js';
import type { RequestContext } from './context.js';
import { exitStatus, internalError, type ExecOptions, type ExecSession } from './exec-websocket.js';
import { sendStatus } from './respond.js';
import { RstStatus } from './spdy.js';
import { acceptSpdy, offeredStreamProtocols, type SpdyStream } from './spdy-session.js';

/** The only stream protocol served over SPDY: v4 is what kubectl asks for first. */
export const SPDY_EXEC_PROTOCOL = 'v4.channel.k8s.io';

/** kubelet's wait for the client's streams (streamCreationTimeout). */
const STREAM_CREATION_TIMEOUT_MS = 30_000;

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

/** The streams kubelet waits for, given the options (remotecommand's expected stream count). */
function expectedStreams(options: ExecOptions): Set<StreamType> {
  const expected = new Set<StreamType>(['error']);
  if (options.stdin) expected.add('stdin');
  if (options.stdout) expected.add('stdout');
  if (options.stderr && !options.tty) expected.add('stderr');
  if (options.tty) expected.add('resize');
  return expected;
}

/**
 * Answers a SPDY/3.1 exec upgrade whose options are valid: 403 without a stream protocol this
 * server speaks (kubelet's httpstream.Handshake), else 101 and a session.
 */
export function acceptSpdyExec(ctx: RequestContext, target: { namespace: string; pod: string; command: string[] }, options: ExecOptions): void {
  const offered = offeredStreamProtocols(ctx.req);
  if (!offered.includes(SPDY_EXEC_PROTOCOL)) {
    const message = `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${SPDY_EXEC_PROTOCOL}]`;
    return sendStatus(ctx.res, 403, message);
  }
  const session: ExecSession = { ...target, protocol: SPDY_EXEC_PROTOCOL, stdinBytes: 0, stdinClosed: false };
  const expected = expectedStreams(options);
  const streams = new Map<StreamType, SpdyStream>();
  let started = false;
  const spdy = acceptSpdy(ctx, SPDY_EXEC_PROTOCOL, (stream) => {
    const type = stream.header('streamtype') as StreamType | undefined;
    if (started || type === undefined || !expected.has(type) || streams.has(type)) return stream.reset(RstStatus.refusedStream);
    streams.set(type, stream);
    if (streams.size < expected.size) return;
    started = true;
    clearTimeout(timeout);
    ctx.execSessions.push(session);
    run(streams, session, options, () => {
      spdy.session.goAway();
      spdy.endAfterGrace();
    });
  });
  const timeout = setTimeout(() => {
    if (!started) ctx.upgrade!.socket.destroy();
  }, STREAM_CREATION_TIMEOUT_MS);
  ctx.upgrade!.socket.once('close', () => clearTimeout(timeout));
}

/** Runs the command over the streams; `done` is called once its end has been sent. */
function run(streams: Map<StreamType, SpdyStream>, session: ExecSession, options: ExecOptions, done: () => void): void {
  let ended = false;
  const finish = (status: object) => {
    if (ended) return;
    ended = true;
    streams.get('stdout')?.end();
    streams.get('stderr')?.end();
    streams.get('error')!.write(JSON.stringify(status));
    // Every stream is closed on our side, stdin and resize too, as kubelet closes its end.
    for (const stream of streams.values()) stream.end();
    done();
  };
  const io: CommandIO = {
    stdout(data) {
      if (!ended) streams.get('stdout')?.write(data);
    },
    stderr(data) {
      // With a TTY there is no stderr stream: errors are part of the terminal's output.
      if (!ended) (options.tty ? streams.get('stdout') : streams.get('stderr'))?.write(data);
    },
    exit(code) {
      if (!ended) session.exitCode = code;
      finish(exitStatus(session.command, code));
    },
    fail: (message) => finish(internalError(message)),
  };
  const stdin = startCommand(session.command, io);
  const closeStdin = () => {
    if (session.stdinClosed) return;
    session.stdinClosed = true;
    stdin?.end();
  };
  const stdinStream = streams.get('stdin');
  if (stdinStream === undefined) closeStdin();
  else {
    stdinStream.onData = (data) => {
      if (ended || session.stdinClosed) return;
      session.stdinBytes += data.length;
      stdin?.data(data);
    };
    stdinStream.onEnd = closeStdin;
  }
  // The client leaving ends the session: nothing is left to write to.
  for (const stream of streams.values()) stream.onAbort = () => (ended = true);
}
