// File system errors as one line of text. Node's own messages ("EACCES: permission denied,
// open '/x/run.lock'") lead with the code; users read the words first.

const WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
  EFBIG: 'file too large',
  EBUSY: 'resource busy',
  ETXTBSY: 'text file busy',
  EAGAIN: 'resource temporarily unavailable',
};

/** True for an error from a system call (it has an errno code such as ENOSPC). */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((err as NodeJS.ErrnoException).code!);
}

/** "no space left on device (ENOSPC)"; with the path the call named, when there is one and `withPath`. */
export function systemErrorText(err: NodeJS.ErrnoException & { code: string }, withPath = false): string {
  const words = WORDS[err.code] ?? err.message.replace(/^[A-Z0-9]+: /, '').replace(/, \w+ .*$/, '');
  return `${withPath && err.path ? `${err.path}: ` : ''}${words} (${err.code})`;
}
