// --ui and --ui-history: the live traffic view (src/ui/). Pure: checks the flags and says where
// its listener is; completion (complete.ts) puts the result in the frozen config.

import { DEFAULT_UI_ADDRESS, DEFAULT_UI_HISTORY, MAX_UI_HISTORY } from './defaults.js';
import type { ProxyOptions } from './options.js';

/** The live view as the server wires it: absent without --ui. */
export interface UiConfig {
  /** Finished requests kept for pages that open (--ui-history). */
  readonly history: number;
}

export function uiProblems(options: ProxyOptions): string[] {
  const problems: string[] = [];
  const { uiHistory } = options;
  if (uiHistory !== undefined && options.ui !== true) problems.push('--ui-history: only used with --ui');
  if (uiHistory !== undefined && (!Number.isInteger(uiHistory) || uiHistory < 1 || uiHistory > MAX_UI_HISTORY)) {
    problems.push(`--ui-history: must be between 1 and ${MAX_UI_HISTORY} requests`);
  }
  return problems;
}

/** --metrics-address, else with --ui the default listener of the live view; absent: no such listener. */
export function observeAddress(options: ProxyOptions): string | undefined {
  return options.metricsAddress ?? (options.ui === true ? DEFAULT_UI_ADDRESS : undefined);
}

export function uiConfig(options: ProxyOptions): UiConfig | undefined {
  return options.ui === true ? { history: options.uiHistory ?? DEFAULT_UI_HISTORY } : undefined;
}
