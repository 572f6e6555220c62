// kubectl's -v levels, named once: what each one adds to the log.

export const VERBOSITY = {
  /** One line per request (kubectl -v=6: method, URL, status, time). */
  requests: 6,
  /** The request headers as sent upstream, credentials masked. */
  requestHeaders: 7,
  /** The API server's response headers. */
  responseHeaders: 8,
  /** The request as a curl command. */
  curl: 9,
} as const;

/** What the forwarding code keeps for the log, decided once from -v. */
export interface HeaderRecording {
  readonly requestHeaders: boolean;
  readonly responseHeaders: boolean;
}

export function headerRecording(verbosity: number): HeaderRecording {
  return { requestHeaders: verbosity >= VERBOSITY.requestHeaders, responseHeaders: verbosity >= VERBOSITY.responseHeaders };
}
