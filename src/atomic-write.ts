// Atomic file replacement: write a temp file beside the target, fsync it, rename it over
// the target, then fsync the directory so the rename itself is durable.
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { NODE_FILE_OPS, writeFully, type FileOps } from './file-ops.js';

/** `sync: false` skips the fsyncs: still atomic for readers and across a process crash, not across power loss. */
export function writeFileAtomic(path: string, data: Uint8Array | string, sync = true, ops: FileOps = NODE_FILE_OPS): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const fd = ops.open(tmp, 'w', 0o644);
  try {
    writeFully(ops, fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (sync) ops.fsync(fd);
  } catch (err) {
    ops.close(fd);
    try {
      ops.unlink(tmp);
    } catch {
      // The temp file may not exist; nothing to clean.
    }
    throw err;
  }
  ops.close(fd);
  ops.rename(tmp, path);
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
