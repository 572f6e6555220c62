// The root logger. Logs go to stderr (stdout carries only "Starting to serve on …", as kubectl),
// with secrets redacted by path so no code path can log them by accident.

import { pino, type Logger } from 'pino';

export type { Logger };

/** kubectl's -v levels: 0–5 start-up, warnings and errors; 6+ one line per request. */
export function levelForVerbosity(verbosity: number): 'info' | 'debug' | 'trace' {
  if (verbosity >= 7) return 'trace';
  if (verbosity >= 6) return 'debug';
  return 'info';
}

export function createLogger(verbosity: number, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level: levelForVerbosity(verbosity),
      base: undefined,
      redact: {
        paths: ['headers.authorization', 'headers.cookie', 'headers["proxy-authorization"]', 'token', 'password', 'key'],
        censor: '<masked>',
      },
    },
    destination,
  );
}
