// One line per request at -v=6 and above, written when the response is done: what was asked,
// what came back, and where the time went (observe/timeline.ts). Never logs headers' values.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observe/logger.js';
import { RequestTimeline } from '../observe/timeline.js';

export function logRequest(logger: Logger, req: IncomingMessage, res: ServerResponse): void {
  if (!logger.isLevelEnabled('debug')) return;
  const start = process.hrtime.bigint();
  res.once('close', () => {
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const timeline = RequestTimeline.of(res);
    logger.debug(
      {
        method: req.method,
        url: req.url,
        status: res.statusCode,
        completed: res.writableFinished,
        ms: Math.round(ms * 1000) / 1000,
        // Joins this line to the API server's audit event (its auditID).
        auditID: res.getHeader('audit-id'),
        ...(timeline === undefined
          ? {}
          : { connection: timeline.connection === undefined ? undefined : timeline.connection === 'reused' ? 'reused' : 'new', phases: timeline.phases(), responseBytes: timeline.responseBytes }),
      },
      'request completed',
    );
  });
}
