// Appending to journal.pbj. An append either lands whole or not at all: when a write fails
// (ENOSPC, EIO, a write cut short and then refused), the file is cut back to its length
// before the append, so no torn or half-written record is left for later records to follow.
// After any failure the file takes no more appends in this process: the run stops, and
// `pb resume` continues it once the cause is fixed. Should cutting back fail too, what is
// left is an incomplete final record, which the next open drops as a torn tail.
import { describeFileError, writeFully, type FileOps } from './file-ops.js';

export class JournalWriteError extends Error {}

export class JournalFile {
  private fd: number | undefined;
  /** Bytes of complete records in the file (what a failed append is cut back to). */
  private length = 0;
  private failure: string | undefined;

  constructor(
    private readonly path: string,
    private readonly name: string,
    private readonly ops: FileOps,
  ) {}

  private open(): number {
    if (this.fd === undefined) {
      try {
        this.fd = this.ops.open(this.path, 'a');
        this.length = this.ops.size(this.fd);
      } catch (err) {
        this.close();
        throw this.fail(`cannot open ${this.name}: ${describeFileError(err)}`);
      }
    }
    return this.fd;
  }

  append(bytes: Uint8Array, sync: boolean): void {
    if (this.failure) throw new JournalWriteError(this.failure);
    const fd = this.open();
    try {
      writeFully(this.ops, fd, bytes);
      if (sync) this.ops.fsync(fd);
    } catch (err) {
      try {
        // The records have not been acted on yet: taking them back is exact.
        this.ops.truncate(fd, this.length);
      } catch {
        // Left to the next open, which drops an incomplete final record.
      }
      throw this.fail(`cannot write ${this.name}: ${describeFileError(err)}`);
    }
    this.length += bytes.length;
  }

  sync(): void {
    if (this.failure) throw new JournalWriteError(this.failure);
    if (this.fd === undefined) return;
    try {
      this.ops.fsync(this.fd);
    } catch (err) {
      // After a failed fsync the kernel may have dropped the pages: trust nothing more.
      throw this.fail(`cannot write ${this.name} to disk: ${describeFileError(err)}`);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      this.ops.close(this.fd);
    } catch {
      // Nothing left to do with it.
    }
    this.fd = undefined;
  }

  private fail(message: string): JournalWriteError {
    this.failure = message;
    return new JournalWriteError(message);
  }
}
