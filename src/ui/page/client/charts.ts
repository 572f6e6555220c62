// Browser code of the live view: the summary charts (requests per second by status class, latency
// percentiles per resource, upstream connections), drawn from the server's summary, which is
// fed with what the Prometheus metrics count (see dom.ts for the rules of page/client/).

import type { TrafficSummary } from '../../wire-types.js';
import { byId, el, formatMs, svg } from './dom.js';

export function statusClassNames(): string[] {
  return ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'];
}

/** Stacked bars, one per second, 600 × 100 units. */
export function drawRateChart(summary: TrafficSummary): void {
  const seconds = summary.perSecond;
  const peak = Math.max(1, ...seconds.map((counts) => counts.reduce((a, b) => a + b, 0)));
  const width = 600 / seconds.length;
  const bars: SVGElement[] = [];
  seconds.forEach((counts, i) => {
    let y = 100;
    counts.forEach((count, classIndex) => {
      if (count === 0) return;
      const height = (count / peak) * 100;
      y -= height;
      bars.push(svg('rect', { class: `rate-${statusClassNames()[classIndex]}`, x: i * width + 1, y, width: width - 2, height }));
    });
  });
  byId<SVGSVGElement & HTMLElement>('chart-rate').replaceChildren(...bars);
  const last = seconds[seconds.length - 2] ?? [];
  const parts = statusClassNames()
    .map((name, i) => [name, last[i] ?? 0] as const)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${name} ${count}`);
  byId('rate-caption').textContent = `peak ${peak}/s in the last minute; last second: ${parts.length === 0 ? 'none' : parts.join(', ')}`;
}

export function drawLatencyTable(summary: TrafficSummary): void {
  const slowest = Math.max(1, ...summary.latency.map((row) => row.p99));
  const rows = summary.latency.map((row) => {
    const tr = el('tr');
    tr.dataset.resource = row.resource;
    const bar = el('div', 'latency-bar');
    bar.style.width = `${(row.p99 / slowest) * 100}%`;
    const barCell = el('td', 'col-bar');
    barCell.append(bar);
    tr.append(el('td', '', row.resource === '' ? '(non-resource)' : row.resource), el('td', 'num', String(row.count)), el('td', 'num', formatMs(row.p50)), el('td', 'num', formatMs(row.p90)), el('td', 'num', formatMs(row.p99)), barCell);
    return tr;
  });
  byId('latency-body').replaceChildren(...rows);
}

/** One line per pool: the most connections open in each second. */
export function drawConnectionsChart(summary: TrafficSummary): void {
  const series = summary.connectionsPerSecond;
  const peak = Math.max(1, ...series.flat());
  const step = 600 / Math.max(1, series.length - 1);
  const lines = summary.pools.map((pool, p) => {
    const points = series.map((values, i) => `${(i * step).toFixed(1)},${(98 - ((values[p] ?? 0) / peak) * 96).toFixed(1)}`);
    return svg('polyline', { class: `pool pool-${p}`, points: points.join(' '), 'data-pool': pool });
  });
  byId<SVGSVGElement & HTMLElement>('chart-connections').replaceChildren(...lines);
  const now = summary.pools.map((pool, p) => `${pool} ${summary.connections[p] ?? 0}`);
  byId('connections-caption').textContent = `open now: ${now.length === 0 ? 'none yet' : now.join(', ')}; peak ${peak} in the last minute`;
}

export function renderCharts(summary: TrafficSummary | undefined): void {
  if (summary === undefined) return;
  drawRateChart(summary);
  drawLatencyTable(summary);
  drawConnectionsChart(summary);
}
