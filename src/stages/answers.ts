// Ready-made answers stages give: Kubernetes Status bodies and redirects.

import { statusBody, type StatusDetails, type StatusReason } from '../errors.js';
import type { Answer } from './stage.js';

/** A failure answered the way the API server would: `kind: Status` JSON. */
export function statusAnswer(statusCode: number, reason: StatusReason, message: string, details?: StatusDetails): Answer {
  const retryAfter = details?.retryAfterSeconds;
  return {
    statusCode,
    headers: {
      'content-type': 'application/json',
      'x-content-type-options': 'nosniff',
      ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
    },
    body: statusBody(statusCode, reason, message, details),
  };
}

/** Go's ServeMux answer for an unclean path or a prefix without its slash. */
export function movedPermanently(location: string): Answer {
  return {
    statusCode: 301,
    headers: { location, 'content-type': 'text/html; charset=utf-8' },
    body: `<a href="${location.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;')}">Moved Permanently</a>.\n\n`,
  };
}
