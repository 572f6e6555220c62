// Describes file-system errors in Go's words (`open PATH: no such file or directory`), so our
// messages read like the kubectl ones users search for, without Node's "ENOENT: …" prefixes.

const GO_ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
};

/** The errno code of a Node file-system error, if it has one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `op PATH: reason`, like Go's `*fs.PathError`. */
export function describeFsError(op: string, path: string, err: unknown): string {
  const code = errnoCode(err);
  const reason = code === undefined ? String(err) : (GO_ERRNO_TEXT[code] ?? code.toLowerCase());
  // os.ReadFile fails on a directory only when it reads, not when it opens.
  const goOp = code === 'EISDIR' && op === 'open' ? 'read' : op;
  return `${goOp} ${path}: ${reason}`;
}
