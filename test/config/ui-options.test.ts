// --ui and --ui-history, pure: where the view's listener is, and the checks of its flags.
import t from 'tap';
import { DEFAULT_UI_ADDRESS, DEFAULT_UI_HISTORY } from '../../src/config/defaults.js';
import type { ProxyOptions } from '../../src/config/options.js';
import { observeAddress, uiConfig, uiProblems } from '../../src/config/ui-options.js';

/** Only the fields these functions read; the rest of ProxyOptions does not matter to them. */
const options = (fields: Pick<ProxyOptions, 'ui' | 'uiHistory' | 'metricsAddress'>) => fields as ProxyOptions;

void t.test('where the metrics and view listener is', async (t) => {
  const cases: [string, Pick<ProxyOptions, 'ui' | 'metricsAddress'>, string | undefined][] = [
    ['neither flag: no listener', {}, undefined],
    ['--ui alone: 127.0.0.1:8002', { ui: true }, DEFAULT_UI_ADDRESS],
    ['--ui with --metrics-address: that one', { ui: true, metricsAddress: '[::1]:0' }, '[::1]:0'],
    ['--metrics-address alone: that one', { metricsAddress: '127.0.0.1:9090' }, '127.0.0.1:9090'],
  ];
  for (const [name, fields, expected] of cases) t.equal(observeAddress(options(fields)), expected, name);
  t.equal(DEFAULT_UI_ADDRESS, '127.0.0.1:8002');
});

void t.test('the view is configured only with --ui, its history defaulted', async (t) => {
  t.equal(uiConfig(options({})), undefined);
  t.same(uiConfig(options({ ui: true })), { history: DEFAULT_UI_HISTORY });
  t.same(uiConfig(options({ ui: true, uiHistory: 50 })), { history: 50 });
});

void t.test('problems name the flag', async (t) => {
  const cases: [string, Pick<ProxyOptions, 'ui' | 'uiHistory'>, string[]][] = [
    ['--ui alone', { ui: true }, []],
    ['a history with --ui', { ui: true, uiHistory: 1 }, []],
    ['a history without --ui', { uiHistory: 10 }, ['--ui-history: only used with --ui']],
    ['no history at all', { ui: true, uiHistory: 0 }, ['--ui-history: must be between 1 and 10000 requests']],
    ['a history too long to send each page', { ui: true, uiHistory: 10_001 }, ['--ui-history: must be between 1 and 10000 requests']],
  ];
  for (const [name, fields, expected] of cases) t.same(uiProblems(options(fields)), expected, name);
});
