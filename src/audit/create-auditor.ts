// Starts the audit log a configuration asks for: its backends (file, webhook) and the Auditor in
// front of them. Problems while running (a full disk, a webhook that is down) are reported here,
// never thrown at a request.

import type { AuditConfig } from '../config/audit-config.js';
import { Auditor } from './auditor.js';
import { createLogBackend } from './backends/log-backend.js';
import { createWebhookBackend } from './backends/webhook-backend.js';
import type { AuditBackend, AuditEvent } from './event.js';

export interface AuditReports {
  /** A backend could not write or send; `backend` names which. */
  error(backend: 'log' | 'webhook', message: string): void;
  /** Events lost: a bounded buffer or the spool full, or (the log file) a write that failed. */
  dropped(backend: 'log' | 'webhook', count: number): void;
  /** Every event handed to the backends. */
  readonly event?: (event: AuditEvent) => void;
}

export function createAuditor(config: AuditConfig, reports: AuditReports): Auditor {
  const backends: AuditBackend[] = [];
  if (config.log !== undefined) {
    // Drops are counted as they happen (paced), so /metrics shows a failing disk while it fails.
    backends.push(createLogBackend(config.log, (message) => reports.error('log', message), (count) => reports.dropped('log', count)));
  }
  if (config.webhook !== undefined) {
    backends.push(
      createWebhookBackend(config.webhook.options, config.webhook.target, {
        error: (message) => reports.error('webhook', message),
        dropped: (count) => reports.dropped('webhook', count),
      }),
    );
  }
  return new Auditor(config.settings, backends, reports.event);
}
