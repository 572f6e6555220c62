// Names a request the way kube-apiserver does (k8s.io/apiserver pkg/endpoints/request/requestinfo.go,
// RequestInfoFactory.NewRequestInfo with prefixes {api, apis} and groupless {api}), so that our
// access log, metrics and audit use the same verb/resource/name as the cluster's RBAC and audit log.

/** What the API server derives from a request before it authorizes it. */
export interface RequestInfo {
  /** False for discovery, /healthz, /version, /openapi…: everything that is not /api[s]/…/{resource}. */
  readonly isResourceRequest: boolean;
  /** The RBAC verb for resource requests (`''` for a method the API server has no verb for); the lower-case method otherwise. */
  readonly verb: string;
  readonly apiPrefix: string;
  /** `''` for the core group (`/api/v1`). */
  readonly apiGroup: string;
  readonly apiVersion: string;
  /** `''` for cluster-scoped requests and for lists across all namespaces. */
  readonly namespace: string;
  readonly resource: string;
  readonly subresource: string;
  /** From the path, or from a `metadata.name=` field selector on a list or watch. */
  readonly name: string;
  /** The path parts from the resource on: resource, name, subresource, then anything uninterpreted. */
  readonly parts: readonly string[];
  /** The raw selectors of a list, watch or deletecollection (AuthorizeWithSelectors, on by default since 1.32), for RBAC-style field/label scoping. */
  readonly fieldSelector: string;
  readonly labelSelector: string;
  /** Set when the API server would fail to build its RequestInfo (it answers 500), e.g. a bare `/api/v1/watch`. */
  readonly error?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_API_PREFIXES = new Set(['api']);
// Legacy verbs carried in the path (`/api/v1/watch/…`, `/api/v1/proxy/…`); proxy keeps no subresource.
const PATH_VERBS = new Set(['proxy', 'watch']);
const PATH_VERBS_WITHOUT_SUBRESOURCES = new Set(['proxy']);
// `/namespaces/{ns}/status` is the namespace's own subresource, not a resource called "status" in {ns}.
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const VERBS_WITH_SELECTORS = new Set(['list', 'watch', 'deletecollection']);
// Go compares req.Method case-sensitively; Node hands us the method as the client sent it.
const METHOD_VERBS = new Map([
  ['POST', 'create'],
  ['GET', 'get'],
  ['HEAD', 'get'],
  ['PUT', 'update'],
  ['PATCH', 'patch'],
  ['DELETE', 'delete'],
]);

/**
 * Derives the API server's RequestInfo. `path` is the decoded path (Go's `URL.Path`, as
 * `parseRequestTarget` yields it); `query` is the raw query, with or without its `?`, or parsed params.
 */
export function requestInfo(method: string, path: string, query: URLSearchParams | string): RequestInfo {
  const info: Mutable<RequestInfo> = {
    isResourceRequest: false,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    parts: [],
    fieldSelector: '',
    labelSelector: '',
  };
  let parts = resolveGroupVersion(info, splitPath(path));
  if (parts === undefined) return info;
  const first = parts[0] ?? '';
  const verbInPath = PATH_VERBS.has(first);
  if (verbInPath) {
    if (parts.length < 2) return { ...info, error: `unable to determine kind and namespace from url, ${path}` };
    info.verb = first;
    parts = parts.slice(1);
  } else {
    info.verb = METHOD_VERBS.get(method) ?? '';
  }
  resolveParts(info, parts);
  const values = queryValues(query);
  if (info.name === '' && info.verb === 'get') resolveCollectionRead(info, values);
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  // The legacy /watch/ endpoints do not apply selectors consistently, so the API server ignores them there.
  if (!verbInPath && VERBS_WITH_SELECTORS.has(info.verb)) {
    info.fieldSelector = values.get('fieldSelector')?.[0] ?? '';
    info.labelSelector = values.get('labelSelector')?.[0] ?? '';
  }
  return info;
}

/** Prefix, group and version; the parts after them, or undefined for a non-resource path. */
function resolveGroupVersion(info: Mutable<RequestInfo>, pathParts: string[]): string[] | undefined {
  let parts = pathParts;
  const prefix = parts[0] ?? '';
  if (parts.length < 3 || !API_PREFIXES.has(prefix)) return undefined;
  info.apiPrefix = prefix;
  parts = parts.slice(1);
  if (!GROUPLESS_API_PREFIXES.has(prefix)) {
    // A group needs /apis/{group}/{version}/{resource}: shorter is discovery.
    if (parts.length < 3) return undefined;
    info.apiGroup = parts[0] ?? '';
    parts = parts.slice(1);
  }
  info.isResourceRequest = true;
  info.apiVersion = parts[0] ?? '';
  return parts.slice(1);
}

/** Go's splitPath: surrounding slashes trimmed, inner empty segments kept. */
function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

/** Namespace, then resource/name/subresource from parts that start at the resource. */
function resolveParts(info: Mutable<RequestInfo>, pathParts: string[]): void {
  let parts = pathParts;
  if (parts[0] === 'namespaces' && parts.length > 1) {
    info.namespace = parts[1] ?? '';
    const next = parts[2];
    if (next !== undefined && !NAMESPACE_SUBRESOURCES.has(next)) parts = parts.slice(2);
  }
  info.parts = parts;
  const [resource = '', name = '', subresource = ''] = parts;
  // Only the third part is a subresource; anything after it (e.g. a proxied sub-path) is left in parts.
  if (!PATH_VERBS_WITHOUT_SUBRESOURCES.has(info.verb)) info.subresource = subresource;
  info.name = name;
  info.resource = resource;
}

/**
 * A nameless get is a list or a watch. The API server decodes the query as ListOptions; if that
 * succeeds, an exact `metadata.name` field selector names the object (what RBAC checks for a
 * single-object list/watch, e.g. kubectl get pod x --watch).
 */
function resolveCollectionRead(info: Mutable<RequestInfo>, values: Map<string, string[]>): void {
  const first = (key: string): string | undefined => values.get(key)?.[0];
  const watch = first('watch');
  info.verb = watch !== undefined && isTrue(watch) ? 'watch' : 'list';
  for (const key of ['limit', 'timeoutSeconds']) {
    const value = first(key);
    if (value !== undefined && !isInt64(value)) return;
  }
  const selected = exactFieldMatch(first('fieldSelector') ?? '', 'metadata.name');
  if (selected !== undefined && isValidPathSegmentName(selected)) info.name = selected;
}

/** apimachinery's Convert_Slice_string_To_bool: only `0` and `false` (any case) are false. */
function isTrue(value: string): boolean {
  return value !== '0' && value.toLowerCase() !== 'false';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64) succeeds. */
function isInt64(value: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(value)) return false;
  const n = BigInt(value);
  return n >= INT64_MIN && n <= INT64_MAX;
}

/** apimachinery path.IsValidPathSegmentName: a name from a selector must be usable as a path segment. */
function isValidPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/**
 * fields.ParseSelector then RequiresExactMatch(field): the value an `=`/`==` term requires of
 * `field`, or undefined when there is none or the selector does not parse (then the API server
 * keeps no name). Terms are sorted bytewise first, as Go does, so the first match is deterministic.
 */
function exactFieldMatch(selector: string, field: string): string | undefined {
  const terms = splitTerms(selector).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let match: string | undefined;
  for (const term of terms) {
    if (term === '') continue;
    const split = splitTerm(term);
    if (split === undefined) return undefined;
    const value = unescapeValue(split.rhs);
    if (value === undefined) return undefined;
    if (match === undefined && split.op !== '!=' && split.lhs === field) match = value;
  }
  return match;
}

/** Splits on commas that are not backslash-escaped, keeping the escapes. */
function splitTerms(selector: string): string[] {
  if (selector === '') return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

// `==` before `=` so that `a==b` does not leave `=b` as the value.
const TERM_OPERATORS = ['!=', '==', '='] as const;

/** The first operator in the term splits it: the field name has no escaping. */
function splitTerm(term: string): { lhs: string; op: string; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    const op = TERM_OPERATORS.find((candidate) => term.startsWith(candidate, i));
    if (op !== undefined) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
  }
  return undefined;
}

/** fields.UnescapeValue: `\\`, `\,` and `\=` are the only escapes; a bare `,` or `=` is invalid. */
function unescapeValue(raw: string): string | undefined {
  let out = '';
  let escaped = false;
  for (const c of raw) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') return undefined;
      out += c;
      escaped = false;
    } else if (c === '\\') escaped = true;
    else if (c === ',' || c === '=') return undefined;
    else out += c;
  }
  return escaped ? undefined : out;
}

/** Query values by key; a raw string is parsed as Go's url.ParseQuery does, dropping the pairs Go drops. */
function queryValues(query: URLSearchParams | string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  const add = (key: string, value: string): void => {
    const list = values.get(key);
    if (list === undefined) values.set(key, [value]);
    else list.push(value);
  };
  if (typeof query !== 'string') {
    for (const [key, value] of query) add(key, value);
    return values;
  }
  for (const pair of query.replace(/^\?/, '').split('&')) {
    // Go 1.17+ rejects `;` as a separator and skips the whole pair.
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = queryUnescape(eq === -1 ? pair : pair.slice(0, eq));
    const value = queryUnescape(eq === -1 ? '' : pair.slice(eq + 1));
    if (key !== undefined && value !== undefined) add(key, value);
  }
  return values;
}

/** url.QueryUnescape: `+` is a space; a malformed `%` escape makes Go skip the pair. */
function queryUnescape(raw: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return undefined;
  // split() with a capture group puts the escapes at odd indexes; they are bytes of UTF-8.
  const chunks = raw.replace(/\+/g, ' ').split(/%([0-9A-Fa-f]{2})/);
  const bytes = chunks.map((chunk, i) => (i % 2 === 1 ? Buffer.from([parseInt(chunk, 16)]) : Buffer.from(chunk, 'utf8')));
  // Go keeps invalid UTF-8 as bytes; a JS string cannot, so such bytes become U+FFFD.
  return Buffer.concat(bytes).toString('utf8');
}

/** The RequestInfo of a request target as received (`/path?query`, percent-encoded). */
export function requestInfoOfUrl(method: string, url: string): RequestInfo {
  const question = url.indexOf('?');
  const rawPath = question === -1 ? url : url.slice(0, question);
  let path = rawPath;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    // an undecodable path was refused before it was forwarded; keep it as written
  }
  return requestInfo(method, path, question === -1 ? '' : url.slice(question + 1));
}

// kube-apiserver's BasicLongRunningRequestCheck (server/config.go: verbs watch and proxy;
// subresources attach, exec, proxy, log, portforward): their answers may stream for as long as
// the client stays, so they never share a connection that short requests wait for.
const LONG_RUNNING_VERBS = new Set(['watch', 'proxy']);
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);

/** Whether the API server treats the request as long-running (no request timeout, may stream). */
export function isLongRunning(info: RequestInfo): boolean {
  if (LONG_RUNNING_VERBS.has(info.verb)) return true;
  return info.isResourceRequest && LONG_RUNNING_SUBRESOURCES.has(info.subresource);
}
