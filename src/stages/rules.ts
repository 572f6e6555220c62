// kubectl's comma-separated regex lists (pkg/proxy/proxy_server.go MakeRegexpArray): split on every
// comma, an empty value is an empty list, and matching is an unanchored search.

/** One pattern as the user wrote it, and compiled. */
export interface Rule {
  readonly text: string;
  readonly regex: RegExp;
}

/** A named list of compiled patterns, e.g. `--reject-paths`. */
export interface RuleList {
  readonly flag: string;
  readonly rules: readonly Rule[];
}

function compile(flag: string, text: string): Rule {
  try {
    // Go's RE2 inline `(?i)` is common in kubectl flags; JavaScript spells it as a flag.
    const regex = text.startsWith('(?i)') ? new RegExp(text.slice(4), 'i') : new RegExp(text);
    return { text, regex };
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : String(err);
    throw new Error(`${flag}: invalid regular expression ${JSON.stringify(text)}: ${reason}`, { cause: err });
  }
}

/** Compiles a flag's value; throws with the flag and pattern named when one does not compile. */
export function compileRuleList(flag: string, value: string): RuleList {
  return { flag, rules: value === '' ? [] : value.split(',').map((text) => compile(flag, text)) };
}

/** The first rule that matches anywhere in `value`, if any. */
export function firstMatch(list: RuleList, value: string): Rule | undefined {
  return list.rules.find((rule) => rule.regex.test(value));
}
