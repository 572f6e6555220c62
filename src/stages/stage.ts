// The contract every request stage follows: answer and stop, or pass the request on.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';

/** What a stage knows about the request it is looking at. */
export interface RequestState {
  readonly req: IncomingMessage;
  readonly method: string;
  /** `Host` header without its port, lower-cased; brackets of an IPv6 literal kept. */
  readonly host: string;
  /** Decoded, clean path; the API prefix stage may replace it with the path after the prefix. */
  path: string;
  /** Raw query string including `?`, or ''. Forwarded byte for byte, as kubectl does. */
  readonly query: string;
  readonly isUpgrade: boolean;
  /** Headers that whatever answers must carry (CORS for an allowed origin). */
  responseHeaders?: Readonly<Record<string, string>>;
}

/** A complete answer a stage gives instead of passing the request on. */
export interface Answer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The error code, when the answer is a refusal or failure (errors.ts). */
  readonly code?: ErrorCode;
}

/** A stage that serves the request itself (static files) rather than refusing it. */
export interface Serve {
  readonly serve: (res: ServerResponse) => void;
}

export type StageResult = Answer | Serve | undefined;

/** One step of the request path. A disabled feature is simply not in the list. */
export interface Stage {
  readonly name: string;
  run(state: RequestState): StageResult;
}
