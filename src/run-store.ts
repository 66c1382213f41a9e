// Where a durable run lives. The interface is what a shared backend (PostgreSQL, Redis)
// would implement for a pool of workers; LocalDirRunStore is the embedded default: one
// directory per run holding program.pbasm, snapshot.pbs, journal.pbj and run.lock.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { describeFileError, NODE_FILE_OPS, type FileOps } from './file-ops.js';
import { JournalFile, JournalWriteError } from './journal-file.js';
import { LockError, takeLock } from './run-lock.js';
import { journalHeader } from '../vm/durable/journal.js';

export { processAlive } from './run-lock.js';
export type { FileOps } from './file-ops.js';

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
  /**
   * Appends encoded records; `sync` forces them to stable storage first. An append that
   * fails leaves no part of its records behind, and the store takes no further appends.
   */
  appendJournal(bytes: Uint8Array, sync: boolean): void;
  /** Forces journal appends so far to stable storage (before a snapshot refers to them). */
  syncJournal(): void;
  /** Cuts off a torn tail left by a crash mid-write. */
  truncateJournal(length: number): void;
  /**
   * Takes the run's lock, held until the returned function is called or the process dies.
   * Throws RunStoreError if another process (or another store in this one) holds it.
   */
  lock(): () => void;
}

/** Every failure of a store is one of these; its message is one line. */
export class RunStoreError extends Error {}

const PROGRAM = 'program.pbasm';
const SNAPSHOT = 'snapshot.pbs';
const JOURNAL = 'journal.pbj';
const LOCK = 'run.lock';

export interface LocalDirOptions {
  /** The file operations writes go through (tests inject faults here). */
  fileOps?: FileOps;
}

export class LocalDirRunStore implements RunStore {
  private readonly ops: FileOps;
  private journal: JournalFile;

  constructor(
    readonly location: string,
    options: LocalDirOptions = {},
  ) {
    this.ops = options.fileOps ?? NODE_FILE_OPS;
    this.journal = new JournalFile(this.path(JOURNAL), JOURNAL, this.ops);
  }

  private path(name: string): string {
    return join(this.location, name);
  }

  exists(): boolean {
    return existsSync(this.path(JOURNAL));
  }

  create(program: Uint8Array, journalRecords: Uint8Array): void {
    this.writing('create the state directory', () => mkdirSync(this.location, { recursive: true }));
    if (this.exists()) throw new RunStoreError(`already holds a run; continue it with 'pb resume ${this.location}' or choose another --state directory`);
    this.writing('create the run', () => {
      // Leftovers of an interrupted creation (a program or snapshot without a journal) are replaced.
      if (existsSync(this.path(SNAPSHOT))) this.ops.unlink(this.path(SNAPSHOT));
      // Not fsynced: a run lost to power failure in its first moments is simply started again.
      writeFileAtomic(this.path(PROGRAM), program, false, this.ops);
      writeFileAtomic(this.path(JOURNAL), Buffer.concat([journalHeader(), journalRecords]), false, this.ops);
    });
  }

  private read(name: string, what: string): Buffer {
    try {
      return readFileSync(this.path(name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new RunStoreError(code === 'ENOENT' ? `no ${what} (${name} is missing)` : `cannot read ${name}: ${describeFileError(err)}`);
    }
  }

  /** Runs a write, reporting a system error as a RunStoreError naming what failed. */
  private writing(what: string, write: () => void): void {
    try {
      write();
    } catch (err) {
      if (err instanceof RunStoreError) throw err;
      if (err instanceof JournalWriteError) throw new RunStoreError(err.message);
      throw new RunStoreError(`cannot ${what}: ${describeFileError(err)}`);
    }
  }

  readProgram(): Buffer {
    return this.read(PROGRAM, 'program');
  }

  readSnapshot(): Buffer | undefined {
    return existsSync(this.path(SNAPSHOT)) ? this.read(SNAPSHOT, 'snapshot') : undefined;
  }

  writeSnapshot(bytes: Uint8Array): void {
    // Atomic: a failed write leaves the previous snapshot in place.
    this.writing(`write ${SNAPSHOT}`, () => writeFileAtomic(this.path(SNAPSHOT), bytes, true, this.ops));
  }

  readJournal(): Buffer {
    return this.read(JOURNAL, 'journal');
  }

  appendJournal(bytes: Uint8Array, sync: boolean): void {
    this.writing(`write ${JOURNAL}`, () => this.journal.append(bytes, sync));
  }

  syncJournal(): void {
    this.writing(`write ${JOURNAL}`, () => this.journal.sync());
  }

  truncateJournal(length: number): void {
    this.writing(`repair ${JOURNAL}`, () => {
      const fd = this.ops.open(this.path(JOURNAL), 'r+');
      try {
        this.ops.truncate(fd, length);
        this.ops.fsync(fd);
      } finally {
        this.ops.close(fd);
      }
    });
  }

  lock(): () => void {
    this.writing('create the state directory', () => mkdirSync(this.location, { recursive: true }));
    let release: () => void;
    try {
      release = takeLock(this.path(LOCK));
    } catch (err) {
      if (err instanceof LockError) throw new RunStoreError(err.message);
      throw err;
    }
    return () => {
      this.journal.close();
      // A later lock of this store starts with a fresh journal file (its length re-read).
      this.journal = new JournalFile(this.path(JOURNAL), JOURNAL, this.ops);
      release();
    };
  }
}
