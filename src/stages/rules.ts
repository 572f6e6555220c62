// kubectl's comma-separated regex lists (pkg/proxy/proxy_server.go MakeRegexpArray): split on every
// comma, an empty value is an empty list, and matching is an unanchored search.

/** A named list of compiled patterns, e.g. `--reject-paths`. */
export interface RuleList {
  readonly flag: string;
  readonly patterns: readonly RegExp[];
}

/** Compiles a flag's value; throws with the flag and pattern named when one does not compile. */
export function compileRuleList(flag: string, value: string): RuleList {
  if (value === '') return { flag, patterns: [] };
  const patterns = value.split(',').map((source) => {
    try {
      // Go's RE2 inline `(?i)` is common in kubectl flags; JavaScript spells it as a flag.
      return source.startsWith('(?i)') ? new RegExp(source.slice(4), 'i') : new RegExp(source);
    } catch (err) {
      const reason = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : String(err);
      throw new Error(`${flag}: invalid regular expression ${JSON.stringify(source)}: ${reason}`, { cause: err });
    }
  });
  return { flag, patterns };
}

/** The first pattern that matches anywhere in `value`, if any. */
export function firstMatch(list: RuleList, value: string): RegExp | undefined {
  return list.patterns.find((pattern) => pattern.test(value));
}
