// Impersonation headers as client-go's impersonatingRoundTripper sends them
// (transport/round_trippers.go): one Impersonate-Group per group, one Impersonate-Extra-<key>
// per value, with the key escaped so any byte that is not an HTTP token character survives.

import type { Impersonation } from '../kubeconfig/types.js';

/** RFC 7230 token characters, less `%`, which client-go escapes too (it marks an escape). */
const TOKEN_CHAR = /^[!#$&'*+\-.^_`|~0-9A-Za-z]$/;

/** client-go's headerKeyEscape: every byte that is not a token character becomes %xx. */
export function escapeExtraKey(key: string): string {
  let escaped = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const char = String.fromCharCode(byte);
    escaped += TOKEN_CHAR.test(char) ? char : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return escaped;
}

/** The flat `[name, value, …]` list of Impersonate-* headers for a user entry. */
export function impersonationHeaders(impersonate: Impersonation | undefined): readonly string[] {
  if (impersonate === undefined) return [];
  const headers = ['impersonate-user', impersonate.user];
  if (impersonate.uid !== undefined) headers.push('impersonate-uid', impersonate.uid);
  for (const group of impersonate.groups) headers.push('impersonate-group', group);
  for (const [key, values] of Object.entries(impersonate.extra)) {
    for (const value of values) headers.push(`impersonate-extra-${escapeExtraKey(key)}`, value);
  }
  return headers;
}
