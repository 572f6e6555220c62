// `--www` / `--www-prefix`: files from a directory, with Go http.FileServer's behaviour (index.html,
// directory listings, `/index.html` → `./`, Range, If-Modified-Since). The path is already clean,
// so it cannot climb above the directory. Unlike kubectl, the Host check runs before this stage.

import { createReadStream, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ProxyError, statusBody } from '../errors.js';
import { errorAnswer, movedPermanently } from './answers.js';
import { contentTypeFor } from './content-types.js';
import type { RequestState, Stage } from './stage.js';

export interface StaticFilesOptions {
  readonly directory: string;
  /** Ends with `/`. */
  readonly prefix: string;
  /** The API prefix: when it is longer and matches too, the API wins (ServeMux longest match). */
  readonly apiPrefix: string;
}

function isOurs(path: string, options: StaticFilesOptions): boolean {
  if (!path.startsWith(options.prefix)) return false;
  return options.prefix.length > options.apiPrefix.length || !path.startsWith(options.apiPrefix);
}

function sendText(res: ServerResponse, statusCode: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(statusCode, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function notFound(res: ServerResponse): void {
  sendText(res, 404, statusBody(404, 'NotFound', '404 page not found'), 'application/json');
}

const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

async function sendListing(res: ServerResponse, directory: string): Promise<void> {
  const entries = await readdir(directory, { withFileTypes: true });
  const names = entries.map((entry) => entry.name + (entry.isDirectory() ? '/' : '')).sort();
  const links = names.map((name) => `<a href="${escapeHtml(encodeURIComponent(name).replace('%2F', '/'))}">${escapeHtml(name)}</a>\n`);
  sendText(res, 200, `<pre>\n${links.join('')}</pre>\n`, 'text/html; charset=utf-8');
}

/** Parses a single `bytes=a-b` range; multi-range requests are served whole. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  const start = first === '' ? Math.max(0, size - Number(last)) : Number(first);
  const end = first === '' || last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

function sendFile(res: ServerResponse, file: string, stats: Stats): void {
  const req = res.req;
  const lastModified = new Date(Math.floor(stats.mtimeMs / 1000) * 1000);
  const since = req.headers['if-modified-since'];
  if (since !== undefined && !Number.isNaN(Date.parse(since)) && lastModified.getTime() <= Date.parse(since)) {
    res.writeHead(304).end();
    return;
  }
  const range = parseRange(req.headers.range, stats.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${stats.size}` }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: stats.size - 1 };
  const headers: Record<string, string | number> = {
    'content-type': contentTypeFor(file),
    'content-length': Math.max(0, end - start + 1),
    'last-modified': lastModified.toUTCString(),
    'accept-ranges': 'bytes',
  };
  if (range !== undefined) headers['content-range'] = `bytes ${start}-${end}/${stats.size}`;
  res.writeHead(range === undefined ? 200 : 206, headers);
  if (req.method === 'HEAD' || stats.size === 0) {
    res.end();
    return;
  }
  createReadStream(file, { start, end })
    .on('error', (err) => res.destroy(err))
    .pipe(res);
}

async function serveStatic(res: ServerResponse, state: RequestState, options: StaticFilesOptions): Promise<void> {
  const relative = state.path.slice(options.prefix.length);
  const target = join(options.directory, relative);
  const stats = await stat(target).catch(() => undefined);
  if (stats === undefined) return notFound(res);
  if (state.path.endsWith('/index.html')) {
    res.writeHead(301, { location: './' }).end();
    return;
  }
  if (stats.isDirectory()) {
    if (!state.path.endsWith('/')) {
      const answer = movedPermanently(state.path.split('/').at(-1) + '/' + state.query);
      res.writeHead(answer.statusCode, answer.headers).end(answer.body);
      return;
    }
    const index = join(target, 'index.html');
    const indexStats = await stat(index).catch(() => undefined);
    if (indexStats?.isFile() === true) return sendFile(res, index, indexStats);
    return sendListing(res, target);
  }
  return sendFile(res, target, stats);
}

export function createStaticFiles(options: StaticFilesOptions): Stage {
  const bare = options.prefix.slice(0, -1);
  return {
    name: 'static-files',
    run(state) {
      if (state.path === bare && bare !== '') return movedPermanently(options.prefix + state.query);
      if (!isOurs(state.path, options)) return undefined;
      if (state.method !== 'GET' && state.method !== 'HEAD') {
        const refusal = errorAnswer(new ProxyError('KAP_STATIC_METHOD_NOT_ALLOWED', `${state.method} is not allowed on static files`));
        return { ...refusal, headers: { ...refusal.headers, allow: 'GET, HEAD' } };
      }
      return {
        serve: (res) => {
          serveStatic(res, state, options).catch((err: unknown) => {
            if (res.headersSent) res.destroy(err instanceof Error ? err : undefined);
            else notFound(res);
          });
        },
      };
    },
  };
}
