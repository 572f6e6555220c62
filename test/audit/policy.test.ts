// The audit policy against kube-apiserver's semantics (k8s.io/apiserver pkg/audit/policy/checker.go,
// reader.go; pkg/apis/audit/validation/validation.go): what each rule field matches and does not,
// rule order, stage and managed-field settings, every refusal's one-line message, and the example.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import {
  DEFAULT_POLICY,
  decide,
  loadAuditPolicy,
  parseAuditPolicy,
  type AuditAttributes,
  type AuditLevel,
  type AuditPolicy,
} from '../../src/audit/policy.js';
import { ConfigError } from '../../src/errors.js';
import { requestInfo } from '../../src/observe/request-info.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/audit-policy.yaml', import.meta.url));
const PREFIX = '--audit-policy-file: policy.yaml: ';

/** A request as on the request line (`GET /api/v1/pods?watch=1`), by alice unless said otherwise. */
function request(line: string, user = 'alice', groups: readonly string[] = ['system:authenticated']): AuditAttributes {
  const [method = '', target = ''] = line.split(' ');
  const question = target.indexOf('?');
  const path = question === -1 ? target : target.slice(0, question);
  return { user: { name: user, groups }, path, info: requestInfo(method, path, question === -1 ? '' : target.slice(question + 1)) };
}

/** A policy of the given rules (YAML list items, indented as under `rules:`), then a catch-all at Request. */
function policyOf(rules: string, top = ''): AuditPolicy {
  return parseAuditPolicy(`apiVersion: audit.k8s.io/v1\nkind: Policy\n${top}rules:\n${rules}\n  - level: Request\n`, 'policy.yaml');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

// Each case: one rule at Metadata, before the catch-all at Request; `matches` says which level wins.
interface MatchCase {
  readonly name: string;
  readonly rule: string;
  readonly request: AuditAttributes;
  readonly matches: boolean;
}

const MATCH_CASES: readonly MatchCase[] = [
  // users, userGroups
  { name: 'users: the user name', rule: 'users: [alice]', request: request('GET /api/v1/pods'), matches: true },
  { name: 'users: another user', rule: 'users: [alice]', request: request('GET /api/v1/pods', 'bob'), matches: false },
  { name: 'userGroups: any one group', rule: 'userGroups: [ops, dev]', request: request('GET /api/v1/pods', 'bob', ['x', 'dev']), matches: true },
  { name: 'userGroups: none of them', rule: 'userGroups: [ops]', request: request('GET /api/v1/pods', 'bob', ['dev']), matches: false },
  { name: 'userGroups: a user in no group', rule: 'userGroups: [ops]', request: request('GET /api/v1/pods', 'bob', []), matches: false },
  { name: 'userGroups is not matched against the user name', rule: 'userGroups: [alice]', request: request('GET /api/v1/pods'), matches: false },
  // verbs: the RequestInfo verb for resources, the lower-case method otherwise
  { name: 'verbs: a list is "list"', rule: 'verbs: [list]', request: request('GET /api/v1/pods'), matches: true },
  { name: 'verbs: a list is not "get"', rule: 'verbs: [get]', request: request('GET /api/v1/pods'), matches: false },
  { name: 'verbs: ?watch=1 is "watch"', rule: 'verbs: [watch]', request: request('GET /api/v1/pods?watch=1'), matches: true },
  { name: 'verbs: DELETE of a collection is "deletecollection"', rule: 'verbs: [delete]', request: request('DELETE /api/v1/namespaces/a/pods'), matches: false },
  { name: 'verbs: POST is "create"', rule: 'verbs: [create]', request: request('POST /api/v1/namespaces/a/pods'), matches: true },
  { name: 'verbs: non-resource GET is "get"', rule: 'verbs: [get]', request: request('GET /healthz'), matches: true },
  { name: 'verbs: non-resource HEAD is "head", not "get"', rule: 'verbs: [get]', request: request('HEAD /healthz'), matches: false },
  { name: 'verbs: non-resource POST is "post"', rule: 'verbs: [post]', request: request('POST /some/url'), matches: true },
  // namespaces
  { name: 'namespaces: that namespace', rule: 'namespaces: [a]', request: request('GET /api/v1/namespaces/a/pods/p'), matches: true },
  { name: 'namespaces: another namespace', rule: 'namespaces: [a]', request: request('GET /api/v1/namespaces/b/pods/p'), matches: false },
  { name: 'namespaces: "" is a cluster-scoped resource', rule: 'namespaces: [""]', request: request('GET /api/v1/nodes/n'), matches: true },
  { name: 'namespaces: "" is also a list across namespaces', rule: 'namespaces: [""]', request: request('GET /api/v1/pods'), matches: true },
  { name: 'namespaces: "" is not a namespaced request', rule: 'namespaces: [""]', request: request('GET /api/v1/namespaces/a/pods'), matches: false },
  { name: 'namespaces: never a non-resource request', rule: 'namespaces: [""]', request: request('GET /healthz'), matches: false },
  // requestinfo.go takes the namespace from /namespaces/{name} even when that is the object itself.
  { name: 'namespaces: a namespace object counts as in itself', rule: 'namespaces: [a]', request: request('DELETE /api/v1/namespaces/a'), matches: true },
  { name: 'namespaces: the list of namespaces is in none', rule: 'namespaces: [a]', request: request('GET /api/v1/namespaces'), matches: false },
  { name: 'namespaces: a namespace\'s status is in that namespace', rule: 'namespaces: [a]', request: request('PUT /api/v1/namespaces/a/status'), matches: true },
  // resources: group
  { name: 'group "" is the core group', rule: 'resources: [{group: "", resources: [pods]}]', request: request('GET /api/v1/pods'), matches: true },
  { name: 'group "" is not apps', rule: 'resources: [{group: "", resources: [deployments]}]', request: request('GET /apis/apps/v1/deployments'), matches: false },
  { name: 'group apps', rule: 'resources: [{group: apps, resources: [deployments]}]', request: request('GET /apis/apps/v1/deployments'), matches: true },
  { name: 'group apps is not core', rule: 'resources: [{group: apps, resources: [pods]}]', request: request('GET /api/v1/pods'), matches: false },
  { name: 'group "*" is any group', rule: 'resources: [{group: "*", resources: [deployments]}]', request: request('GET /apis/apps/v1/deployments'), matches: true },
  { name: 'a group with no resources is all of it', rule: 'resources: [{group: batch}]', request: request('GET /apis/batch/v1/namespaces/a/jobs/j/status'), matches: true },
  { name: 'a group with no resources is that group only', rule: 'resources: [{group: batch}]', request: request('GET /apis/apps/v1/deployments'), matches: false },
  { name: 'resources never match a non-resource request', rule: 'resources: [{group: "*", resources: ["*"]}]', request: request('GET /version'), matches: false },
  { name: 'resources: any entry may match', rule: 'resources: [{group: apps}, {group: "", resources: [pods]}]', request: request('GET /api/v1/pods'), matches: true },
  // resources: names and wildcards
  { name: '"pods" is pods', rule: 'resources: [{resources: [pods]}]', request: request('GET /api/v1/namespaces/a/pods/p'), matches: true },
  { name: '"pods" is not a pod\'s subresource', rule: 'resources: [{resources: [pods]}]', request: request('GET /api/v1/namespaces/a/pods/p/log'), matches: false },
  { name: '"pods/log" is that subresource', rule: 'resources: [{resources: [pods/log]}]', request: request('GET /api/v1/namespaces/a/pods/p/log'), matches: true },
  { name: '"pods/log" is not another subresource', rule: 'resources: [{resources: [pods/log]}]', request: request('GET /api/v1/namespaces/a/pods/p/exec'), matches: false },
  { name: '"pods/log" is not pods', rule: 'resources: [{resources: [pods/log]}]', request: request('GET /api/v1/namespaces/a/pods/p'), matches: false },
  { name: '"pods/*" is any subresource of pods', rule: 'resources: [{resources: ["pods/*"]}]', request: request('POST /api/v1/namespaces/a/pods/p/exec'), matches: true },
  // checker.go: `resource == TrimSuffix(res, "/*")`, with no check that there is a subresource.
  { name: '"pods/*" is pods too (as in checker.go)', rule: 'resources: [{resources: ["pods/*"]}]', request: request('GET /api/v1/namespaces/a/pods/p'), matches: true },
  { name: '"pods/*" is not services/status', rule: 'resources: [{resources: ["pods/*"]}]', request: request('PUT /api/v1/namespaces/a/services/s/status'), matches: false },
  { name: '"*/scale" is scale of anything', rule: 'resources: [{group: "*", resources: ["*/scale"]}]', request: request('PUT /apis/apps/v1/namespaces/a/deployments/d/scale'), matches: true },
  { name: '"*/scale" is not the resource itself', rule: 'resources: [{group: "*", resources: ["*/scale"]}]', request: request('PUT /apis/apps/v1/namespaces/a/deployments/d'), matches: false },
  { name: '"*/scale" is not another subresource', rule: 'resources: [{group: "*", resources: ["*/scale"]}]', request: request('GET /api/v1/namespaces/a/pods/p/log'), matches: false },
  { name: '"*" is every resource', rule: 'resources: [{resources: ["*"]}]', request: request('GET /api/v1/nodes'), matches: true },
  { name: '"*" is every subresource too', rule: 'resources: [{resources: ["*"]}]', request: request('GET /api/v1/namespaces/a/pods/p/log'), matches: true },
  { name: '"*" stays in its group', rule: 'resources: [{resources: ["*"]}]', request: request('GET /apis/apps/v1/deployments'), matches: false },
  // resourceNames
  { name: 'resourceNames: that name', rule: 'resources: [{resources: [secrets], resourceNames: [s]}]', request: request('GET /api/v1/namespaces/a/secrets/s'), matches: true },
  { name: 'resourceNames: another name', rule: 'resources: [{resources: [secrets], resourceNames: [s]}]', request: request('GET /api/v1/namespaces/a/secrets/t'), matches: false },
  { name: 'resourceNames: a list has no name', rule: 'resources: [{resources: [secrets], resourceNames: [s]}]', request: request('GET /api/v1/namespaces/a/secrets'), matches: false },
  {
    name: 'resourceNames: a list selecting metadata.name has that name',
    rule: 'resources: [{resources: [secrets], resourceNames: [s]}]',
    request: request('GET /api/v1/namespaces/a/secrets?fieldSelector=metadata.name%3Ds'),
    matches: true,
  },
  { name: 'resourceNames: with a wildcard resource', rule: 'resources: [{resources: ["*"], resourceNames: [s]}]', request: request('GET /api/v1/namespaces/a/configmaps/s'), matches: true },
  // nonResourceURLs
  { name: 'nonResourceURLs: exact', rule: 'nonResourceURLs: [/version]', request: request('GET /version'), matches: true },
  { name: 'nonResourceURLs: exact is not a sub-path', rule: 'nonResourceURLs: [/version]', request: request('GET /version/x'), matches: false },
  { name: 'nonResourceURLs: exact, no trailing slash', rule: 'nonResourceURLs: [/version]', request: request('GET /version/'), matches: false },
  { name: 'nonResourceURLs: "/healthz*" is /healthz', rule: 'nonResourceURLs: ["/healthz*"]', request: request('GET /healthz'), matches: true },
  { name: 'nonResourceURLs: "/healthz*" is /healthz/etcd', rule: 'nonResourceURLs: ["/healthz*"]', request: request('GET /healthz/etcd'), matches: true },
  // checker.go compares strings, not path segments.
  { name: 'nonResourceURLs: "/healthz*" is /healthzfoo too', rule: 'nonResourceURLs: ["/healthz*"]', request: request('GET /healthzfoo'), matches: true },
  { name: 'nonResourceURLs: "/healthz*" is not /livez', rule: 'nonResourceURLs: ["/healthz*"]', request: request('GET /livez'), matches: false },
  { name: 'nonResourceURLs: "*" is any non-resource URL', rule: 'nonResourceURLs: ["*"]', request: request('GET /openapi/v3'), matches: true },
  { name: 'nonResourceURLs: "*" is no resource request', rule: 'nonResourceURLs: ["*"]', request: request('GET /api/v1/pods'), matches: false },
  { name: 'nonResourceURLs: a prefix is no resource request', rule: 'nonResourceURLs: ["/api*"]', request: request('GET /api/v1/pods'), matches: false },
  { name: 'nonResourceURLs: discovery is non-resource', rule: 'nonResourceURLs: ["/apis*"]', request: request('GET /apis/apps/v1'), matches: true },
  // fields together
  { name: 'all fields must match: they do', rule: 'users: [alice]\n    verbs: [get]\n    namespaces: [a]', request: request('GET /api/v1/namespaces/a/pods/p'), matches: true },
  { name: 'all fields must match: one does not', rule: 'users: [alice]\n    verbs: [get]\n    namespaces: [a]', request: request('GET /api/v1/namespaces/a/pods/p', 'bob'), matches: false },
  { name: 'no resource fields: a resource request', rule: 'users: [alice]', request: request('GET /api/v1/pods'), matches: true },
  { name: 'no resource fields: a non-resource request', rule: 'users: [alice]', request: request('GET /metrics'), matches: true },
  { name: 'an empty list constrains nothing', rule: 'users: []\n    resources: []', request: request('GET /metrics', 'bob'), matches: true },
  { name: 'null is an empty list (Go\'s zero value)', rule: 'users: ~\n    verbs:', request: request('DELETE /api/v1/namespaces/a/pods/p', 'bob'), matches: true },
];

void t.test('each rule field matches what checker.go matches, and no more', async (t) => {
  for (const c of MATCH_CASES) {
    const policy = policyOf(`  - level: Metadata\n    ${c.rule}`);
    const want: AuditLevel = c.matches ? 'Metadata' : 'Request';
    t.equal(decide(policy, c.request).level, want, c.name);
  }
});

void t.test('rules are tried in order and the first match wins', async (t) => {
  const policy = policyOf(
    [
      '  - level: None',
      '    users: [system:kube-proxy]',
      '  - level: Metadata',
      '    resources: [{resources: [secrets]}]',
      '  - level: RequestResponse',
      '    verbs: [create]',
    ].join('\n'),
  );
  const cases: readonly [string, AuditAttributes, AuditLevel][] = [
    ['the first rule shadows later ones', request('POST /api/v1/namespaces/a/secrets', 'system:kube-proxy'), 'None'],
    ['the second before the third', request('POST /api/v1/namespaces/a/secrets'), 'Metadata'],
    ['the third when the first two do not match', request('POST /api/v1/namespaces/a/pods'), 'RequestResponse'],
    ['the catch-all last', request('GET /api/v1/namespaces/a/pods'), 'Request'],
  ];
  for (const [name, attrs, level] of cases) t.equal(decide(policy, attrs).level, level, name);
});

void t.test('a request no rule matches is at level None, with the policy-wide settings', async (t) => {
  const policy = parseAuditPolicy(
    'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [Panic]\nomitManagedFields: true\nrules:\n  - level: Metadata\n    users: [alice]\n',
    'policy.yaml',
  );
  const decision = decide(policy, request('GET /api/v1/pods', 'bob'));
  t.same(decision, { level: 'None', omitStages: new Set(['Panic']), omitManagedFields: true });
  t.equal(decide(policy, request('GET /api/v1/pods')).level, 'Metadata', 'while a matching request gets the rule');
});

void t.test('omitStages: the policy-wide list and the rule\'s are unioned', async (t) => {
  const policy = policyOf('  - level: Metadata\n    users: [alice]\n    omitStages: [Panic, RequestReceived]', 'omitStages: [RequestReceived, ResponseStarted]\n');
  t.same([...decide(policy, request('GET /healthz')).omitStages].sort(), ['Panic', 'RequestReceived', 'ResponseStarted'], 'a rule with its own list');
  t.same([...decide(policy, request('GET /healthz', 'bob')).omitStages].sort(), ['RequestReceived', 'ResponseStarted'], 'a rule without one');
  const none = policyOf('  - level: Metadata\n    users: [alice]');
  t.equal(decide(none, request('GET /healthz')).omitStages.size, 0, 'no list anywhere: nothing omitted');
});

void t.test('omitManagedFields: a rule\'s value overrides the policy\'s', async (t) => {
  const cases: readonly [string, string, string, boolean][] = [
    ['policy true, rule unset', 'omitManagedFields: true\n', '', true],
    ['policy true, rule false', 'omitManagedFields: true\n', '\n    omitManagedFields: false', false],
    ['policy unset, rule true', '', '\n    omitManagedFields: true', true],
    ['policy false, rule unset', 'omitManagedFields: false\n', '', false],
    // kube-apiserver reads YAML 1.1, where `yes` is a boolean.
    ['YAML 1.1 yes', '', '\n    omitManagedFields: yes', true],
  ];
  for (const [name, top, rule, want] of cases) {
    const policy = policyOf(`  - level: Metadata${rule}`, top);
    t.equal(decide(policy, request('GET /api/v1/pods')).omitManagedFields, want, name);
  }
});

void t.test('the default policy records every request at Metadata', async (t) => {
  for (const line of ['GET /api/v1/namespaces/a/secrets/s', 'POST /apis/apps/v1/namespaces/a/deployments', 'GET /healthz']) {
    t.same(decide(DEFAULT_POLICY, request(line, 'x', [])), { level: 'Metadata', omitStages: new Set(), omitManagedFields: false }, line);
  }
});

void t.test('a parsed policy is frozen and keeps what was written', async (t) => {
  const policy = policyOf('  - level: Metadata\n    resources: [{group: apps, resources: [deployments/scale], resourceNames: [d]}]');
  t.equal(policy.source, 'policy.yaml');
  t.same(policy.rules[0], {
    level: 'Metadata',
    users: [],
    userGroups: [],
    verbs: [],
    resources: [{ group: 'apps', resources: ['deployments/scale'], resourceNames: ['d'] }],
    namespaces: [],
    nonResourceURLs: [],
    omitStages: [],
  });
  t.ok(Object.isFrozen(policy) && Object.isFrozen(policy.rules) && Object.isFrozen(policy.rules[0]), 'policy and rules');
  t.ok(Object.isFrozen(policy.rules[0]?.resources[0]) && Object.isFrozen(policy.rules[0]?.resources[0]?.resources), 'resources');
  t.equal(policy.rules.length, 2);
});

void t.test('a policy object built by hand is evaluated too', async (t) => {
  const rule = { level: 'RequestResponse' as const, users: [], userGroups: [], verbs: ['create'], resources: [], namespaces: [], nonResourceURLs: [], omitStages: [] };
  const policy: AuditPolicy = { source: 'code', rules: [rule], omitStages: ['RequestReceived'], omitManagedFields: false };
  t.equal(decide(policy, request('POST /api/v1/namespaces/a/pods')).level, 'RequestResponse');
  t.equal(decide(policy, request('GET /api/v1/namespaces/a/pods')).level, 'None');
  t.same([...decide(policy, request('POST /x')).omitStages], ['RequestReceived']);
});

// Each case: the policy text and the whole message it must be refused with.
const V1 = 'apiVersion: audit.k8s.io/v1\nkind: Policy\n';
const ERROR_CASES: readonly (readonly [string, string, string])[] = [
  // the document
  ['an empty file', '', 'empty document; expected an audit.k8s.io/v1 Policy'],
  ['a list at the top', '- level: None\n', 'expected a Policy mapping (apiVersion, kind, rules) at the top level, not a list'],
  ['a YAML syntax error', `${V1}rules:\n  - level: None\n   users: [a]\n`, 'line 5, column 1: Sequence item without - indicator'],
  ['a repeated key', `${V1}rules:\n  - level: None\n    level: Metadata\n`, 'line 5, column 5: Map keys must be unique'],
  ['two documents', `${V1}rules: [{level: None}]\n---\n${V1}`, 'line 4, column 1: a second YAML document; a policy file holds one'],
  ['an undefined alias', `${V1}rules: *missing\n`, 'yaml: Unresolved alias (the anchor must be set before the alias): missing'],
  // apiVersion, kind
  ['no apiVersion', 'kind: Policy\nrules: [{level: None}]\n', 'apiVersion: required; use audit.k8s.io/v1'],
  ['v1beta1', 'apiVersion: audit.k8s.io/v1beta1\nkind: Policy\n', 'apiVersion: "audit.k8s.io/v1beta1" is no longer served by kube-apiserver; use audit.k8s.io/v1'],
  ['v1alpha1', 'apiVersion: audit.k8s.io/v1alpha1\nkind: Policy\n', 'apiVersion: "audit.k8s.io/v1alpha1" is no longer served by kube-apiserver; use audit.k8s.io/v1'],
  ['another apiVersion', 'apiVersion: v1\nkind: Policy\n', 'apiVersion: "v1" is not audit.k8s.io/v1'],
  ['a number as apiVersion', 'apiVersion: 1\nkind: Policy\n', 'apiVersion: must be a string, not a number'],
  ['no kind', 'apiVersion: audit.k8s.io/v1\nrules: [{level: None}]\n', 'kind: required; use Policy'],
  ['another kind', 'apiVersion: audit.k8s.io/v1\nkind: Event\n', 'kind: "Event" is not Policy'],
  // policy fields
  ['no rules', V1, 'rules: at least one rule is required'],
  ['empty rules', `${V1}rules: []\n`, 'rules: at least one rule is required'],
  ['rules not a list', `${V1}rules: {level: None}\n`, 'rules: must be a list of rules, not a mapping'],
  ['an unknown top-level field', `${V1}rule: []\n`, 'unknown field "rule" (did you mean "rules"?)'],
  ['an unknown field, no guess', `${V1}spec: {}\n`, 'unknown field "spec" (known: apiVersion, kind, metadata, rules, omitStages, omitManagedFields)'],
  ['metadata not a mapping', `${V1}metadata: x\nrules: [{level: None}]\n`, 'metadata: must be a mapping, not a string'],
  ['a bad policy-wide stage', `${V1}omitStages: [RequestRecieved]\nrules: [{level: None}]\n`, 'omitStages[0]: "RequestRecieved" is not one of RequestReceived, ResponseStarted, ResponseComplete, Panic'],
  ['policy omitManagedFields not a boolean', `${V1}omitManagedFields: "true"\nrules: [{level: None}]\n`, 'omitManagedFields: must be true or false, not a string'],
  // rule fields
  ['a rule not a mapping', `${V1}rules: [None]\n`, 'rules[0]: must be a mapping, not a string'],
  ['an unknown rule field', `${V1}rules:\n  - level: None\n  - level: None\n    namespace: [a]\n`, 'rules[1]: unknown field "namespace" (did you mean "namespaces"?)'],
  ['a rule field in the wrong case', `${V1}rules: [{Level: None}]\n`, 'rules[0]: unknown field "Level" (did you mean "level"?)'],
  ['a rule field in the wrong case (URLs)', `${V1}rules: [{level: None, nonResourceUrls: [/x]}]\n`, 'rules[0]: unknown field "nonResourceUrls" (did you mean "nonResourceURLs"?)'],
  ['no level', `${V1}rules: [{users: [a]}]\n`, 'rules[0].level: required, one of None, Metadata, Request, RequestResponse'],
  ['a null rule has no level', `${V1}rules: [~]\n`, 'rules[0].level: required, one of None, Metadata, Request, RequestResponse'],
  [
    'a bad level',
    `${V1}rules:\n  - level: None\n  - level: None\n  - level: Everything\n`,
    'rules[2].level: "Everything" is not one of None, Metadata, Request, RequestResponse',
  ],
  ['a level in the wrong case', `${V1}rules: [{level: metadata}]\n`, 'rules[0].level: "metadata" is not one of None, Metadata, Request, RequestResponse (did you mean "Metadata"?)'],
  ['a level not a string', `${V1}rules: [{level: [None]}]\n`, 'rules[0].level: must be a string, not a list'],
  ['users not a list', `${V1}rules: [{level: None, users: alice}]\n`, 'rules[0].users: must be a list of strings, not a string'],
  ['a number among verbs', `${V1}rules: [{level: None, verbs: [get, 1]}]\n`, 'rules[0].verbs[1]: must be a string, not a number'],
  ['a bad rule stage', `${V1}rules: [{level: None, omitStages: [ResponseStarted, Done]}]\n`, 'rules[0].omitStages[1]: "Done" is not one of RequestReceived, ResponseStarted, ResponseComplete, Panic'],
  ['rule omitManagedFields not a boolean', `${V1}rules: [{level: None, omitManagedFields: 1}]\n`, 'rules[0].omitManagedFields: must be true or false, not a number'],
  // nonResourceURLs
  ['a URL without a leading slash', `${V1}rules: [{level: None, nonResourceURLs: [/a, healthz]}]\n`, 'rules[0].nonResourceURLs[1]: "healthz" must begin with "/" (or be "*")'],
  ['an empty URL', `${V1}rules: [{level: None, nonResourceURLs: [""]}]\n`, 'rules[0].nonResourceURLs[0]: "" must begin with "/" (or be "*")'],
  ['a star inside a URL', `${V1}rules: [{level: None, nonResourceURLs: ["/apis/*/v1"]}]\n`, 'rules[0].nonResourceURLs[0]: "/apis/*/v1": "*" is allowed only as the last character'],
  ['two trailing stars', `${V1}rules: [{level: None, nonResourceURLs: ["/healthz**"]}]\n`, 'rules[0].nonResourceURLs[0]: "/healthz**": "*" is allowed only as the last character'],
  [
    'URLs with resources',
    `${V1}rules: [{level: None, nonResourceURLs: [/x], resources: [{group: ""}]}]\n`,
    'rules[0].nonResourceURLs: cannot be combined with resources: a rule matches API resources or non-resource URLs, not both',
  ],
  [
    'URLs with namespaces',
    `${V1}rules: [{level: None, nonResourceURLs: [/x], namespaces: [a]}]\n`,
    'rules[0].nonResourceURLs: cannot be combined with namespaces: a rule matches API resources or non-resource URLs, not both',
  ],
  // resources
  ['resources not a list', `${V1}rules: [{level: None, resources: pods}]\n`, 'rules[0].resources: must be a list of {group, resources, resourceNames}, not a string'],
  ['an unknown resources field', `${V1}rules: [{level: None, resources: [{resources: [secrets], resourceName: [s]}]}]\n`, 'rules[0].resources[0]: unknown field "resourceName" (did you mean "resourceNames"?)'],
  ['a group with its version', `${V1}rules: [{level: None, resources: [{group: ""}, {group: rbac.authorization.k8s.io/v1}]}]\n`, 'rules[0].resources[1].group: "rbac.authorization.k8s.io/v1" is not an API group: leave out the version ("rbac.authorization.k8s.io")'],
  ['an upper-case group', `${V1}rules: [{level: None, resources: [{group: Apps}]}]\n`, 'rules[0].resources[0].group: "Apps" is not an API group (a lower-case DNS subdomain such as "apps"; "" is the core group, "*" any)'],
  ['a group too long', `${V1}rules: [{level: None, resources: [{group: ${'a'.repeat(254)}}]}]\n`, `rules[0].resources[0].group: "${'a'.repeat(254)}" is not an API group (a lower-case DNS subdomain such as "apps"; "" is the core group, "*" any)`],
  ['resourceNames without resources', `${V1}rules: [{level: None, resources: [{group: "", resourceNames: [s]}]}]\n`, 'rules[0].resources[0].resourceNames: needs at least one entry in resources'],
];

void t.test('each refusal is one ConfigError line naming the flag, the file and the field', async (t) => {
  for (const [name, text, message] of ERROR_CASES) {
    const err = thrown(() => parseAuditPolicy(text, 'policy.yaml'));
    t.ok(err instanceof ConfigError, `${name}: a ConfigError`);
    t.equal((err as Error | undefined)?.message, `${PREFIX}${message}`, name);
  }
});

void t.test('what kube-apiserver accepts is accepted', async (t) => {
  const accepted: readonly [string, string][] = [
    ['group "*" and a group with dashes and dots', 'resources: [{group: "*"}, {group: flowcontrol.apiserver.k8s.io}, {group: my-group.example.com}]'],
    ['a URL of "*" and a trailing star', 'nonResourceURLs: ["*", "/healthz*", "/"]'],
    ['resourceNames with a wildcard resource', 'resources: [{resources: ["*", "pods/*"], resourceNames: [a]}]'],
    ['strings kube-apiserver does not check', 'verbs: [GET]\n    namespaces: [Not_A_Namespace]\n    resources: [{resources: [Pods/x/y]}]'],
    ['every stage', 'omitStages: [RequestReceived, ResponseStarted, ResponseComplete, Panic]'],
  ];
  for (const [name, rule] of accepted) t.equal(policyOf(`  - level: None\n    ${rule}`).rules.length, 2, name);
  const withMetadata = parseAuditPolicy(`${V1}metadata: {name: p}\nrules: [{level: None}]\n`, 'policy.yaml');
  t.equal(withMetadata.rules[0]?.level, 'None', 'metadata is allowed');
  const json = parseAuditPolicy('{"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Request"}]}', 'policy.json');
  t.equal(json.rules[0]?.level, 'Request', 'JSON is YAML');
});

void t.test('loadAuditPolicy: unreadable files are one ConfigError line naming the flag and path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'missing.yaml');
  const cases: readonly [string, string, string][] = [
    ['a missing file', missing, `--audit-policy-file: open ${missing}: no such file or directory`],
    ['a directory', dir, `--audit-policy-file: read ${dir}: is a directory`],
    ['no path', '', '--audit-policy-file: no file name given'],
  ];
  for (const [name, path, message] of cases) {
    const err = thrown(() => loadAuditPolicy(path));
    t.ok(err instanceof ConfigError, `${name}: a ConfigError`);
    t.equal((err as Error | undefined)?.message, message, name);
  }
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, `${V1}rules: [{level: All}]\n`);
  t.equal(
    (thrown(() => loadAuditPolicy(bad)) as Error | undefined)?.message,
    `--audit-policy-file: ${bad}: rules[0].level: "All" is not one of None, Metadata, Request, RequestResponse`,
    'a bad file names its path',
  );
});

void t.test('the example policy loads and classifies requests as intended', async (t) => {
  const policy = loadAuditPolicy(EXAMPLE);
  t.equal(policy.source, EXAMPLE);
  const nodes = ['system:nodes', 'system:authenticated'];
  const cases: readonly [string, AuditAttributes, AuditLevel][] = [
    ['kube-proxy watching endpoints', request('GET /api/v1/endpoints?watch=true', 'system:kube-proxy'), 'None'],
    ['kube-proxy watching endpointslices', request('GET /apis/discovery.k8s.io/v1/endpointslices?watch=1', 'system:kube-proxy'), 'None'],
    ['kube-proxy listing endpoints', request('GET /api/v1/endpoints', 'system:kube-proxy'), 'Request'],
    ['a kubelet getting its node', request('GET /api/v1/nodes/n1', 'system:node:n1', nodes), 'None'],
    ['a kubelet updating its node status', request('PATCH /api/v1/nodes/n1/status', 'system:node:n1', nodes), 'RequestResponse'],
    ['a person getting a node', request('GET /api/v1/nodes/n1'), 'Request'],
    ['/healthz', request('GET /healthz'), 'None'],
    ['/healthz/etcd', request('GET /healthz/etcd'), 'None'],
    ['/readyz', request('GET /readyz?verbose'), 'None'],
    ['/version', request('GET /version'), 'None'],
    ['events', request('POST /api/v1/namespaces/a/events'), 'None'],
    ['events.k8s.io events', request('GET /apis/events.k8s.io/v1/events'), 'None'],
    ['a secret get', request('GET /api/v1/namespaces/a/secrets/s'), 'Metadata'],
    ['a secret create', request('POST /api/v1/namespaces/a/secrets'), 'Metadata'],
    ['a configmap watch', request('GET /api/v1/configmaps?watch=1'), 'Metadata'],
    ['a token request', request('POST /api/v1/namespaces/a/serviceaccounts/default/token'), 'Metadata'],
    ['a token review', request('POST /apis/authentication.k8s.io/v1/tokenreviews'), 'Metadata'],
    ['a pod list', request('GET /api/v1/namespaces/a/pods'), 'Request'],
    ['a deployment watch', request('GET /apis/apps/v1/deployments?watch=1'), 'Request'],
    ['a pod create', request('POST /api/v1/namespaces/a/pods'), 'RequestResponse'],
    ['a pod exec', request('POST /api/v1/namespaces/a/pods/p/exec'), 'RequestResponse'],
    ['a deployment scale', request('PATCH /apis/apps/v1/namespaces/a/deployments/d/scale'), 'RequestResponse'],
    ['a role binding delete', request('DELETE /apis/rbac.authorization.k8s.io/v1/namespaces/a/rolebindings/r'), 'RequestResponse'],
    ['a custom resource create', request('POST /apis/example.com/v1/namespaces/a/widgets'), 'Metadata'],
    ['/metrics', request('GET /metrics'), 'Metadata'],
    ['discovery', request('GET /apis'), 'Metadata'],
  ];
  for (const [name, attrs, level] of cases) {
    const decision = decide(policy, attrs);
    t.equal(decision.level, level, name);
    t.same([...decision.omitStages], ['RequestReceived'], `${name}: RequestReceived omitted`);
  }
});
