// Reads Prometheus text (exposition format 0.0.4) so tests check metrics by value, not by string.

import { fetchText } from './http.js';
import type { ProxyProcess } from './proxy-process.js';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Every sample line, comments skipped; a line that is not a sample throws. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the first sample named `name` whose labels include `labels`. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** The `http://HOST:PORT` of a proxy's --metrics-address listener, from its start-up log. */
export async function metricsUrl(proxy: ProxyProcess): Promise<string> {
  const line = /"address":"([^"]+)","msg":"serving \/metrics/;
  await proxy.waitForStderr(line);
  return `http://${line.exec(proxy.stderr())![1]!}`;
}

/** One scrape of `/metrics`, parsed. */
export async function scrape(metrics: string): Promise<Sample[]> {
  return parseMetrics((await fetchText(`${metrics}/metrics`)).body);
}

/** Re-scrapes until `name{labels}` reads `value`, for at most `timeoutMs`; returns the last reading. */
export async function metricReaches(metrics: string, name: string, labels: Record<string, string>, value: number, timeoutMs = 10_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: number | undefined;
  for (;;) {
    last = sampleValue(await scrape(metrics), name, labels);
    if (last === value || Date.now() > deadline) return last;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
