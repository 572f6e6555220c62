// Browser code of the live view: each request's phases as a bar on a time axis shared by the rows
// shown, as a browser's network panel draws them (see dom.ts for the rules of page/client/).

import type { RequestRow } from '../../wire-types.js';
import { formatMs, phaseOrder, svg } from './dom.js';

export interface TimeAxis {
  /** `start`: every bar from its request's start, one scale for all; `clock`: bars placed by wall-clock time, as a network panel does. */
  readonly mode: 'start' | 'clock';
  /** Epoch milliseconds at the left edge (`clock`), or 0. */
  readonly start: number;
  /** Milliseconds the width stands for. */
  readonly span: number;
}

/** Bars are drawn in a viewBox this wide (the SVG stretches it to the column). */
export function barWidth(): number {
  return 1000;
}

/** Watches and sessions last as long as they are wanted: on the `start` axis they run off the edge instead of setting the scale. */
export function setsScale(row: RequestRow): boolean {
  return row.verb !== 'watch' && row.kind !== 'upgrade';
}

/** `clock`: from the earliest start to the latest end of the rows shown; `start`: up to the longest short request. */
export function timeAxisOf(rows: readonly RequestRow[], mode: 'start' | 'clock'): TimeAxis {
  let start = Infinity;
  let end = -Infinity;
  for (const row of rows) {
    if (mode === 'start' && !setsScale(row)) continue;
    start = Math.min(start, mode === 'clock' ? row.at : 0);
    end = Math.max(end, (mode === 'clock' ? row.at : 0) + row.ms);
  }
  return end === -Infinity ? { mode, start: 0, span: 1 } : { mode, start, span: Math.max(end - start, 1) };
}

/** One row's bar: the whole request as a thin track, its phases one after another from its start. */
export function drawWaterfall(target: SVGSVGElement, row: RequestRow, axis: TimeAxis): void {
  const scale = barWidth() / axis.span;
  const x0 = axis.mode === 'clock' ? (row.at - axis.start) * scale : 0;
  // Drawn to scale, however thin: the style's stroke keeps a short request visible on a long axis.
  const track = svg('rect', { class: 'track', x: x0, y: 5, width: row.ms * scale, height: 4 });
  track.append(svg('title'));
  track.firstChild!.textContent = `total ${formatMs(row.ms)}`;
  const parts: SVGElement[] = [track];
  let x = x0;
  for (const phase of phaseOrder()) {
    const ms = row.phases[phase];
    if (ms === undefined) continue;
    const rect = svg('rect', { class: `phase phase-${phase}`, 'data-phase': phase, 'data-ms': ms, x, y: 1, width: ms * scale, height: 12 });
    const title = svg('title');
    title.textContent = `${phase} ${formatMs(ms)}`;
    rect.append(title);
    parts.push(rect);
    x += ms * scale;
  }
  target.replaceChildren(...parts);
}

/** Five tick labels over the waterfall column, from 0 to the span. */
export function drawAxis(target: HTMLElement, axis: TimeAxis): void {
  const labels: HTMLElement[] = [];
  for (let i = 0; i <= 4; i++) {
    const label = document.createElement('span');
    label.textContent = i === 0 ? '0' : formatMs((axis.span * i) / 4);
    labels.push(label);
  }
  target.replaceChildren(...labels);
}
