// Who the API server says the proxy is: a SelfSubjectReview (authentication.k8s.io/v1, GA in
// Kubernetes 1.28), asked once with the proxy's own credentials, so that the audit log names the
// user the cluster's RBAC and audit log see: after OIDC claims mapping, webhook authentication, a
// token's service account. Undefined when the server offers no such API or says no.

import type { UpstreamConfig } from '../config/proxy-config.js';
import type { UpstreamPools } from './dispatcher.js';
import { buildUpstreamHeaders } from './headers.js';

export interface ReviewedUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

const REVIEW_PATH = '/apis/authentication.k8s.io/v1/selfsubjectreviews';
const REVIEW_BODY = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
const REVIEW_TIMEOUT_MS = 10_000;

export async function whoAmI(pools: UpstreamPools, upstream: UpstreamConfig): Promise<ReviewedUser | undefined> {
  const auth = await upstream.credentials.current();
  const headers = buildUpstreamHeaders(['content-type', 'application/json', 'accept', 'application/json'], undefined, {
    host: upstream.server.host,
    userAgent: upstream.userAgent,
    overrideClientAuth: true,
    // The user itself: impersonated, the review would name whom it impersonates.
    impersonation: [],
    ...(auth.authorization === undefined ? {} : { authorization: auth.authorization }),
  });
  const response = await pools.for(auth.tlsIdentity, 'requests').request({
    path: upstream.pathPrefix + REVIEW_PATH,
    method: 'POST',
    headers,
    body: REVIEW_BODY,
    ...(upstream.tls?.servername === undefined ? {} : { servername: upstream.tls.servername }),
    signal: AbortSignal.timeout(REVIEW_TIMEOUT_MS),
  });
  const text = await response.body.text();
  if (response.statusCode !== 201 && response.statusCode !== 200) return undefined;
  const review = JSON.parse(text) as { status?: { userInfo?: ReviewedUser } };
  const user = review.status?.userInfo;
  return typeof user?.username === 'string' ? user : undefined;
}
