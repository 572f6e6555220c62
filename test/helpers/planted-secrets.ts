// Secrets the tests plant (tokens, passwords, key material) and a check that no proxy output
// contains any of them: every proxy the suite runs is checked when it exits
// (proxy-process.ts), so the whole suite's log lines, at every -v level, are swept.

const planted = new Set<string>();

/** Registers values that must never appear in the proxy's stdout or stderr. Short values are ignored (too likely by chance). */
export function plant(...secrets: readonly (string | undefined)[]): void {
  for (const secret of secrets) if (secret !== undefined && secret.length >= 8) planted.add(secret);
}

/** The body lines of a PEM private key: any of them in a log means the key leaked. */
export function plantPrivateKey(pem: string | Buffer): void {
  const text = pem.toString();
  if (!text.includes('PRIVATE KEY')) return;
  plant(...text.split(/\r?\n/).filter((line) => line.length >= 40 && !line.startsWith('-----')));
}

/** The planted secrets found in `text`, shown by their first characters only. */
export function leakedSecrets(text: string): string[] {
  const found: string[] = [];
  for (const secret of planted) if (text.includes(secret)) found.push(`${secret.slice(0, 4)}…`);
  return found;
}
