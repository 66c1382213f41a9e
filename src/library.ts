// The playbook library: playbooks a model wrote during a run, kept for reuse. The VM looks
// here before it asks the model to write a new playbook for a goal.
//
// Lifecycle: an entry starts `proposed`; every run that uses it records a success or a
// failure; a person approves or rejects it (`pb library approve|reject ID`). Reuse order:
// approved entries first, then proposed entries with more successes than failures;
// rejected entries never.
//
// PlaybookLibrary is the storage interface; a shared store for many workers (PostgreSQL,
// Redis) would implement it. LocalDirLibrary is the embedded default, one directory:
//   <dir>/entries/<id>.json   one entry each; the authoritative data
//   <dir>/index.json          a compact summary of every entry, so a lookup reads one file
//   <dir>/library.lock        present while a process mutates the library
// Both file kinds carry a magic, a format version, a minimum-compatible version and a
// sha256 checksum, and are replaced atomically. Every mutation holds the lock, re-reads
// the index under it and writes the entry, then the index, so concurrent processes lose no
// update. The index is derived data: it is rebuilt from the entries when it is missing.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { compileSource } from '../compiler/compile.js';
import { sha256 } from '../vm/pbasm/envelope.js';
import { writeFileAtomic } from './atomic-write.js';
import { processAlive } from './run-store.js';

export type LibraryStatus = 'proposed' | 'approved' | 'rejected';
export const LIBRARY_STATUSES: readonly LibraryStatus[] = ['proposed', 'approved', 'rejected'];

export interface LibraryProvenance {
  /** The run that generated the playbook. */
  runId: string | null;
  /** The model that wrote it. */
  model: string | null;
  /** The playbook that asked for it, as `Agent.Playbook`. */
  parent: string | null;
  /** The entry this one corrects: a version that failed at run time and was regenerated. */
  replaces?: string | null;
  /** When the generating run created it (ISO 8601). */
  created: string;
}

export interface LibraryEntry {
  /** First 16 hex digits of sha256(goalKey + '\n' + source). */
  id: string;
  goal: string;
  /** The goal normalized for matching: lower case, punctuation stripped, white space collapsed. */
  goalKey: string;
  /** The playbook's name. */
  name: string;
  /** The agent the playbook belongs to ('' when the source has none). */
  agent: string;
  source: string;
  sourceSha256: string;
  provenance: LibraryProvenance;
  /** When the entry was added to the library (ISO 8601). */
  created: string;
  /** Last change: added, outcome recorded or status set (ISO 8601). */
  updated: string;
  successes: number;
  failures: number;
  status: LibraryStatus;
}

/** What `add` needs; the rest is derived. */
export interface NewLibraryEntry {
  goal: string;
  source: string;
  /** Defaults to the first `## Playbook` heading of the source. */
  name?: string;
  /** Defaults to the first `# Agent` heading of the source. */
  agent?: string;
  provenance?: { runId?: string | null; model?: string | null; parent?: string | null; replaces?: string | null; created?: string };
  /** Defaults to 'proposed'. */
  status?: LibraryStatus;
  /** Counts carried over from elsewhere (an import); default 0. */
  successes?: number;
  failures?: number;
}

/** One row of the index: enough to match, rank and list without opening the entry. */
export interface LibrarySummary {
  id: string;
  goal: string;
  goalKey: string;
  tokens: string[];
  status: LibraryStatus;
  successes: number;
  failures: number;
  name: string;
  updated: string;
}

export interface LibraryFilter {
  status?: LibraryStatus;
}

/** The storage interface. Every method is synchronous and safe across processes. */
export interface PlaybookLibrary {
  /** Where the library lives (a directory, a URL). */
  readonly location: string;
  /** The best reusable entry for a goal, or undefined (see "Matching" in README.md). */
  find(goal: string): LibraryEntry | undefined;
  /** The entry with this exact id, or undefined. */
  get(id: string): LibraryEntry | undefined;
  /** The full id for an id or a unique prefix of at least 4 hex digits; throws when ambiguous. */
  resolveId(ref: string): string | undefined;
  /** Summaries, most recently updated first. */
  list(filter?: LibraryFilter): LibrarySummary[];
  /** Adds a playbook; the same goal with the same source returns the existing entry. */
  add(input: NewLibraryEntry): LibraryEntry;
  recordOutcome(id: string, success: boolean): LibraryEntry;
  setStatus(id: string, status: LibraryStatus): LibraryEntry;
}

export class LibraryError extends Error {
  constructor(
    message: string,
    /** The file at fault, when there is one. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'LibraryError';
  }
}

export const DEFAULT_LIBRARY_DIR = '.pb-library';
export const ENTRY_MAGIC = 'pbvm-library-entry';
export const INDEX_MAGIC = 'pbvm-library-index';
export const LIBRARY_FORMAT_VERSION = 1;
export const LIBRARY_MIN_COMPATIBLE = 1;
/** Least Jaccard similarity of goal word sets for a match that is not exact. */
export const MATCH_THRESHOLD = 0.75;

const STOP_WORDS = new Set([
  'a', 'an', 'the', 'to', 'of', 'for', 'and', 'or', 'in', 'on', 'at', 'by', 'with', 'from', 'into', 'as',
  'is', 'are', 'be', 'it', 'its', 'this', 'that', 'these', 'those', 'my', 'our', 'your', 'their', 'please',
]);

/** The goal normalized for matching: lower case, punctuation stripped, white space collapsed. */
export function goalKey(goal: string): string {
  return goal
    .normalize('NFKC')
    .toLowerCase()
    .replace(/['\u2019]/g, '')
    .replace(/[^\p{L}\p{N}\s]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The goal's word set, without stop words, sorted. */
export function goalTokens(goal: string): string[] {
  const key = goalKey(goal);
  if (!key) return [];
  return [...new Set(key.split(' ').filter((w) => !STOP_WORDS.has(w)))].sort();
}

export function entryId(key: string, source: string): string {
  return sha256(`${key}\n${source}`).toString('hex').slice(0, 16);
}

/** The first `# Agent` and `## Playbook` headings, outside comments and code fences. */
export function describeSource(source: string): { agent: string; name: string } {
  const text = source.replace(/<!--[\s\S]*?-->/g, '').replace(/^(```|~~~)[\s\S]*?^\1/gm, '');
  const agent = /^#[ \t]+(.+?)[ \t]*#*[ \t]*$/m.exec(text)?.[1]?.trim() ?? '';
  const name = /^##[ \t]+([^(\n]+?)[ \t]*(?:\(|$)/m.exec(text)?.[1]?.trim() ?? '';
  return { agent, name: name || 'Playbook' };
}

export interface LocalDirLibraryOptions {
  /** fsync each write (default true); false is still atomic, not safe across power loss. */
  sync?: boolean;
  /** How long a mutation waits for another process's lock (default 5000 ms). */
  lockTimeoutMs?: number;
  /** Check that a new source compiles standalone (default true), so an export always compiles. */
  validate?: boolean;
  /** The clock (tests). */
  now?: () => Date;
}

interface IndexCache {
  /** ino:mtime:size of index.json when read, to notice another process's write. */
  stamp: string;
  rows: LibrarySummary[];
  byId: Map<string, number>;
  byKey: Map<string, number[]>;
  byToken: Map<string, number[]>;
}

const ID_RE = /^[0-9a-f]{16}$/;
const ENTRY_FILE_RE = /^([0-9a-f]{16})\.json$/;
const STATUS_RANK: Record<LibraryStatus, number> = { approved: 0, proposed: 1, rejected: 2 };

/** Reusable at all: approved, or proposed with more successes than failures. */
export function qualifies(e: { status: LibraryStatus; successes: number; failures: number }): boolean {
  return e.status === 'approved' || (e.status === 'proposed' && e.successes > e.failures);
}

export class LocalDirLibrary implements PlaybookLibrary {
  private cache: IndexCache | undefined;
  private readonly sync: boolean;
  private readonly lockTimeoutMs: number;
  private readonly validate: boolean;
  private readonly now: () => Date;

  constructor(
    readonly location: string = DEFAULT_LIBRARY_DIR,
    options: LocalDirLibraryOptions = {},
  ) {
    this.sync = options.sync ?? true;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5000;
    this.validate = options.validate ?? true;
    this.now = options.now ?? (() => new Date());
  }

  get entriesDir(): string {
    return join(this.location, 'entries');
  }

  get indexPath(): string {
    return join(this.location, 'index.json');
  }

  get lockPath(): string {
    return join(this.location, 'library.lock');
  }

  entryPath(id: string): string {
    return join(this.entriesDir, `${id}.json`);
  }

  // -------------------------------------------------------------------------------------
  // Reading

  find(goal: string): LibraryEntry | undefined {
    const ix = this.index();
    if (!ix || ix.rows.length === 0) return undefined;
    const key = goalKey(goal);
    const tokens = goalTokens(goal);
    // [row, tier (0 exact, 1 similar), similarity]
    const cands: Array<[LibrarySummary, number, number]> = [];
    const exact = new Set<number>();
    for (const i of ix.byKey.get(key) ?? []) {
      exact.add(i);
      const row = ix.rows[i]!;
      if (qualifies(row)) cands.push([row, 0, 1]);
    }
    if (tokens.length > 0) {
      const shared = new Map<number, number>();
      for (const t of tokens) {
        for (const i of ix.byToken.get(t) ?? []) shared.set(i, (shared.get(i) ?? 0) + 1);
      }
      for (const [i, n] of shared) {
        if (exact.has(i)) continue;
        const row = ix.rows[i]!;
        const sim = n / (tokens.length + row.tokens.length - n);
        if (sim >= MATCH_THRESHOLD && qualifies(row)) cands.push([row, 1, sim]);
      }
    }
    if (cands.length === 0) return undefined;
    cands.sort(
      (a, b) =>
        a[1] - b[1] ||
        STATUS_RANK[a[0].status] - STATUS_RANK[b[0].status] ||
        b[2] - a[2] ||
        b[0].successes - a[0].successes ||
        (a[0].updated < b[0].updated ? 1 : a[0].updated > b[0].updated ? -1 : 0) ||
        (a[0].id < b[0].id ? -1 : 1),
    );
    // The entry file is authoritative: skip a candidate that is gone or no longer qualifies
    // (the index lags only after a crash between the two writes of a mutation).
    for (const [row] of cands) {
      const entry = this.get(row.id);
      if (entry && qualifies(entry)) return entry;
    }
    return undefined;
  }

  get(id: string): LibraryEntry | undefined {
    if (!ID_RE.test(id)) return undefined;
    return this.readEntry(id);
  }

  resolveId(ref: string): string | undefined {
    const r = ref.trim().toLowerCase();
    if (!/^[0-9a-f]{4,16}$/.test(r)) return undefined;
    if (r.length === 16) return existsSync(this.entryPath(r)) || this.index()?.byId.has(r) ? r : undefined;
    const hits = (this.index()?.rows ?? []).filter((row) => row.id.startsWith(r)).map((row) => row.id);
    if (hits.length > 1) throw new LibraryError(`error: library entry prefix '${ref}' is ambiguous: it matches ${hits.slice(0, 5).join(', ')}${hits.length > 5 ? ', ...' : ''}`);
    return hits[0];
  }

  list(filter: LibraryFilter = {}): LibrarySummary[] {
    const rows = this.index()?.rows ?? [];
    return rows
      .filter((r) => !filter.status || r.status === filter.status)
      .sort((a, b) => (a.updated < b.updated ? 1 : a.updated > b.updated ? -1 : a.id < b.id ? -1 : 1))
      .map((r) => ({ ...r, tokens: [...r.tokens] }));
  }

  // -------------------------------------------------------------------------------------
  // Mutations: each under the lock, entry first, then the index.

  add(input: NewLibraryEntry): LibraryEntry {
    return this.addMany([input])[0]!;
  }

  /** Adds many entries under one lock with one index write (imports, benchmarks). */
  addMany(inputs: readonly NewLibraryEntry[]): LibraryEntry[] {
    const prepared = inputs.map((input) => this.prepare(input));
    return this.mutate((rows) => {
      const out: LibraryEntry[] = [];
      const byId = new Map(rows.map((r, i) => [r.id, i]));
      for (const fresh of prepared) {
        // The id covers goal and source, so the same pair always lands on the same entry.
        const existing = existsSync(this.entryPath(fresh.id)) ? this.readEntry(fresh.id) : undefined;
        if (existing && (existing.goalKey !== fresh.goalKey || existing.sourceSha256 !== fresh.sourceSha256)) {
          throw new LibraryError(`${this.entryPath(fresh.id)}: error: library id collision: the entry holds a different goal or source`, this.entryPath(fresh.id));
        }
        const entry = existing ?? fresh;
        if (!existing) this.writeEntry(entry);
        const row = summarize(entry);
        const at = byId.get(entry.id);
        if (at === undefined) {
          byId.set(entry.id, rows.length);
          rows.push(row);
        } else rows[at] = row; // also repairs an index that lagged behind a crash
        out.push(entry);
      }
      return out;
    });
  }

  recordOutcome(id: string, success: boolean): LibraryEntry {
    return this.update(id, (e) => {
      if (success) e.successes++;
      else e.failures++;
    });
  }

  setStatus(id: string, status: LibraryStatus): LibraryEntry {
    if (!LIBRARY_STATUSES.includes(status)) throw new LibraryError(`error: unknown library status '${status}' (expected ${LIBRARY_STATUSES.join(', ')})`);
    return this.update(id, (e) => {
      e.status = status;
    });
  }

  /** Rebuilds index.json from the entry files; returns the number of entries. */
  rebuildIndex(): number {
    return this.withLock(() => {
      const rows = this.scanEntries();
      this.writeIndex(rows);
      return rows.length;
    });
  }

  // -------------------------------------------------------------------------------------
  // Internals

  private prepare(input: NewLibraryEntry): LibraryEntry {
    if (typeof input.goal !== 'string' || !goalKey(input.goal)) throw new LibraryError('error: a library entry needs a goal with at least one word');
    if (typeof input.source !== 'string' || !input.source.trim()) throw new LibraryError('error: a library entry needs a playbook source');
    if (input.status !== undefined && !LIBRARY_STATUSES.includes(input.status)) throw new LibraryError(`error: unknown library status '${String(input.status)}' (expected ${LIBRARY_STATUSES.join(', ')})`);
    const described = describeSource(input.source);
    const name = input.name ?? described.name;
    if (this.validate) {
      const r = compileSource(input.source, `${name}.pb`);
      const first = r.diagnostics.find((d) => d.severity === 'error');
      if (r.errorCount > 0) {
        throw new LibraryError(`error: playbook '${name}' does not compile standalone: ${first ? `${first.line}:${first.col}: ${first.message}` : 'compile error'}`);
      }
    }
    const key = goalKey(input.goal);
    const at = this.now().toISOString();
    return {
      id: entryId(key, input.source),
      goal: input.goal,
      goalKey: key,
      name,
      agent: input.agent ?? described.agent,
      source: input.source,
      sourceSha256: sha256(input.source).toString('hex'),
      provenance: {
        runId: input.provenance?.runId ?? null,
        model: input.provenance?.model ?? null,
        parent: input.provenance?.parent ?? null,
        ...(input.provenance?.replaces ? { replaces: input.provenance.replaces } : {}),
        created: input.provenance?.created ?? at,
      },
      created: at,
      updated: at,
      successes: count(input.successes, 'successes'),
      failures: count(input.failures, 'failures'),
      status: input.status ?? 'proposed',
    };
  }

  private update(id: string, change: (e: LibraryEntry) => void): LibraryEntry {
    return this.mutate((rows) => {
      // Read under the lock: the other process's last write is what we build on.
      const entry = this.get(id);
      if (!entry) throw new LibraryError(`error: no library entry '${id}'`);
      change(entry);
      entry.updated = this.now().toISOString();
      this.writeEntry(entry);
      const row = summarize(entry);
      const at = rows.findIndex((r) => r.id === id);
      if (at >= 0) rows[at] = row;
      else rows.push(row);
      return entry;
    });
  }

  /** Runs `f` on the freshly read index rows under the lock, then writes the rows back. */
  private mutate<T>(f: (rows: LibrarySummary[]) => T): T {
    return this.withLock(() => {
      // Always re-read under the lock: a file stamp can miss a write made within one clock tick.
      const rows = (this.index(true, true)?.rows ?? []).slice();
      const result = f(rows);
      this.writeIndex(rows);
      return result;
    });
  }

  /**
   * The cached index, re-read when index.json changed (another process wrote it), rebuilt
   * when it is missing but entries exist. Undefined for a library with no entries yet.
   * `locked`: the caller holds the lock (a missing index is then rebuilt in place).
   */
  private index(locked = false, reread = false): IndexCache | undefined {
    let st;
    try {
      st = statSync(this.indexPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.ioError(this.indexPath, err);
      this.cache = undefined;
      if (!existsSync(this.entriesDir)) return undefined;
      const rebuild = () => {
        this.writeIndex(this.scanEntries());
        return this.cache;
      };
      return locked ? rebuild() : this.withLock(() => (existsSync(this.indexPath) ? this.index(true) : rebuild()));
    }
    const stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    if (!reread && this.cache?.stamp === stamp) return this.cache;
    const rows = this.readIndexFile();
    this.cache = buildCache(stamp, rows);
    return this.cache;
  }

  private readIndexFile(): LibrarySummary[] {
    const file = this.indexPath;
    const hint = `delete it and it is rebuilt from the entries`;
    const fast = readIndexAsWritten(file);
    let rows: unknown;
    if (fast) {
      if (fast.checksum !== sha256(fast.body).toString('hex')) throw new LibraryError(`${file}: error: corrupt library index: checksum mismatch (${hint})`, file);
      rows = fast.rows;
    } else {
      const env = readEnvelope(file, INDEX_MAGIC, 'library index', 'entries');
      rows = env.entries;
      if (env.checksum !== sha256(JSON.stringify(rows)).toString('hex')) throw new LibraryError(`${file}: error: corrupt library index: checksum mismatch (${hint})`, file);
    }
    if (!Array.isArray(rows) || !rows.every(isSummary)) throw new LibraryError(`${file}: error: corrupt library index: malformed entries (${hint})`, file);
    return rows as LibrarySummary[];
  }

  private writeIndex(rows: LibrarySummary[]): void {
    mkdirSync(this.location, { recursive: true });
    const body = JSON.stringify(rows);
    const text = `{"magic":${JSON.stringify(INDEX_MAGIC)},"version":${LIBRARY_FORMAT_VERSION},"minCompatible":${LIBRARY_MIN_COMPATIBLE},"checksum":"${sha256(body).toString('hex')}","entries":${body}}\n`;
    writeFileAtomic(this.indexPath, text, this.sync);
    const st = statSync(this.indexPath);
    this.cache = buildCache(`${st.ino}:${st.mtimeMs}:${st.size}`, rows);
  }

  private readEntry(id: string): LibraryEntry | undefined {
    const file = this.entryPath(id);
    if (!existsSync(file)) return undefined;
    const env = readEnvelope(file, ENTRY_MAGIC, 'library entry', 'entry');
    const entry = env.entry as LibraryEntry;
    if (env.checksum !== sha256(JSON.stringify(entry)).toString('hex')) throw new LibraryError(`${file}: error: corrupt library entry: checksum mismatch (restore or delete the file)`, file);
    const problem = entryProblem(entry, id);
    if (problem) throw new LibraryError(`${file}: error: corrupt library entry: ${problem} (restore or delete the file)`, file);
    return entry;
  }

  private writeEntry(entry: LibraryEntry): void {
    mkdirSync(this.entriesDir, { recursive: true });
    const env = {
      magic: ENTRY_MAGIC,
      version: LIBRARY_FORMAT_VERSION,
      minCompatible: LIBRARY_MIN_COMPATIBLE,
      checksum: sha256(JSON.stringify(entry)).toString('hex'),
      entry,
    };
    writeFileAtomic(this.entryPath(entry.id), `${JSON.stringify(env, null, 2)}\n`, this.sync);
  }

  private scanEntries(): LibrarySummary[] {
    let names: string[];
    try {
      names = readdirSync(this.entriesDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw this.ioError(this.entriesDir, err);
    }
    const rows: LibrarySummary[] = [];
    for (const name of names.sort()) {
      const m = ENTRY_FILE_RE.exec(name);
      if (!m) continue; // temp files of an interrupted write, strays
      const entry = this.readEntry(m[1]!);
      if (entry) rows.push(summarize(entry));
    }
    return rows;
  }

  private ioError(file: string, err: unknown): LibraryError {
    return new LibraryError(`${file}: error: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
  }

  // -------------------------------------------------------------------------------------
  // The lock: a file created with O_EXCL holding "pid token". A lock whose process is gone
  // (kill -9) is taken over; taking over is itself guarded by a second O_EXCL file, so two
  // processes that both find the same stale lock cannot both end up holding the lock.

  private withLock<T>(f: () => T): T {
    const release = this.lock();
    try {
      return f();
    } finally {
      release();
    }
  }

  private lock(): () => void {
    mkdirSync(this.location, { recursive: true });
    const path = this.lockPath;
    const mine = `${process.pid} ${threadId} ${Math.random().toString(36).slice(2, 10)}`;
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      if (createExclusive(path, mine)) {
        HELD.add(mine);
        return () => {
          HELD.delete(mine);
          if (readText(path) === mine) tryUnlink(path);
        };
      }
      const held = readText(path);
      if (held === undefined) continue; // released meanwhile
      if (HELD.has(held)) throw new LibraryError(`${this.location}: error: internal: nested library lock`);
      if (lockIsStale(path, held)) {
        this.takeOver(held);
        continue;
      }
      if (Date.now() >= deadline) {
        const pid = Number(held.split(' ')[0]);
        throw new LibraryError(
          `${this.location}: error: library is locked by process ${pid || '(unknown)'}; waited ${(this.lockTimeoutMs / 1000).toFixed(1)} s (if no pbvm process is running, delete ${path})`,
          path,
        );
      }
      sleep(1 + Math.random() * 4);
    }
  }

  private takeOver(stale: string): void {
    const guard = `${this.lockPath}.takeover`;
    if (!createExclusive(guard, `${process.pid} ${threadId} takeover`)) {
      const g = readText(guard);
      if (g !== undefined && lockIsStale(guard, g)) tryUnlink(guard);
      else sleep(1);
      return;
    }
    try {
      // Still the same stale lock? (Someone may have taken it over and locked it again.)
      if (readText(this.lockPath) === stale) tryUnlink(this.lockPath);
    } finally {
      tryUnlink(guard);
    }
  }
}

/** Builds the n-entry benchmark library under `dir` (if not there yet), then times lookups. */
export interface LookupBench {
  entries: number;
  /** Time to build the library (0 when it already existed). */
  buildMs: number;
  /** The first lookup, which reads and indexes index.json. */
  coldMs: number;
  /** Median, 90th percentile and worst of the warm lookups. */
  medianMs: number;
  p90Ms: number;
  maxMs: number;
  lookups: number;
  /** Lookups whose answer differed from the expected one (must be 0). */
  wrong: number;
  exactHits: number;
  similarHits: number;
  misses: number;
}

const BENCH_VERBS = ['refund', 'triage', 'summarize', 'escalate', 'classify', 'draft', 'verify', 'schedule', 'translate', 'reconcile'];
const BENCH_OBJECTS = ['order', 'ticket', 'invoice', 'incident', 'report', 'email', 'account', 'shipment', 'contract', 'review'];
const BENCH_DOMAINS = ['customer', 'vendor', 'billing', 'support', 'security', 'sales', 'legal', 'ops'];

function benchWord(i: number): string {
  const c = 'bdfgklmnprstvz';
  const v = 'aeiou';
  let s = 'q';
  for (let k = 0; k < 4; k++) {
    s += c[i % c.length]! + v[Math.floor(i / c.length) % v.length]!;
    i = Math.floor(i / (c.length * v.length));
  }
  return s;
}

/** The i-th benchmark entry: a unique word in every goal, so each goal matches only itself. */
export function benchEntry(i: number): NewLibraryEntry & { status: LibraryStatus; successes: number; failures: number } {
  const goal = `${BENCH_VERBS[i % 10]} the ${BENCH_OBJECTS[Math.floor(i / 10) % 10]} for ${BENCH_DOMAINS[i % 8]} ${benchWord(i)}`;
  const kind = i % 10;
  const status: LibraryStatus = kind < 4 ? 'approved' : kind < 9 ? 'proposed' : 'rejected';
  const successes = (i * 7) % 5;
  const failures = (i * 3) % 4;
  const source = `# Bench\n\n## Task${i}\n### Steps\n- Say "Working on: ${goal}"\n- Return ${i}\n`;
  return { goal, source, name: `Task${i}`, agent: 'Bench', provenance: { runId: `bench-${i}`, model: 'bench', parent: 'Bench.Main' }, status, successes, failures };
}

export function benchLookup(dir: string, n = 10_000, lookups = 2_000): LookupBench {
  let buildMs = 0;
  const lib0 = new LocalDirLibrary(dir, { sync: false, validate: false });
  if (lib0.list().length !== n) {
    const t0 = performance.now();
    lib0.addMany(Array.from({ length: n }, (_, i) => benchEntry(i)));
    buildMs = performance.now() - t0;
  }
  const lib = new LocalDirLibrary(dir, { sync: false, validate: false });
  const times: number[] = [];
  let coldMs = 0;
  let wrong = 0;
  let exactHits = 0;
  let similarHits = 0;
  let misses = 0;
  for (let k = 0; k < lookups + 1; k++) {
    const i = (k * 7919) % n;
    const e = benchEntry(i);
    const id = entryId(goalKey(e.goal), e.source);
    const mode = k % 3; // 0 exact, 1 same words in another order and case, 2 unknown goal
    const words = e.goal.split(' ');
    const query = mode === 0 ? e.goal : mode === 1 ? `Please, ${[...words].reverse().join(' ').toUpperCase()}!` : `${e.goal.split(' ')[0]} zz${benchWord(n + i)} unknown-${i}`;
    const expected = mode === 2 || !qualifies(e) ? undefined : id;
    const t0 = performance.now();
    const got = lib.find(query);
    const ms = performance.now() - t0;
    if (k === 0) coldMs = ms;
    else times.push(ms);
    if (got?.id !== expected) wrong++;
    if (!got) misses++;
    else if (mode === 0) exactHits++;
    else similarHits++;
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { entries: lib.list().length, buildMs, coldMs, medianMs: at(0.5), p90Ms: at(0.9), maxMs: times[times.length - 1]!, lookups, wrong, exactHits, similarHits, misses };
}

// ---------------------------------------------------------------------------------------
// Helpers

function count(n: number | undefined, what: string): number {
  if (n === undefined) return 0;
  if (!Number.isInteger(n) || n < 0) throw new LibraryError(`error: library entry ${what} must be a whole number >= 0`);
  return n;
}

function summarize(e: LibraryEntry): LibrarySummary {
  return { id: e.id, goal: e.goal, goalKey: e.goalKey, tokens: goalTokens(e.goal), status: e.status, successes: e.successes, failures: e.failures, name: e.name, updated: e.updated };
}

function buildCache(stamp: string, rows: LibrarySummary[]): IndexCache {
  const byId = new Map<string, number>();
  const byKey = new Map<string, number[]>();
  const byToken = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, i: number) => {
    const a = m.get(k);
    if (a) a.push(i);
    else m.set(k, [i]);
  };
  rows.forEach((r, i) => {
    byId.set(r.id, i);
    push(byKey, r.goalKey, i);
    for (const t of r.tokens) push(byToken, t, i);
  });
  return { stamp, rows, byId, byKey, byToken };
}

interface Envelope {
  magic: unknown;
  version: unknown;
  minCompatible: unknown;
  checksum: unknown;
  [body: string]: unknown;
}

/**
 * The index exactly as writeIndex lays it out: the checksum is over the raw entries text, so
 * the file is parsed once and never re-serialized (a cold lookup over 10,000 entries reads
 * 2.8 MB). Anything else (reformatted, other version, damaged) returns undefined and takes
 * the general path with its error messages.
 */
function readIndexAsWritten(file: string): { checksum: string; body: string; rows: unknown } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const head = /^\{"magic":"pbvm-library-index","version":(\d+),"minCompatible":(\d+),"checksum":"([0-9a-f]{64})","entries":/.exec(text.slice(0, 200));
  if (!head || Number(head[2]) > LIBRARY_FORMAT_VERSION || !text.endsWith('}\n')) return undefined;
  const body = text.slice(head[0].length, text.length - 2);
  try {
    return { checksum: head[3]!, body, rows: JSON.parse(body) };
  } catch {
    return undefined;
  }
}

function readEnvelope(file: string, magic: string, what: string, body: string): Envelope {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LibraryError(`${file}: error: cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
  }
  let env: Envelope;
  try {
    env = JSON.parse(text) as Envelope;
  } catch (err) {
    throw new LibraryError(`${file}: error: corrupt ${what}: not valid JSON (${(err as Error).message})`, file);
  }
  if (!env || typeof env !== 'object' || Array.isArray(env)) throw new LibraryError(`${file}: error: corrupt ${what}: not a JSON object`, file);
  if (env.magic !== magic) throw new LibraryError(`${file}: error: not a pbvm ${what} (magic ${JSON.stringify(env.magic ?? null)}, expected "${magic}")`, file);
  if (!Number.isInteger(env.version) || !Number.isInteger(env.minCompatible) || typeof env.checksum !== 'string' || !(body in env)) {
    throw new LibraryError(`${file}: error: corrupt ${what}: missing version, minCompatible, checksum or ${body}`, file);
  }
  if ((env.minCompatible as number) > LIBRARY_FORMAT_VERSION) {
    throw new LibraryError(`${file}: error: ${what} format version ${env.version} needs a newer pbvm (it requires at least version ${env.minCompatible}; this build reads version ${LIBRARY_FORMAT_VERSION})`, file);
  }
  return env;
}

function isSummary(r: unknown): boolean {
  const s = r as LibrarySummary;
  return (
    !!s &&
    typeof s.id === 'string' &&
    ID_RE.test(s.id) &&
    typeof s.goalKey === 'string' &&
    typeof s.goal === 'string' &&
    Array.isArray(s.tokens) &&
    LIBRARY_STATUSES.includes(s.status) &&
    Number.isInteger(s.successes) &&
    Number.isInteger(s.failures) &&
    typeof s.name === 'string' &&
    typeof s.updated === 'string'
  );
}

function entryProblem(e: LibraryEntry, id: string): string | undefined {
  if (!e || typeof e !== 'object') return 'no entry object';
  if (e.id !== id) return `its id '${String(e.id)}' does not match the file name`;
  for (const k of ['goal', 'goalKey', 'name', 'agent', 'source', 'sourceSha256', 'created', 'updated'] as const) {
    if (typeof e[k] !== 'string') return `field '${k}' is missing or not text`;
  }
  if (!LIBRARY_STATUSES.includes(e.status)) return `unknown status '${String(e.status)}'`;
  if (!Number.isInteger(e.successes) || e.successes < 0 || !Number.isInteger(e.failures) || e.failures < 0) return 'bad success or failure count';
  if (!e.provenance || typeof e.provenance !== 'object') return "field 'provenance' is missing";
  if (sha256(e.source).toString('hex') !== e.sourceSha256) return 'the source does not match its sha256';
  return undefined;
}

function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new LibraryError(`${path}: error: cannot create the library lock: ${(err as NodeJS.ErrnoException).code}`, path);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** Lock contents this thread holds right now. */
const HELD = new Set<string>();

/**
 * A lock ("pid thread token") is stale when its process is gone, or when it names this
 * process and thread but this thread does not hold it (a pid reused after a crash, common
 * in containers: a thread never leaves its lock behind, since every mutation releases it in
 * a `finally`). Another thread of this process is alive. An empty lock file (its creator
 * has not written it yet) is stale only after 10 s.
 */
function lockIsStale(path: string, held: string): boolean {
  const [p, t] = held.split(' ');
  const pid = Number(p);
  if (pid === process.pid && t !== undefined && Number(t) !== threadId) return false;
  if (!held.trim() || !Number.isInteger(pid) || pid <= 0) {
    try {
      return Date.now() - statSync(path).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
  return pid === process.pid || !processAlive(pid);
}



function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
