// The root logger. Logs go to stderr (stdout carries only "Starting to serve on …", as kubectl)
// or to --log-file, as JSON lines or as text (observe/text-format.ts), with secrets redacted by
// path so no code path can log them by accident.

import { openSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';
import { ConfigError } from '../errors.js';
import { createLogFile } from './log-file.js';
import { createTextDestination, type TextTarget } from './text-format.js';

export type { Logger };

export type LogFormat = 'json' | 'text';

/** kubectl's -v levels: 0–5 start-up, warnings and errors; 6+ one line per request. */
export function levelForVerbosity(verbosity: number): 'info' | 'debug' | 'trace' {
  if (verbosity >= 7) return 'trace';
  if (verbosity >= 6) return 'debug';
  return 'info';
}

export interface LogOptions {
  readonly verbosity: number;
  /** Undefined: text for a person at a terminal, JSON lines for anything else. */
  readonly format?: LogFormat;
  /** Append here instead of stderr. */
  readonly file?: string;
}

/** Text only when the lines go to a terminal: stderr is one and no --log-file. */
export function resolveLogFormat(options: LogOptions, stderrIsTerminal: boolean): LogFormat {
  return options.format ?? (options.file === undefined && stderrIsTerminal ? 'text' : 'json');
}

/**
 * Opens --log-file now, synchronously, so a bad path is a start-up error rather than a lost log.
 * Writes are buffered (log-file.ts); what is still buffered when the process exits is written
 * then, in one attempt, so the lines logged just before process.exit() are kept.
 */
function fileDestination(path: string, stderr: NodeJS.WritableStream): TextTarget {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (err) {
    // Node's message repeats the path (`ENOENT: no such file or directory, open '…'`).
    const reason = err instanceof Error ? err.message.replace(/, open '.*'$/, '') : String(err);
    throw new ConfigError(`--log-file: cannot open ${path} (${reason})`, { cause: err });
  }
  const file = createLogFile(fd, path, (message) => stderr.write(`${message}\n`));
  process.once('exit', () => file.flushSync());
  return file;
}

/**
 * stderr that cannot be written (a full disk behind `2>file`, a closed pipe) emits 'error', which
 * unheard would crash the proxy on its next log line. There is nowhere left to report it: the
 * lines are lost, and the proxy serves on.
 */
function surviveStderrErrors(stderr: NodeJS.WriteStream): void {
  // A stand-in without events (tests hand one in) has no errors to survive.
  if (typeof stderr.listenerCount === 'function' && stderr.listenerCount('error') === 0) stderr.on('error', () => undefined);
}

export function createLogger(options: LogOptions, stderr: NodeJS.WriteStream = process.stderr): Logger {
  surviveStderrErrors(stderr);
  const target: TextTarget = options.file === undefined ? stderr : fileDestination(options.file, stderr);
  const destination: DestinationStream =
    resolveLogFormat(options, stderr.isTTY === true) === 'text' ? createTextDestination(target) : target;
  return pino(
    {
      level: levelForVerbosity(options.verbosity),
      base: undefined,
      redact: {
        paths: ['headers.authorization', 'headers.cookie', 'headers["proxy-authorization"]', 'token', 'password', 'key'],
        censor: '<masked>',
      },
    },
    destination,
  );
}
