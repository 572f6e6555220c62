// One GET with a deadline, read to the end: warms the processes up and checks after each cell
// that a proxy still serves (the pre-study's pool trap left one serving nothing at all).
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';

export interface ProbeTarget {
  /** Origin, e.g. `http://127.0.0.1:8001`. */
  readonly url: string;
  /** Extra request headers as `Name: value`, as wrk takes them. */
  readonly headers: readonly string[];
  /** CA that signed the server certificate, for https targets. */
  readonly ca?: string;
}

function headerRecord(lines: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    record[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return record;
}

/**
 * GETs `path` and drains the body.
 * @returns undefined on a 200, otherwise what went wrong.
 */
export function probe(target: ProbeTarget, path: string, timeoutMs = 10_000): Promise<string | undefined> {
  const url = new URL(path, target.url);
  const options = { headers: headerRecord(target.headers), ca: target.ca, timeout: timeoutMs, agent: false as const };
  return new Promise((resolve) => {
    const onResponse = (res: IncomingMessage) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode === 200 ? undefined : `GET ${path} answered ${res.statusCode}`));
      res.once('error', (err) => resolve(`GET ${path} failed mid-body: ${err.message}`));
    };
    const req = url.protocol === 'https:' ? httpsGet(url, options, onResponse) : httpGet(url, options, onResponse);
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (err) => resolve(`GET ${path} failed: ${err.message}`));
  });
}
