// Browser code of the live view: small DOM and formatting helpers.
//
// Every function in page/client/ is exported and self-contained: page.ts puts their source
// (Function.prototype.toString of the compiled code) into the page's one inline script, so they
// may call each other by name and use browser globals, but nothing else at module level
// (no constants, no imports other than types). Type-checked and linted like the rest of src/.

import type { PhaseName } from '../../wire-types.js';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className !== '') element.className = className;
  // textContent, never innerHTML: URLs and user agents come from any client on the machine.
  if (text !== '') element.textContent = text;
  return element;
}

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`live view: #${id} is missing`);
  return element as T;
}

export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return ms < 60_000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Local wall-clock time with milliseconds, as the text log shows it. */
export function formatClock(epochMs: number): string {
  const time = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}.${String(time.getMilliseconds()).padStart(3, '0')}`;
}

/** `2xx` … `5xx`, `1xx` (an upgrade's 101), or `none` when no answer reached the client. */
export function statusClassOf(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
}

/** The phases in the order they happen, as the log line lists them. */
export function phaseOrder(): PhaseName[] {
  return ['credentials', 'queue', 'dns', 'tcp', 'tls', 'upload', 'server', 'transfer'];
}

/** The product of a user agent (`kubectl/v1.30.0`, `curl/8.5.0`) with the address: the client filter's value. */
export function clientOf(row: { readonly userAgent: string; readonly address: string }): string {
  const product = row.userAgent.split(' ')[0] ?? '';
  return `${product === '' ? '(no user agent)' : product} ${row.address}`.trim();
}
