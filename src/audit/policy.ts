// Which requests get an audit event, and at what level: the audit.k8s.io/v1 Policy file that
// kube-apiserver takes with --audit-policy-file, read and evaluated as kube-apiserver does
// (k8s.io/apiserver pkg/audit/policy/reader.go and checker.go, pkg/apis/audit/validation), so one
// file means the same thing to the cluster and to us. Where kube-apiserver only warns (unknown or
// repeated fields) we refuse: a misspelt field silently widens a rule.

import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, messageOf } from '../errors.js';
import { describeFsError } from '../kubeconfig/fs-errors.js';
import type { RequestInfo } from '../observe/request-info.js';

export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export type AuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';

/** Resources of one API group that a rule applies to (`GroupResources`). */
export interface AuditGroupResources {
  /** `''` is the core group, `'*'` any group. */
  readonly group: string;
  /**
   * `pods` (no subresource), `pods/log`, `*` (all, subresources too), `pods/*` (pods and all its
   * subresources), or a `*` before a subresource (that subresource of anything). Empty: the whole group.
   */
  readonly resources: readonly string[];
  /** Empty: any name. A list or watch has no name unless it selects `metadata.name`. */
  readonly resourceNames: readonly string[];
}

/** One rule as written. Every non-empty list must match; an empty list matches anything. */
export interface AuditPolicyRule {
  readonly level: AuditLevel;
  readonly users: readonly string[];
  readonly userGroups: readonly string[];
  readonly verbs: readonly string[];
  readonly resources: readonly AuditGroupResources[];
  /** `''` is cluster scope, which also covers lists across all namespaces. */
  readonly namespaces: readonly string[];
  readonly nonResourceURLs: readonly string[];
  readonly omitStages: readonly AuditStage[];
  /** Unset: the policy's value. */
  readonly omitManagedFields?: boolean;
}

/** A parsed, validated, frozen policy. */
export interface AuditPolicy {
  /** The file it came from, for messages. */
  readonly source: string;
  /** In order: the first rule that matches decides. */
  readonly rules: readonly AuditPolicyRule[];
  readonly omitStages: readonly AuditStage[];
  readonly omitManagedFields: boolean;
}

/** What the policy decides for one request. */
export interface PolicyDecision {
  readonly level: AuditLevel;
  readonly omitStages: ReadonlySet<AuditStage>;
  readonly omitManagedFields: boolean;
}

/** What a rule looks at: kube-apiserver's authorizer attributes. */
export interface AuditAttributes {
  readonly user: { readonly name: string; readonly groups: readonly string[] };
  /** The decoded URL path, matched against `nonResourceURLs`. */
  readonly path: string;
  readonly info: RequestInfo;
}

const FLAG = '--audit-policy-file';
const API_VERSION = 'audit.k8s.io/v1';
const LEVELS: readonly AuditLevel[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
const STAGES: readonly AuditStage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];
const POLICY_FIELDS = ['apiVersion', 'kind', 'metadata', 'rules', 'omitStages', 'omitManagedFields'];
const RULE_FIELDS = [
  'level',
  'users',
  'userGroups',
  'verbs',
  'resources',
  'namespaces',
  'nonResourceURLs',
  'omitStages',
  'omitManagedFields',
];
const GROUP_RESOURCES_FIELDS = ['group', 'resources', 'resourceNames'];
// kube-apiserver decodes with sigs.k8s.io/yaml (go-yaml v2), i.e. YAML 1.1: `yes`/`on` are booleans.
// Repeated keys are refused (strict decoding); aliases are bounded against billion laughs.
const PARSE_OPTIONS = { version: '1.1', uniqueKeys: true } as const;
const TO_JS_OPTIONS = { mapAsMap: true, maxAliasCount: 100 } as const;
// What decide() compares with, built once per policy; kept out of the policy so that it stays plain data.
const compiledPolicies = new WeakMap<AuditPolicy, CompiledPolicy>();

/**
 * Reads, parses and validates a policy file.
 * @throws ConfigError with one line naming the flag, the file and the field at fault.
 */
export function loadAuditPolicy(path: string): AuditPolicy {
  if (path === '') throw new ConfigError(`${FLAG}: no file name given`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${FLAG}: ${describeFsError('open', path, err)}`, { cause: err });
  }
  return parseAuditPolicy(text, path);
}

/**
 * Parses and validates a policy; `source` names it in messages.
 * @throws ConfigError with one line naming the flag, the source and the field at fault.
 */
export function parseAuditPolicy(text: string, source: string): AuditPolicy {
  try {
    return register(decodePolicy(parseYaml(text), source));
  } catch (err) {
    if (!(err instanceof PolicyProblem)) throw err;
    const where = err.field === '' ? '' : `${err.field}: `;
    throw new ConfigError(`${FLAG}: ${source}: ${where}${err.message}`, { cause: err });
  }
}

/** Metadata for every request: what is logged when no policy file is given. */
export const DEFAULT_POLICY: AuditPolicy = register(
  Object.freeze({
    source: 'built-in default policy',
    rules: Object.freeze([freezeRule({ level: 'Metadata' })]),
    omitStages: Object.freeze([]),
    omitManagedFields: false,
  }),
);

/** The level, stages to omit and managed-fields choice for one request: the first matching rule's, else None. */
export function decide(policy: AuditPolicy, attrs: AuditAttributes): PolicyDecision {
  const compiled = compiledOf(policy);
  for (const rule of compiled.rules) {
    if (ruleMatches(rule, attrs)) return rule.decision;
  }
  return compiled.fallback;
}

// ---------------------------------------------------------------------------------------------
// Evaluation (checker.go). Everything a request is compared with is built once per policy.

interface CompiledPolicy {
  readonly rules: readonly CompiledRule[];
  readonly fallback: PolicyDecision;
}

interface CompiledRule {
  readonly users: ReadonlySet<string> | undefined;
  readonly userGroups: ReadonlySet<string> | undefined;
  readonly verbs: ReadonlySet<string> | undefined;
  readonly target: Target;
  readonly decision: PolicyDecision;
}

// checker.go looks at resources/namespaces first and ignores nonResourceURLs then; a rule with
// none of the three matches resource and non-resource requests alike.
type Target =
  | { readonly kind: 'any' }
  | {
      readonly kind: 'resource';
      readonly namespaces: ReadonlySet<string> | undefined;
      /** By group (`'*'` included); undefined when the rule lists no resources. */
      readonly groups: ReadonlyMap<string, readonly ResourceMatcher[]> | undefined;
    }
  | { readonly kind: 'nonResource'; readonly exact: ReadonlySet<string>; readonly prefixes: readonly string[] };

/** One `resources` entry, its wildcard forms sorted out. */
interface ResourceMatcher {
  /** The entry lists no resources: checker.go then matches the whole group before looking at names. */
  readonly wholeGroup: boolean;
  readonly names: ReadonlySet<string> | undefined;
  /** `*`. */
  readonly anyResource: boolean;
  /** `pods`, `pods/log`: compared with `resource[/subresource]`. */
  readonly exact: ReadonlySet<string>;
  /** `pods/*` → `pods`. checker.go matches it with or without a subresource, so it covers pods too. */
  readonly allOf: ReadonlySet<string>;
  // `*` + `/scale` → `scale`: that subresource of anything.
  readonly subresourceOfAny: ReadonlySet<string>;
}

function register(policy: AuditPolicy): AuditPolicy {
  compiledPolicies.set(policy, compile(policy));
  return policy;
}

// A policy built by hand rather than parsed is compiled on first use.
function compiledOf(policy: AuditPolicy): CompiledPolicy {
  let compiled = compiledPolicies.get(policy);
  if (compiled === undefined) {
    compiled = compile(policy);
    compiledPolicies.set(policy, compiled);
  }
  return compiled;
}

function compile(policy: AuditPolicy): CompiledPolicy {
  return {
    rules: policy.rules.map((rule) => compileRule(rule, policy)),
    fallback: decision('None', policy.omitStages, policy.omitManagedFields),
  };
}

function compileRule(rule: AuditPolicyRule, policy: AuditPolicy): CompiledRule {
  return {
    users: setOf(rule.users),
    userGroups: setOf(rule.userGroups),
    verbs: setOf(rule.verbs),
    target: compileTarget(rule),
    // The policy's omitStages apply to every rule as well as its own (NewPolicyRuleEvaluator).
    decision: decision(rule.level, [...policy.omitStages, ...rule.omitStages], rule.omitManagedFields ?? policy.omitManagedFields),
  };
}

function compileTarget(rule: AuditPolicyRule): Target {
  if (rule.namespaces.length > 0 || rule.resources.length > 0) {
    let groups: Map<string, ResourceMatcher[]> | undefined;
    for (const entry of rule.resources) {
      groups ??= new Map();
      const list = groups.get(entry.group) ?? [];
      list.push(compileResources(entry));
      groups.set(entry.group, list);
    }
    return { kind: 'resource', namespaces: setOf(rule.namespaces), groups };
  }
  if (rule.nonResourceURLs.length > 0) {
    const specs = rule.nonResourceURLs;
    return {
      kind: 'nonResource',
      exact: new Set(specs),
      // checker.go trims every trailing `*` and compares prefixes as strings: `/healthz*` matches
      // `/healthzx`, and `*` leaves the empty prefix, which matches every path.
      prefixes: specs.filter((spec) => spec.endsWith('*')).map((spec) => spec.replace(/\*+$/, '')),
    };
  }
  return { kind: 'any' };
}

function compileResources(entry: AuditGroupResources): ResourceMatcher {
  const exact = new Set<string>();
  const allOf = new Set<string>();
  const subresourceOfAny = new Set<string>();
  for (const res of entry.resources) {
    exact.add(res);
    if (res.startsWith('*/')) subresourceOfAny.add(res.slice(2));
    if (res.endsWith('/*')) allOf.add(res.slice(0, -2));
  }
  return {
    wholeGroup: entry.resources.length === 0,
    names: setOf(entry.resourceNames),
    anyResource: entry.resources.includes('*'),
    exact,
    allOf,
    subresourceOfAny,
  };
}

function decision(level: AuditLevel, omitStages: readonly AuditStage[], omitManagedFields: boolean): PolicyDecision {
  return Object.freeze({ level, omitStages: new Set(omitStages), omitManagedFields });
}

/** An empty list constrains nothing. */
function setOf(values: readonly string[]): ReadonlySet<string> | undefined {
  return values.length === 0 ? undefined : new Set(values);
}

function ruleMatches(rule: CompiledRule, attrs: AuditAttributes): boolean {
  if (rule.users !== undefined && !rule.users.has(attrs.user.name)) return false;
  if (rule.userGroups !== undefined && !hasAny(rule.userGroups, attrs.user.groups)) return false;
  if (rule.verbs !== undefined && !rule.verbs.has(attrs.info.verb)) return false;
  const target = rule.target;
  switch (target.kind) {
    case 'any':
      return true;
    case 'resource':
      return resourceMatches(target.namespaces, target.groups, attrs.info);
    case 'nonResource':
      if (attrs.info.isResourceRequest) return false;
      return target.exact.has(attrs.path) || target.prefixes.some((prefix) => attrs.path.startsWith(prefix));
  }
}

function hasAny(set: ReadonlySet<string>, values: readonly string[]): boolean {
  for (const value of values) if (set.has(value)) return true;
  return false;
}

function resourceMatches(
  namespaces: ReadonlySet<string> | undefined,
  groups: ReadonlyMap<string, readonly ResourceMatcher[]> | undefined,
  info: RequestInfo,
): boolean {
  if (!info.isResourceRequest) return false;
  if (namespaces !== undefined && !namespaces.has(info.namespace)) return false;
  if (groups === undefined) return true;
  const combined = info.subresource === '' ? info.resource : `${info.resource}/${info.subresource}`;
  return anyEntryMatches(groups.get(info.apiGroup), info, combined) || anyEntryMatches(groups.get('*'), info, combined);
}

function anyEntryMatches(matchers: readonly ResourceMatcher[] | undefined, info: RequestInfo, combined: string): boolean {
  for (const matcher of matchers ?? []) if (entryMatches(matcher, info, combined)) return true;
  return false;
}

function entryMatches(matcher: ResourceMatcher, info: RequestInfo, combined: string): boolean {
  if (matcher.wholeGroup) return true;
  if (matcher.names !== undefined && !matcher.names.has(info.name)) return false;
  return (
    matcher.anyResource ||
    matcher.exact.has(combined) ||
    (info.subresource !== '' && matcher.subresourceOfAny.has(info.subresource)) ||
    matcher.allOf.has(info.resource)
  );
}

// ---------------------------------------------------------------------------------------------
// Decoding and validation (reader.go, validation.go). The first problem found is reported.

/** A problem in the document: `field` is its path (`rules[2].level`), `''` for the whole document. */
class PolicyProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'PolicyProblem';
  }
}

function fail(field: string, message: string): never {
  throw new PolicyProblem(field, message);
}

function parseYaml(text: string): unknown {
  const doc = parseDocument(text, PARSE_OPTIONS);
  const error = doc.errors[0];
  if (error !== undefined) {
    const at = error.linePos?.[0];
    const where = at === undefined ? '' : `line ${at.line}, column ${at.col}: `;
    // Line one of a yaml message is "<what> at line L, column C:"; the rest quotes the source.
    const what =
      error.code === 'MULTIPLE_DOCS'
        ? 'a second YAML document; a policy file holds one'
        : (error.message.split('\n', 1)[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    fail('', `${where}${what}`);
  }
  try {
    return doc.toJS(TO_JS_OPTIONS);
  } catch (err) {
    return fail('', `yaml: ${messageOf(err).split('\n', 1)[0] ?? ''}`);
  }
}

type YamlMap = Map<unknown, unknown>;

function decodePolicy(top: unknown, source: string): AuditPolicy {
  if (top === null || top === undefined) fail('', `empty document; expected an ${API_VERSION} Policy`);
  if (!(top instanceof Map)) fail('', `expected a Policy mapping (apiVersion, kind, rules) at the top level, not ${describe(top)}`);
  checkTypeMeta(top);
  const doc = mapping(top, '', POLICY_FIELDS);
  if (!isNullish(doc.get('metadata')) && !(doc.get('metadata') instanceof Map)) {
    fail('metadata', `must be a mapping, not ${describe(doc.get('metadata'))}`);
  }
  const omitStages = stageList(doc, 'omitStages', '');
  const omitManagedFields = boolean(doc, 'omitManagedFields', '') ?? false;
  const rulesValue = doc.get('rules');
  if (!isNullish(rulesValue) && !Array.isArray(rulesValue)) fail('rules', `must be a list of rules, not ${describe(rulesValue)}`);
  const rules = ((rulesValue ?? []) as unknown[]).map((rule, index) => decodeRule(rule, `rules[${index}]`));
  // reader.go refuses an empty policy after validating it, rather than logging nothing.
  if (rules.length === 0) fail('rules', 'at least one rule is required');
  return Object.freeze({ source, rules: Object.freeze(rules), omitStages, omitManagedFields });
}

// The decoder only knows Policy in audit.k8s.io/v1; v1alpha1 and v1beta1 were removed from kube-apiserver.
function checkTypeMeta(top: YamlMap): void {
  const apiVersion = top.get('apiVersion');
  if (isNullish(apiVersion) || apiVersion === '') fail('apiVersion', `required; use ${API_VERSION}`);
  if (typeof apiVersion !== 'string') fail('apiVersion', `must be a string, not ${describe(apiVersion)}`);
  if (apiVersion === 'audit.k8s.io/v1beta1' || apiVersion === 'audit.k8s.io/v1alpha1') {
    fail('apiVersion', `${JSON.stringify(apiVersion)} is no longer served by kube-apiserver; use ${API_VERSION}`);
  }
  if (apiVersion !== API_VERSION) fail('apiVersion', `${JSON.stringify(apiVersion)} is not ${API_VERSION}`);
  const kind = top.get('kind');
  if (isNullish(kind) || kind === '') fail('kind', 'required; use Policy');
  if (typeof kind !== 'string') fail('kind', `must be a string, not ${describe(kind)}`);
  if (kind !== 'Policy') fail('kind', `${JSON.stringify(kind)} is not Policy`);
}

function decodeRule(value: unknown, path: string): AuditPolicyRule {
  const rule = mapping(value, path, RULE_FIELDS);
  const levelValue = string(rule, 'level', path);
  const users = stringList(rule, 'users', path);
  const userGroups = stringList(rule, 'userGroups', path);
  const verbs = stringList(rule, 'verbs', path);
  const namespaces = stringList(rule, 'namespaces', path);
  const nonResourceURLs = stringList(rule, 'nonResourceURLs', path);
  const resourcesValue = rule.get('resources');
  if (!isNullish(resourcesValue) && !Array.isArray(resourcesValue)) {
    fail(`${path}.resources`, `must be a list of {group, resources, resourceNames}, not ${describe(resourcesValue)}`);
  }
  const resources = ((resourcesValue ?? []) as unknown[]).map((entry, index) => decodeGroupResources(entry, `${path}.resources[${index}]`));
  const omitStages = stageList(rule, 'omitStages', path);
  const omitManagedFields = boolean(rule, 'omitManagedFields', path);
  // validation.go's order: level, nonResourceURLs, resources, omitStages, then the mix of kinds.
  const level = checkLevel(levelValue, `${path}.level`);
  nonResourceURLs.forEach((url, index) => checkNonResourceURL(url, `${path}.nonResourceURLs[${index}]`));
  if (nonResourceURLs.length > 0 && (resources.length > 0 || namespaces.length > 0)) {
    const other = resources.length > 0 ? 'resources' : 'namespaces';
    fail(`${path}.nonResourceURLs`, `cannot be combined with ${other}: a rule matches API resources or non-resource URLs, not both`);
  }
  return freezeRule({ level, users, userGroups, verbs, resources, namespaces, nonResourceURLs, omitStages, omitManagedFields });
}

function decodeGroupResources(value: unknown, path: string): AuditGroupResources {
  const entry = mapping(value, path, GROUP_RESOURCES_FIELDS);
  const group = string(entry, 'group', path);
  const resources = stringList(entry, 'resources', path);
  const resourceNames = stringList(entry, 'resourceNames', path);
  checkGroup(group, `${path}.group`);
  if (resourceNames.length > 0 && resources.length === 0) fail(`${path}.resourceNames`, 'needs at least one entry in resources');
  return Object.freeze({ group, resources, resourceNames });
}

function freezeRule(rule: Partial<AuditPolicyRule> & Pick<AuditPolicyRule, 'level'>): AuditPolicyRule {
  const list = <T>(values: readonly T[] | undefined): readonly T[] => Object.freeze([...(values ?? [])]);
  return Object.freeze({
    level: rule.level,
    users: list(rule.users),
    userGroups: list(rule.userGroups),
    verbs: list(rule.verbs),
    resources: list(rule.resources),
    namespaces: list(rule.namespaces),
    nonResourceURLs: list(rule.nonResourceURLs),
    omitStages: list(rule.omitStages),
    ...(rule.omitManagedFields === undefined ? {} : { omitManagedFields: rule.omitManagedFields }),
  });
}

function checkLevel(level: string, field: string): AuditLevel {
  if (level === '') fail(field, `required, one of ${LEVELS.join(', ')}`);
  if (!isOneOf(level, LEVELS)) fail(field, `${JSON.stringify(level)} is not one of ${LEVELS.join(', ')}${hint(level, LEVELS)}`);
  return level;
}

function checkNonResourceURL(url: string, field: string): void {
  if (url === '*') return;
  if (!url.startsWith('/')) fail(field, `${JSON.stringify(url)} must begin with "/" (or be "*")`);
  if (url.slice(0, -1).includes('*')) fail(field, `${JSON.stringify(url)}: "*" is allowed only as the last character`);
}

// Group names are DNS subdomains (NameIsDNSSubdomain); "" is the core group, "*" any group.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkGroup(group: string, field: string): void {
  if (group === '' || group === '*' || (group.length <= 253 && DNS_SUBDOMAIN.test(group))) return;
  const slash = group.indexOf('/');
  if (slash > 0) fail(field, `${JSON.stringify(group)} is not an API group: leave out the version (${JSON.stringify(group.slice(0, slash))})`);
  fail(field, `${JSON.stringify(group)} is not an API group (a lower-case DNS subdomain such as "apps"; "" is the core group, "*" any)`);
}

/** A mapping whose keys are all known; null is Go's zero value, an empty mapping. */
function mapping(value: unknown, path: string, known: readonly string[]): YamlMap {
  if (isNullish(value)) return new Map();
  if (!(value instanceof Map)) fail(path, `must be a mapping, not ${describe(value)}`);
  for (const key of (value as YamlMap).keys()) {
    const name = String(key);
    if (typeof key !== 'string' || !known.includes(key)) {
      const suggestion = suggest(name, known);
      const help = suggestion === undefined ? `known: ${known.join(', ')}` : `did you mean ${JSON.stringify(suggestion)}?`;
      fail(path, `unknown field ${JSON.stringify(name)} (${help})`);
    }
  }
  return value as YamlMap;
}

function fieldPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function string(map: YamlMap, key: string, path: string): string {
  const value = map.get(key);
  if (isNullish(value)) return '';
  if (typeof value !== 'string') fail(fieldPath(path, key), `must be a string, not ${describe(value)}`);
  return value;
}

function boolean(map: YamlMap, key: string, path: string): boolean | undefined {
  const value = map.get(key);
  if (isNullish(value)) return undefined;
  if (typeof value !== 'boolean') fail(fieldPath(path, key), `must be true or false, not ${describe(value)}`);
  return value;
}

function stringList(map: YamlMap, key: string, path: string): readonly string[] {
  const field = fieldPath(path, key);
  const value = map.get(key);
  if (isNullish(value)) return Object.freeze([]);
  if (!Array.isArray(value)) fail(field, `must be a list of strings, not ${describe(value)}`);
  return Object.freeze(
    (value as unknown[]).map((item, index) => {
      // Go decodes a null item into a string as "".
      if (isNullish(item)) return '';
      if (typeof item !== 'string') fail(`${field}[${index}]`, `must be a string, not ${describe(item)}`);
      return item;
    }),
  );
}

function stageList(map: YamlMap, key: string, path: string): readonly AuditStage[] {
  const field = fieldPath(path, key);
  return Object.freeze(
    stringList(map, key, path).map((stage, index) => {
      if (!isOneOf(stage, STAGES)) fail(`${field}[${index}]`, `${JSON.stringify(stage)} is not one of ${STAGES.join(', ')}${hint(stage, STAGES)}`);
      return stage;
    }),
  );
}

function isOneOf<T extends string>(value: string, allowed: readonly T[]): value is T {
  return (allowed as readonly string[]).includes(value);
}

function isNullish(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

function hint(value: string, known: readonly string[]): string {
  const suggestion = suggest(value, known);
  return suggestion === undefined ? '' : ` (did you mean ${JSON.stringify(suggestion)}?)`;
}

/** The known name a typo most likely meant: the same but for case, or for a plural `s`. */
function suggest(name: string, known: readonly string[]): string | undefined {
  const folded = name.toLowerCase();
  return known.find((candidate) => {
    const c = candidate.toLowerCase();
    return c === folded || c === `${folded}s` || `${c}s` === folded;
  });
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Map) return 'a mapping';
  if (value instanceof Date) return 'a date';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}
