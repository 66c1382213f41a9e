// Atomic file replacement: write a temp file beside the target, fsync it, rename it over
// the target, then fsync the directory so the rename itself is durable.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** `sync: false` skips the fsyncs: still atomic for readers and across a process crash, not across power loss. */
export function writeFileAtomic(path: string, data: Uint8Array | string, sync = true): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (sync) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // The temp file may not exist; nothing to clean.
    }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  if (!sync) return;
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}
