// The lock of a run's state directory: an OS file lock on run.lock, held on an open
// descriptor for the life of the run. The kernel releases it the moment its holder dies
// (kill -9 included, and before the dead process is reaped), and two processes that try at
// once cannot both get it. The file is never unlinked (unlinking a lock file races with a
// taker that has it open); the pid written into it is only information for the message.
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { tryLock, unlock } from 'fs-native-extensions';
import { isSystemError, systemErrorText } from './io-errors.js';

export class LockError extends Error {}

/** Takes the lock on `path` (creating the file) or throws LockError; returns the release function. */
export function takeLock(path: string): () => void {
  let fd: number;
  try {
    // Never O_TRUNC: the note in the file belongs to whoever holds the lock.
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  } catch (err) {
    throw new LockError(`cannot use the state directory: ${describeErrno(err)}`);
  }
  let held: boolean;
  try {
    held = tryLock(fd);
  } catch (err) {
    closeSync(fd);
    throw new LockError(`cannot lock run.lock: ${describeErrno(err)}`);
  }
  if (!held) {
    const holder = readHolder(fd);
    closeSync(fd);
    throw new LockError(`in use by ${holder}; wait for it to end or stop it, then resume`);
  }
  try {
    // The note: the holder's pid (as older builds wrote it, so they still see a live holder).
    // Its mtime says when the holder took the run.
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
  } catch {
    // Only information: the lock itself is what excludes others.
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      // Cleared while still held, so a new holder's note is never erased.
      ftruncateSync(fd, 0);
    } catch {
      // Only information.
    }
    try {
      unlock(fd);
    } finally {
      closeSync(fd);
    }
  };
}

/** Who holds the lock, from the holder's note: "process N (started …)" when it is readable. */
function readHolder(fd: number): string {
  try {
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const pid = Number(buf.toString('utf8', 0, n).trim());
    // An empty note: the holder has the lock but has not written its pid yet. A note naming a
    // dead process is a leftover the new holder has not overwritten yet.
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return `process ${pid} (started ${fstatSync(fd).mtime.toISOString()})`;
  } catch {
    // Fall through to the anonymous description.
  }
  return 'another process';
}

function describeErrno(err: unknown): string {
  return isSystemError(err) ? systemErrorText(err) : String((err as Error)?.message ?? err);
}

/** True when a process with this pid exists (used for messages only, never to judge a lock). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
