// Browser code of the live view: the entry point, run when the page loads (see dom.ts for the
// rules of page/client/).

import { renderCharts } from './charts.js';
import { bindSelection, renderDetails } from './details.js';
import { byId } from './dom.js';
import { connectFeed } from './feed.js';
import { bindFilters, refreshFilterOptions } from './filters.js';
import { renderRequests } from './requests-table.js';
import { renderStreams } from './streams.js';
import { createViewState, resume, type ViewState } from './view-state.js';

export function renderAll(state: ViewState): void {
  refreshFilterOptions(state);
  renderRequests(state);
  renderStreams(state);
  renderDetails(state);
  renderCharts(state.summary);
}

export function bindPause(state: ViewState, render: () => void): void {
  const button = byId<HTMLButtonElement>('pause');
  button.addEventListener('click', () => {
    if (state.paused) resume(state);
    else state.paused = true;
    button.textContent = state.paused ? 'Resume' : 'Pause';
    button.setAttribute('aria-pressed', String(state.paused));
    render();
  });
}

export function startLiveView(): void {
  const state = createViewState();
  const render = () => renderAll(state);
  bindFilters(state, render);
  bindPause(state, render);
  bindSelection(state, render);
  connectFeed(state);
  // Ages of open streams move without traffic.
  setInterval(() => renderStreams(state), 1000);
}
