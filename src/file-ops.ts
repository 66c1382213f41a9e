// The few file operations the local run store writes with. A seam, so that tests can make
// a write come up short or fail (ENOSPC, EIO) exactly where they want it to.
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

export interface FileOps {
  open(path: string, flags: string | number, mode?: number): number;
  /** Writes at the file position (or the end, for a file opened to append); returns the bytes written. */
  write(fd: number, data: Uint8Array, offset: number, length: number): number;
  fsync(fd: number): void;
  truncate(fd: number, length: number): void;
  size(fd: number): number;
  close(fd: number): void;
  rename(from: string, to: string): void;
  unlink(path: string): void;
}

export const NODE_FILE_OPS: FileOps = {
  open: (path, flags, mode) => openSync(path, flags, mode),
  write: (fd, data, offset, length) => writeSync(fd, data, offset, length),
  fsync: (fd) => fsyncSync(fd),
  truncate: (fd, length) => ftruncateSync(fd, length),
  size: (fd) => fstatSync(fd).size,
  close: (fd) => closeSync(fd),
  rename: (from, to) => renameSync(from, to),
  unlink: (path) => unlinkSync(path),
};

/** Writes all of `data`, however many calls the system needs. */
export function writeFully(ops: FileOps, fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += ops.write(fd, data, off, data.length - off);
}

const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EFBIG: 'file too large',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EMFILE: 'too many open files',
};

/** "no space left on device (ENOSPC)": a system error as one short phrase. */
export function describeFileError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return ERRNO_TEXT[e.code] ? `${ERRNO_TEXT[e.code]} (${e.code})` : e.code;
  return (e as Error)?.message ?? String(err);
}
