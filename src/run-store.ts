// Where a durable run lives. The interface is what a shared backend (PostgreSQL, Redis)
// would implement for a pool of workers; LocalDirRunStore is the embedded default: one
// directory per run holding program.pbasm, snapshot.pbs, journal.pbj and a lock file.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, ftruncateSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { journalHeader } from '../vm/durable/journal.js';

export interface RunStore {
  readonly location: string;
  exists(): boolean;
  /**
   * Creates a new run; fails if one is already there. The journal (header and first
   * records) is written last and atomically: a run exists once its journal does, so a
   * crash half-way through creating one leaves a directory that simply holds no run yet.
   */
  create(program: Uint8Array, journalRecords: Uint8Array): void;
  readProgram(): Buffer;
  readSnapshot(): Buffer | undefined;
  writeSnapshot(bytes: Uint8Array): void;
  readJournal(): Buffer;
  /** Appends encoded records; `sync` forces them to stable storage first. */
  appendJournal(bytes: Uint8Array, sync: boolean): void;
  /** Forces journal appends so far to stable storage (before a snapshot refers to them). */
  syncJournal(): void;
  /** Cuts off a torn tail left by a crash mid-write. */
  truncateJournal(length: number): void;
  /** Takes the run's lock; returns the release function. Throws if another process holds it. */
  lock(): () => void;
}

export class RunStoreError extends Error {}

const PROGRAM = 'program.pbasm';
const SNAPSHOT = 'snapshot.pbs';
const JOURNAL = 'journal.pbj';
const LOCK = 'run.lock';

export class LocalDirRunStore implements RunStore {
  private journalFd: number | undefined;

  constructor(readonly location: string) {}

  private path(name: string): string {
    return join(this.location, name);
  }

  exists(): boolean {
    return existsSync(this.path(JOURNAL));
  }

  create(program: Uint8Array, journalRecords: Uint8Array): void {
    mkdirSync(this.location, { recursive: true });
    if (this.exists()) throw new RunStoreError(`already holds a run; continue it with 'pb resume ${this.location}' or choose another --state directory`);
    // Leftovers of an interrupted creation (a program or snapshot without a journal) are replaced.
    if (existsSync(this.path(SNAPSHOT))) unlinkSync(this.path(SNAPSHOT));
    // Not fsynced: a run lost to power failure in its first moments is simply started again.
    writeFileAtomic(this.path(PROGRAM), program, false);
    writeFileAtomic(this.path(JOURNAL), Buffer.concat([journalHeader(), journalRecords]), false);
  }

  private read(name: string, what: string): Buffer {
    try {
      return readFileSync(this.path(name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new RunStoreError(code === 'ENOENT' ? `no ${what} (${name} is missing)` : `cannot read ${name}: ${code}`);
    }
  }

  readProgram(): Buffer {
    return this.read(PROGRAM, 'program');
  }

  readSnapshot(): Buffer | undefined {
    return existsSync(this.path(SNAPSHOT)) ? this.read(SNAPSHOT, 'snapshot') : undefined;
  }

  writeSnapshot(bytes: Uint8Array): void {
    writeFileAtomic(this.path(SNAPSHOT), bytes);
  }

  readJournal(): Buffer {
    return this.read(JOURNAL, 'journal');
  }

  appendJournal(bytes: Uint8Array, sync: boolean): void {
    this.journalFd ??= openSync(this.path(JOURNAL), 'a');
    let off = 0;
    while (off < bytes.length) off += writeSync(this.journalFd, bytes, off, bytes.length - off);
    if (sync) fsyncSync(this.journalFd);
  }

  syncJournal(): void {
    if (this.journalFd !== undefined) fsyncSync(this.journalFd);
  }

  truncateJournal(length: number): void {
    const fd = openSync(this.path(JOURNAL), 'r+');
    try {
      ftruncateSync(fd, length);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  lock(): () => void {
    mkdirSync(this.location, { recursive: true });
    const path = this.path(LOCK);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return () => {
          if (this.journalFd !== undefined) {
            closeSync(this.journalFd);
            this.journalFd = undefined;
          }
          try {
            unlinkSync(path);
          } catch {
            // Already gone.
          }
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = Number(readFileSync(path, 'utf8').trim());
        if (holder && holder !== process.pid && processAlive(holder)) {
          throw new RunStoreError(`in use by process ${holder}`);
        }
        // The holder died (kill -9 leaves its lock behind): take the lock over.
        unlinkSync(path);
      }
    }
    throw new RunStoreError('cannot take the run lock');
  }
}

/** True when a process with this pid exists (lock files name their holder's pid). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
