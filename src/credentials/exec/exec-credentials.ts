// Credentials from an exec plugin (client-go plugin/pkg/client/auth/exec), cached until they
// expire, with three things client-go does not do:
// - refresh ahead: near the end of a credential's life the plugin runs in the background while
//   the old credential still serves, and no request is sent with one that is about to expire;
// - single flight: however many requests wait, one plugin process runs at a time;
// - a 401 refreshes once per credential and lets the forwarder replay the request (forward.ts).

import type { ExecConfig, ResolvedCluster } from '../../kubeconfig/types.js';
import { CredentialError, type AuthMaterial, type Credentials } from '../credentials.js';
import { execInfo } from './exec-info.js';
import { parseExecOutput, type PluginCredential } from './exec-output.js';
import { runPlugin } from './run-plugin.js';

/** Background refresh starts this long before expiry, at most a fifth of the credential's life. */
const REFRESH_AHEAD_MS = 60_000;
/** Closer than this to expiry (at most a tenth of its life) a credential is not sent any more. */
const EXPIRY_LEEWAY_MS = 10_000;

export interface ExecCredentialOptions {
  readonly timeoutMs: number;
  /** Whether our stdin is a terminal (decides IfAvailable; Always without one is refused). */
  readonly stdinIsTerminal: boolean;
  readonly stderr: NodeJS.WritableStream;
  /** A background refresh failed while the current credential still works. */
  readonly onWarning: (message: string) => void;
  /** The plugin ran and returned a credential (for logs and tests; never the secret). */
  readonly onRefresh?: (expiresAt: number | undefined) => void;
  readonly now?: () => number;
}

interface Cached {
  readonly material: AuthMaterial;
  /** From here on, the next request starts a background refresh. */
  readonly refreshAt: number;
  /** From here on, requests wait for a new credential. */
  readonly expiresAt: number;
  backgroundStarted: boolean;
  /** The API server refused it: the next caller waits for a new one. */
  rejected: boolean;
  readonly plugin: PluginCredential;
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined ? b === undefined : b !== undefined && a.equals(b);
}

function sameCredential(a: PluginCredential, b: PluginCredential): boolean {
  return a.token === b.token && sameBytes(a.tlsIdentity?.cert, b.tlsIdentity?.cert) && sameBytes(a.tlsIdentity?.key, b.tlsIdentity?.key);
}

/** Decides IfAvailable / Always / Never once (our stdin does not change). @throws CredentialError for Always without a terminal. */
export function isInteractive(mode: ExecConfig['interactiveMode'], stdinIsTerminal: boolean): boolean {
  if (mode === 'Never') return false;
  if (mode === 'Always' && !stdinIsTerminal) {
    throw new CredentialError('exec plugin cannot support interactive mode: standard input is not a terminal');
  }
  return stdinIsTerminal;
}

export function execCredentials(config: ExecConfig, cluster: ResolvedCluster, options: ExecCredentialOptions): Credentials {
  const now = options.now ?? Date.now;
  const interactive = isInteractive(config.interactiveMode, options.stdinIsTerminal);
  const run = { execInfo: execInfo(config, cluster, interactive), interactive, timeoutMs: options.timeoutMs, stderr: options.stderr };
  let cached: Cached | undefined;
  let inflight: Promise<AuthMaterial> | undefined;

  function store(plugin: PluginCredential): AuthMaterial {
    // The same answer again keeps the same object: no new connections for an unchanged certificate.
    const material =
      cached !== undefined && sameCredential(cached.plugin, plugin)
        ? cached.material
        : Object.freeze({
            ...(plugin.token === undefined ? {} : { authorization: `Bearer ${plugin.token}` }),
            ...(plugin.tlsIdentity === undefined ? {} : { tlsIdentity: plugin.tlsIdentity }),
          });
    const at = now();
    const life = Math.max(0, (plugin.expiresAt ?? Infinity) - at);
    const expiry = plugin.expiresAt ?? Infinity;
    cached = {
      material,
      plugin,
      refreshAt: expiry - Math.min(REFRESH_AHEAD_MS, life / 5),
      expiresAt: expiry - Math.min(EXPIRY_LEEWAY_MS, life / 10),
      backgroundStarted: false,
      rejected: false,
    };
    options.onRefresh?.(plugin.expiresAt);
    return material;
  }

  function refresh(): Promise<AuthMaterial> {
    inflight ??= runPlugin(config, run)
      .then((stdout) => {
        try {
          return store(parseExecOutput(stdout, config.apiVersion));
        } catch (err) {
          throw new CredentialError(`exec plugin ${config.command}: ${err instanceof Error ? err.message : String(err)}`);
        }
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  return {
    description: `exec plugin ${config.command}`,
    current() {
      const at = now();
      if (cached === undefined || cached.rejected || at >= cached.expiresAt) return refresh();
      if (at >= cached.refreshAt && !cached.backgroundStarted) {
        cached.backgroundStarted = true;
        refresh().catch((err: unknown) => {
          options.onWarning(`${err instanceof Error ? err.message : String(err)}; the current credential is used until it expires`);
        });
      }
      return cached.material;
    },
    unauthorized(used) {
      // Another request already saw the 401 and refreshed (or is refreshing): share its result.
      if (cached !== undefined && cached.material !== used) return Promise.resolve(cached.material);
      if (inflight !== undefined) return inflight;
      if (cached !== undefined) cached.rejected = true;
      return refresh();
    },
  };
}
