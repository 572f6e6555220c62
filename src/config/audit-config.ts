// The audit log's part of the completed configuration: the policy read and checked, the backends'
// options, who the proxy acts as. Files are opened or read here so that a bad one is a one-line
// start-up error naming its flag, not a failure at the first request.

import { join, resolve } from 'node:path';
import type { AuditSettings } from '../audit/auditor.js';
import { openCheck, type LogBackendOptions } from '../audit/backends/log-backend.js';
import { loadWebhookTarget, type WebhookBackendOptions, type WebhookTarget } from '../audit/backends/webhook-backend.js';
import { DEFAULT_POLICY, loadAuditPolicy } from '../audit/policy.js';
import type { ActingUser } from '../credentials/identity.js';
import type { ProxyOptions } from './options.js';

export interface AuditConfig {
  readonly settings: AuditSettings;
  readonly log?: LogBackendOptions;
  readonly webhook?: { readonly options: WebhookBackendOptions; readonly target: WebhookTarget };
}

/** Undefined unless a log path or a webhook is given; `warnings` gets a note on a policy without either. */
export async function auditConfig(options: ProxyOptions, stateDir: string, users: { user: ActingUser; impersonated?: ActingUser }, warnings: string[]): Promise<AuditConfig | undefined> {
  const { auditLogPath, auditWebhookConfigFile, auditPolicyFile } = options;
  if (auditLogPath === undefined && auditWebhookConfigFile === undefined) {
    if (auditPolicyFile !== undefined) warnings.push('--audit-policy-file has no effect without --audit-log-path or --audit-webhook-config-file');
    return undefined;
  }
  const policy = auditPolicyFile === undefined ? DEFAULT_POLICY : loadAuditPolicy(resolve(auditPolicyFile));
  const settings: AuditSettings = { policy, bodyLimit: options.auditBodyLimit, redact: options.auditRedact, ...users };
  let log: LogBackendOptions | undefined;
  if (auditLogPath !== undefined) {
    log = {
      path: auditLogPath === '-' ? '-' : resolve(auditLogPath),
      maxSizeMB: options.auditLogMaxSize,
      maxBackups: options.auditLogMaxBackup,
      maxAgeDays: options.auditLogMaxAge,
      compress: options.auditLogCompress,
    };
    if (log.path !== '-') openCheck(log);
  }
  const webhook =
    auditWebhookConfigFile === undefined
      ? undefined
      : {
          target: await loadWebhookTarget(resolve(auditWebhookConfigFile)),
          options: {
            configFile: resolve(auditWebhookConfigFile),
            mode: options.auditWebhookMode as WebhookBackendOptions['mode'],
            batchMaxSize: options.auditWebhookBatchMaxSize,
            batchMaxWaitMs: options.auditWebhookBatchMaxWaitMs,
            initialBackoffMs: options.auditWebhookInitialBackoffMs,
            spoolDir: join(stateDir, 'audit-spool'),
          },
        };
  return { settings, ...(log === undefined ? {} : { log }), ...(webhook === undefined ? {} : { webhook }) };
}
