// Typed readers for decoded YAML values. They reject wrong types the way client-go's strict JSON
// decoding does, and name the field (never its value, which may be a secret) when they do.

/** A decoded YAML/JSON mapping. */
export type YamlObject = Readonly<Record<string, unknown>>;

/** Why one file could not be decoded; load-files.ts adds the file name. */
export class DecodeProblem extends Error {
  override readonly name = 'DecodeProblem';
}

/** Describes a value's YAML type for messages, without showing the value. */
function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value instanceof Date) return 'timestamp';
  if (typeof value === 'object') return 'mapping';
  return typeof value === 'number' ? 'number' : typeof value;
}

function wrongType(path: string, want: string, value: unknown): DecodeProblem {
  return new DecodeProblem(`${path}: expected ${want}, got ${typeName(value)}`);
}

/** A mapping, or `undefined` for null/absent (Go decodes JSON null as "not set"). */
export function asObject(value: unknown, path: string): YamlObject | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof Date) {
    throw wrongType(path, 'a mapping', value);
  }
  return value as YamlObject;
}

/** A list, or an empty list for null/absent. */
export function optList(obj: YamlObject | undefined, key: string, path: string): readonly unknown[] {
  const value = obj?.[key];
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw wrongType(`${path}${key}`, 'a list', value);
  return value as unknown[];
}

/** A string field; "" counts as unset, as client-go tests `len(x) != 0`. */
export function optString(obj: YamlObject | undefined, key: string, path: string): string | undefined {
  const value = obj?.[key];
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'string') throw wrongType(`${path}${key}`, 'a string', value);
  return value === '' ? undefined : value;
}

/** A boolean field; false counts as unset (mergo only copies non-zero values). */
export function optTrue(obj: YamlObject | undefined, key: string, path: string): true | undefined {
  const value = obj?.[key];
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'boolean') throw wrongType(`${path}${key}`, 'a boolean', value);
  return value ? true : undefined;
}

// Go's encoding/json decodes []byte with base64.StdEncoding, which requires padding and skips
// only CR and LF; Node's Buffer.from(…, 'base64') accepts almost anything, so check first.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A `*-data` field: base64 text decoded to bytes; empty counts as unset. */
export function optBase64(obj: YamlObject | undefined, key: string, path: string): Buffer | undefined {
  const text = optString(obj, key, path);
  if (text === undefined) return undefined;
  const compact = text.replace(/[\r\n]/g, '');
  if (!STRICT_BASE64.test(compact)) throw new DecodeProblem(`${path}${key}: illegal base64 data`);
  return compact === '' ? undefined : Buffer.from(compact, 'base64');
}

/** A list of strings; empty counts as unset. */
export function optStringList(obj: YamlObject | undefined, key: string, path: string): string[] | undefined {
  const list = optList(obj, key, path).map((item, i) => {
    if (typeof item !== 'string') throw wrongType(`${path}${key}[${i}]`, 'a string', item);
    return item;
  });
  return list.length === 0 ? undefined : list;
}

/** A mapping of string lists (`as-user-extra`); empty counts as unset. */
export function optStringListMap(
  obj: YamlObject | undefined,
  key: string,
  path: string,
): Record<string, string[]> | undefined {
  const map = asObject(obj?.[key], `${path}${key}`);
  if (map === undefined) return undefined;
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  const entries = Object.keys(map).map((name) => [name, optStringList(map, name, `${path}${key}.`) ?? []]);
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as Record<string, string[]>);
}
