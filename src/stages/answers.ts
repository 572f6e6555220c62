// Ready-made answers stages give: Kubernetes Status bodies and redirects.

import { statusBody, type ProxyError } from '../errors.js';
import type { Answer } from './stage.js';

/** A failure answered the way the API server would: `kind: Status` JSON, with the code in its details. */
export function errorAnswer(error: ProxyError): Answer {
  const retryAfter = error.details.retryAfterSeconds;
  return {
    statusCode: error.statusCode,
    headers: {
      'content-type': 'application/json',
      'x-content-type-options': 'nosniff',
      ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
    },
    body: statusBody(error.statusCode, error.reason, error.message, error.details),
    code: error.code,
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
