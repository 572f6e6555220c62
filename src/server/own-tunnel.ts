// CONNECT to the proxy's own listener, for clients that reach it through a `proxy-url` (the
// kubeconfig of --write-kubeconfig on plain HTTP): Go tunnels exec, attach and port-forward
// (gorilla/websocket and its SPDY dialer always CONNECT, even to an http:// server), and
// @kubernetes/client-node (hpagent) tunnels every request. A CONNECT that names this very listener
// and shows the caller token in Proxy-Authorization is opened, and its bytes are served as a new
// connection of this server: every request inside it still goes through all the stages, the
// tunnel standing for the caller's proof. Anything else is refused: the proxy is never an open
// forward proxy.

import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Auditor } from '../audit/auditor.js';
import type { ProxyConfig } from '../config/proxy-config.js';
import { ProxyError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { RequestContext } from '../observe/request-context.js';
import { errorAnswer } from '../stages/answers.js';
import { hasProxyAuthorizationProof } from '../stages/caller-credentials.js';
import type { CallerSecrets } from '../stages/caller-secrets.js';
import { hostWithoutPort } from '../stages/host-filter.js';
import { firstMatch, type RuleList } from '../stages/rules.js';
import type { Answer } from '../stages/stage.js';
import { clientAddress } from '../upstream/headers.js';
import { auditAnswer, beginAudit, finishAudit } from './audit-hooks.js';
import { writeRawAnswer } from './raw-answer.js';
import { requestFields } from './request-log.js';

/** What this module needs of the plain HTTP listener (node:http's Server). */
export interface TunnelListener {
  on(event: 'connect', listener: (req: IncomingMessage, socket: Socket, head: Buffer) => void): unknown;
  emit(event: 'connection', socket: Socket): boolean;
  address(): AddressInfo | string | null;
}

/** Why a CONNECT is refused, or undefined to open it. */
function refusal(req: IncomingMessage, secrets: CallerSecrets, acceptHosts: RuleList | undefined, ownPort: number | undefined): Answer | undefined {
  const target = req.url ?? '';
  const port = Number(/:(\d+)$/.exec(target)?.[1]);
  const host = hostWithoutPort(target);
  if (port !== ownPort || (acceptHosts !== undefined && firstMatch(acceptHosts, host) === undefined)) {
    return errorAnswer(new ProxyError('KAP_HOST_REJECTED', `forbidden by kube-auth-proxy: CONNECT is served only to this proxy's own listener, not to ${JSON.stringify(target.slice(0, 100))}`));
  }
  if (hasProxyAuthorizationProof(req, secrets)) return undefined;
  const answer = errorAnswer(new ProxyError('KAP_CALLER_UNAUTHORIZED', 'kube-auth-proxy needs the caller token of --caller-token-file in Proxy-Authorization to open a tunnel'));
  return { ...answer, statusCode: 407, headers: { ...answer.headers, 'proxy-authenticate': 'Basic realm="kube-auth-proxy"' } };
}

/** A refused CONNECT is audited and logged like any of the proxy's refusals. */
function refuse(req: IncomingMessage, socket: Socket, answer: Answer, logger: Logger, auditor: Auditor | undefined): void {
  const ctx = new RequestContext(req, logger);
  ctx.code = answer.code;
  beginAudit(auditor, ctx, answer);
  auditAnswer(ctx, answer);
  writeRawAnswer(socket, answer, ctx.auditId);
  finishAudit(ctx, answer.statusCode, true, false);
  logger.debug({ ...requestFields(ctx), status: answer.statusCode, ms: ctx.timeline.phases().total, client: clientAddress(req.socket.remoteAddress) }, 'request completed');
}

/**
 * Serves CONNECT to the listener itself when callers must prove who they are. Without
 * --caller-token-file no listener is added here, and every CONNECT is refused (connect-refusal.ts).
 */
export function serveOwnTunnels(server: TunnelListener, config: ProxyConfig, logger: Logger, auditor: Auditor | undefined): void {
  const secrets = config.callers?.secrets;
  if (secrets === undefined) return;
  server.on('connect', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const address = server.address();
    const refused = refusal(req, secrets, config.filter?.acceptHosts, typeof address === 'object' && address !== null ? address.port : undefined);
    if (refused !== undefined) return refuse(req, socket, refused, logger, auditor);
    secrets.admitTunnel(socket);
    socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    // node:http documents this for injecting a connection: the tunnel's bytes are parsed as HTTP anew.
    server.emit('connection', socket);
  });
}
