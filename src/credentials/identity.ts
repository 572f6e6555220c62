// Who the proxy acts as, said once at start: the client certificate's subject and expiry, the
// token source's kind (never the token), the impersonated user. Also the 7-day expiry warning.

import { X509Certificate } from 'node:crypto';
import type { Credentials } from './credentials.js';
import type { Impersonation } from '../kubeconfig/types.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Warn this long before a client certificate expires. */
export const CERTIFICATE_EXPIRY_WARNING_DAYS = 7;

export interface Identity {
  /** e.g. `client certificate CN=kube-admin, O=system:masters (expires 2027-11-24T02:10:00Z); static token`. */
  readonly summary: string;
  readonly warnings: readonly string[];
}

function certificatePart(cert: Buffer, now: number): { text: string; warning?: string } {
  const x509 = new X509Certificate(cert);
  const subject = x509.subject.split('\n').join(', ');
  const expires = new Date(x509.validTo);
  const text = `client certificate ${subject} (expires ${expires.toISOString()})`;
  const daysLeft = (expires.getTime() - now) / DAY_MS;
  if (daysLeft < 0) return { text, warning: `the client certificate ${subject} expired on ${expires.toISOString()}` };
  if (daysLeft < CERTIFICATE_EXPIRY_WARNING_DAYS) {
    return { text, warning: `the client certificate ${subject} expires in ${Math.ceil(daysLeft)} day(s), on ${expires.toISOString()}` };
  }
  return { text };
}

export function describeIdentity(
  cert: Buffer | undefined,
  credentials: Credentials,
  impersonate: Impersonation | undefined,
  now = Date.now(),
): Identity {
  const parts: string[] = [];
  const warnings: string[] = [];
  if (cert !== undefined) {
    const { text, warning } = certificatePart(cert, now);
    parts.push(text);
    if (warning !== undefined) warnings.push(warning);
  }
  if (credentials.description !== 'none') parts.push(credentials.description);
  if (impersonate !== undefined) parts.push(`impersonating ${impersonate.user}`);
  return { summary: parts.length === 0 ? 'no credentials' : parts.join('; '), warnings };
}

/** The user the API server sees, as far as the proxy can tell without asking it. */
export interface ActingUser {
  readonly username: string;
  readonly groups: readonly string[];
  readonly uid?: string;
  /** Where the name came from: the API server authenticates a client certificate first. */
  readonly source: 'client-certificate' | 'kubeconfig-user' | 'impersonation';
}

/** Every authenticated user is in it: kube-apiserver adds it (authenticated_group_adder.go). */
const AUTHENTICATED = 'system:authenticated';

function withAuthenticated(groups: readonly string[]): string[] {
  return groups.includes(AUTHENTICATED) ? [...groups] : [...groups, AUTHENTICATED];
}

/** The client certificate's CN and O values, which the API server reads as user and groups. */
function certificateUser(cert: Buffer): ActingUser {
  const fields = new X509Certificate(cert).subject.split('\n');
  const values = (key: string) => fields.filter((field) => field.startsWith(`${key}=`)).map((field) => field.slice(key.length + 1));
  return { username: values('CN')[0] ?? '', groups: withAuthenticated(values('O')), source: 'client-certificate' };
}

/** Who the proxy acts as, for the audit log: the certificate's subject, else the kubeconfig user's name; and whom it impersonates. */
export function actingUsers(cert: Buffer | undefined, kubeconfigUser: string, impersonate: Impersonation | undefined): { user: ActingUser; impersonated?: ActingUser } {
  const user: ActingUser = cert === undefined ? { username: kubeconfigUser, groups: [AUTHENTICATED], source: 'kubeconfig-user' } : certificateUser(cert);
  if (impersonate === undefined) return { user };
  const impersonated: ActingUser = { username: impersonate.user, groups: impersonate.groups, ...(impersonate.uid === undefined ? {} : { uid: impersonate.uid }), source: 'impersonation' };
  return { user, impersonated };
}
