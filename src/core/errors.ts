/**
 * The one error class of tabswarm. `kind` says what went wrong so callers can branch on it;
 * the message is for people.
 */
export type ErrorKind =
  | 'metadata-unavailable'
  | 'metadata-invalid'
  | 'metadata-hash-mismatch'
  | 'policy-unavailable'
  | 'piece-hash-mismatch'
  | 'piece-length-mismatch'
  | 'protocol-violation'
  | 'peer-rejected'
  | 'peer-gone'
  | 'timeout'
  | 'cdn-error'
  | 'storage-error'
  /** The browser will not give this site room for the file (before the download, or when a write hits the quota). */
  | 'storage-full'
  | 'file-hash-mismatch'
  | 'aborted'
  /** Writing the finished file to a place the user picked failed; the picked file was left as it was. */
  | 'save-failed'
  /**
   * Playing while downloading needs a Service Worker: this page has none (not a secure
   * context, a browser without them, or the worker could not be registered or take control).
   */
  | 'no-service-worker'
  /**
   * A player's stream of a content (the Service Worker's answer to a media element) stopped:
   * a stored piece kept failing its SHA-256 check, or reading it kept failing. No unverified
   * byte was handed over.
   */
  | 'stream-failed'
  /** Download mode Bypass (DO 100): tabswarm does not download; the browser fetches the file itself. */
  | 'bypassed';

export class TabswarmError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = 'TabswarmError';
  }
}

export function isTabswarmError(e: unknown, kind?: ErrorKind): e is TabswarmError {
  return e instanceof TabswarmError && (kind === undefined || e.kind === kind);
}
