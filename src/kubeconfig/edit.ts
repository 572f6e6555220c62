// Sets values in a user's `auth-provider.config` inside kubeconfig text, changing nothing else.
// client-go's persister re-serialises the whole file (comments and order lost); here the yaml
// Document finds each value's exact place and only those bytes are replaced. A key that is not
// there yet has no place, so then the Document is edited and printed (yaml keeps comments).

import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { KUBECONFIG_PARSE_OPTIONS, KUBECONFIG_TO_JS_OPTIONS } from './yaml-options.js';

/**
 * The text with `users[name=userName].user.auth-provider.config[key] = value` for each entry.
 * @throws Error (one line, no values) when the text does not parse or has no such user entry, or
 * when the result would read back differently than intended.
 */
export function setAuthProviderValues(text: string, userName: string, values: Readonly<Record<string, string>>): string {
  const doc = parse(text);
  const config = providerConfig(doc, userName);
  const splices = Object.entries(values).map(([key, value]) => splice(lastPair(config, key), value));
  const edited = splices.every((s) => s !== undefined)
    ? applySplices(text, splices)
    : printWith(doc, config, values);
  checkEdit(text, edited, userName, values);
  return edited;
}

function parse(text: string): Document {
  const doc = parseDocument(text, KUBECONFIG_PARSE_OPTIONS);
  const error = doc.errors[0];
  // The lines after the first quote the source, which may hold a secret.
  if (error !== undefined) throw new Error(`yaml: ${error.message.split('\n', 1)[0] ?? ''}`);
  return doc;
}

function providerConfig(doc: Document, userName: string): YAMLMap {
  const users = lastPair(doc.contents, 'users')?.value;
  const entry = isSeq(users)
    ? findLast(users.items, (item) => isMap(item) && scalarText(lastPair(item, 'name')?.value) === userName)
    : undefined;
  let node: unknown = entry;
  for (const key of ['user', 'auth-provider', 'config']) node = lastPair(node, key)?.value;
  if (!isMap(node)) throw new Error(`no users[${JSON.stringify(userName)}].user.auth-provider.config mapping`);
  return node;
}

function lastPair(node: unknown, key: string): Pair | undefined {
  return isMap(node) ? findLast(node.items, (pair) => scalarText(pair.key) === key) : undefined;
}

/** Array.prototype.findLast is ES2023; the project targets ES2022. */
function findLast<T>(items: readonly T[], predicate: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return items[i];
  return undefined;
}

function scalarText(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

interface Splice {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** Where the value's source is and what replaces it, in the same quoting style; undefined: no place. */
function splice(pair: Pair | undefined, value: string): Splice | undefined {
  const node = pair?.value;
  if (!isScalar(node) || node.range === undefined || node.range === null) return undefined;
  const text = scalarSource(node, value);
  return text === undefined ? undefined : { start: node.range[0], end: node.range[1], text };
}

function scalarSource(node: Scalar, value: string): string | undefined {
  switch (node.type) {
    case 'PLAIN':
      return isPlainSafe(value) ? value : JSON.stringify(value);
    case 'QUOTE_DOUBLE':
      return JSON.stringify(value);
    case 'QUOTE_SINGLE':
      return `'${value.replace(/'/g, "''")}'`;
    default:
      return undefined; // block scalars: re-indenting is yaml's job
  }
}

/** Token characters (base64url, JWT) that read back as the same string written plain (not `yes`, `1e3`, `-.inf`). */
function isPlainSafe(value: string): boolean {
  if (!/^[A-Za-z0-9._~+/=-]+$/.test(value)) return false;
  const probe = parseDocument(`k: ${value}\n`, KUBECONFIG_PARSE_OPTIONS);
  return probe.errors.length === 0 && probe.get('k') === value;
}

function applySplices(text: string, splices: readonly (Splice | undefined)[]): string {
  const ordered = splices.filter((s): s is Splice => s !== undefined).sort((a, b) => b.start - a.start);
  return ordered.reduce((out, s) => out.slice(0, s.start) + s.text + out.slice(s.end), text);
}

function printWith(doc: Document, config: YAMLMap, values: Readonly<Record<string, string>>): string {
  setValues(doc, config, values);
  return doc.toString({ lineWidth: 0 });
}

/** Sets the last pair of each key (the one that counts), or adds one. */
function setValues(doc: Document, config: YAMLMap, values: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(values)) {
    const pair = lastPair(config, key);
    if (pair === undefined) config.add(doc.createPair(key, value));
    else pair.value = doc.createNode(value);
  }
}

/** The edited text must read as the original with exactly these values set. */
function checkEdit(before: string, after: string, userName: string, values: Readonly<Record<string, string>>): void {
  const expected = parse(before);
  setValues(expected, providerConfig(expected, userName), values);
  if (!isDeepStrictEqual(parse(after).toJS(KUBECONFIG_TO_JS_OPTIONS), expected.toJS(KUBECONFIG_TO_JS_OPTIONS))) {
    throw new Error('the edited kubeconfig would not read back as intended');
  }
}
