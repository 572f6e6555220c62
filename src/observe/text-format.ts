// The text log format (--log-format text): pino writes JSON lines as always, so levels and
// redaction stay in one place, and this destination turns each into one line for a person —
// an access-log line for "request completed" (and "upgrade completed"), `TIME LEVEL message key=value …` for the rest.

/** pino's numeric levels. */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Chronological order, as in Server-Timing; `total` is left out (the line shows `ms`). */
const PHASES = ['credentials', 'queue', 'dns', 'tcp', 'tls', 'upload', 'server', 'transfer'] as const;

/** Fields of the request line that its compact form shows; any other field follows as key=value. */
const REQUEST_FIELDS = new Set(['method', 'url', 'status', 'completed', 'ms', 'auditID', 'connection', 'phases', 'requestBytes', 'responseBytes', 'verb', 'resource', 'namespace', 'name', 'requestHeaders', 'responseHeaders', 'curl', 'answeredBy']);

type LogRecord = Record<string, unknown>;

/** `HH:MM:SS.mmm` in local time: the date is rarely what a person reading a terminal wants. */
function clock(time: unknown): string {
  const date = new Date(typeof time === 'number' ? time : Date.now());
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/** Bare when unambiguous, else JSON (quoted strings, objects). */
function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? typeof v; // undefined, functions, symbols: never from pino
}

function pairs(record: LogRecord, skip: (key: string) => boolean): string[] {
  return Object.entries(record)
    .filter(([key, v]) => !skip(key) && v !== undefined)
    .map(([key, v]) => `${key}=${value(v)}`);
}

/** Indented `> name: value` lines, sorted by name, one per value of a repeated header. */
function headerLines(marker: '>' | '<', headers: unknown): string[] {
  if (typeof headers !== 'object' || headers === null) return [];
  return Object.entries(headers as Record<string, unknown>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([name, v]) => (Array.isArray(v) ? v : [v]).map((one) => `    ${marker} ${name}: ${String(one)}`));
}

const ms = (n: unknown) => (typeof n === 'number' ? n.toFixed(1) : String(n));

function requestLine(record: LogRecord): string {
  const phases = (record.phases ?? {}) as Record<string, unknown>;
  const words = [clock(record.time), String(record.method), String(record.url), String(record.status), `${ms(record.ms)}ms`];
  if (record.completed === false) words.push('incomplete');
  if (typeof record.connection === 'string') words.push(record.connection);
  for (const name of PHASES) if (phases[name] !== undefined) words.push(`${name}=${ms(phases[name])}`);
  // Bytes sent up (only when there was a body), then bytes received.
  if (typeof record.requestBytes === 'number' && record.requestBytes > 0) words.push(`up=${record.requestBytes}B`);
  if (record.responseBytes !== undefined) words.push(`${value(record.responseBytes)}B`);
  if (record.auditID !== undefined) words.push(`audit=${value(record.auditID)}`);
  if (record.answeredBy === 'proxy') words.push('by=proxy');
  words.push(...pairs(record, (key) => REQUEST_FIELDS.has(key) || key === 'level' || key === 'time' || key === 'msg'));
  const lines = [words.join(' '), ...headerLines('>', record.requestHeaders), ...headerLines('<', record.responseHeaders)];
  if (typeof record.curl === 'string') lines.push(`    ${record.curl}`);
  return lines.join('\n');
}

function plainLine(record: LogRecord): string {
  const level = LEVELS[record.level as number] ?? value(record.level);
  const words = [clock(record.time), level.padEnd(5), typeof record.msg === 'string' ? record.msg : ''];
  words.push(...pairs(record, (key) => key === 'level' || key === 'time' || key === 'msg'));
  return words.filter((word) => word !== '').join(' ');
}

/** The per-request records (server/request-log.ts); an upgrade's session fields follow as key=value. */
const ACCESS_MESSAGES = new Set(['request completed', 'upgrade completed']);

/** One pino record as text, without the trailing newline. */
export function formatRecord(record: LogRecord): string {
  return ACCESS_MESSAGES.has(record.msg as string) && typeof record.method === 'string' ? requestLine(record) : plainLine(record);
}

/** What the text stream writes to: process.stderr, or the --log-file writer (observe/log-file.ts). */
export interface TextTarget {
  write(text: string): unknown;
  flushSync?(): void;
}

/**
 * A pino destination that writes each JSON line pino gives it as text to `target`, synchronously,
 * so pino's flush of a file destination at exit still finds every line.
 */
export function createTextDestination(target: TextTarget): { write(line: string): void; flushSync(): void } {
  return {
    write(chunk: string) {
      let out = '';
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        try {
          out += formatRecord(JSON.parse(line) as LogRecord) + '\n';
        } catch {
          out += line + '\n'; // not one of pino's lines: pass it through rather than lose it
        }
      }
      target.write(out);
    },
    flushSync() {
      target.flushSync?.();
    },
  };
}
