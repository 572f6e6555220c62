// kubectl's FilterServer (pkg/proxy/proxy_server.go), in its order: --reject-paths, then
// --reject-methods, then --accept-paths. The host part of kubectl's filter is host-filter.ts.

import { ProxyError } from '../errors.js';
import { errorAnswer } from './answers.js';
import { firstMatch, type Rule, type RuleList } from './rules.js';
import type { Stage } from './stage.js';

export interface RequestFilterRules {
  readonly rejectPaths: RuleList;
  readonly rejectMethods: RuleList;
  readonly acceptPaths: RuleList;
}

function forbidden(what: string, list: RuleList, matched?: Rule) {
  const rule = matched === undefined ? `does not match ${list.flag}` : `matches ${list.flag} rule ${matched.text}`;
  return errorAnswer(new ProxyError('KAP_FILTER_REJECTED', `forbidden by kube-auth-proxy: ${what} ${rule}`));
}

export function createRequestFilter(rules: RequestFilterRules): Stage {
  return {
    name: 'request-filter',
    run(state) {
      const rejectedPath = firstMatch(rules.rejectPaths, state.path);
      if (rejectedPath !== undefined) return forbidden(`path ${state.path}`, rules.rejectPaths, rejectedPath);
      const rejectedMethod = firstMatch(rules.rejectMethods, state.method);
      if (rejectedMethod !== undefined) return forbidden(`method ${state.method}`, rules.rejectMethods, rejectedMethod);
      if (firstMatch(rules.acceptPaths, state.path) === undefined) return forbidden(`path ${state.path}`, rules.acceptPaths);
      return undefined;
    },
  };
}
