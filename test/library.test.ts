// The playbook library (src/library.ts) and `pb library ...`: lifecycle, matching and
// ranking, dedupe, corruption errors, index rebuild, the lock, concurrent writers in real
// child processes, the CLI, and lookups over 10,000 entries (checked for correctness; the
// time is printed, not asserted: timing targets belong in benchmarks).
//
// The child-process and CLI tests use the built code in dist/ (`npm test` builds it first).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSource } from '../compiler/compile.js';
import { sha256 } from '../vm/pbasm/envelope.js';
import {
  benchLookup,
  describeSource,
  entryId,
  goalKey,
  goalTokens,
  LibraryError,
  LocalDirLibrary,
  type LibraryEntry,
  type NewLibraryEntry,
  type PlaybookLibrary,
} from '../src/library.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const DIST_LIBRARY = join(REPO, 'dist/src/library.js');

let ROOT = '';
const tmp = (name: string): string => mkdtempSync(join(ROOT, `${name}-`));

beforeAll(() => {
  ROOT = mkdtempSync(join(tmpdir(), 'pb-library-test-'));
});
afterAll(() => {
  if (ROOT) rmSync(ROOT, { recursive: true, force: true });
});

/** A standalone program with one playbook. */
function source(name: string, say = `${name} done`): string {
  return `# Helper\nA generated helper.\n\n## ${name}\n### Steps\n- Say "${say}"\n- Return 1\n`;
}

/** A library with a clock that moves one second per call, so `updated` orders changes. */
function library(dir = tmp('lib'), start = Date.UTC(2026, 0, 1)): LocalDirLibrary {
  let t = start;
  return new LocalDirLibrary(dir, { sync: false, now: () => new Date((t += 1000)) });
}

function input(goal: string, name: string, extra: Partial<NewLibraryEntry> = {}): NewLibraryEntry {
  return { goal, source: source(name), provenance: { runId: 'run-1', model: 'claude-test', parent: 'Support.Main' }, ...extra };
}

function catchError(f: () => unknown): LibraryError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(LibraryError);
    return err as LibraryError;
  }
  throw new Error('expected a LibraryError');
}

interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { onStdout?: (chunk: string) => void; cwd?: string } = {}): { done: Promise<Proc>; pid: number } {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    opts.onStdout?.(c);
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<Proc>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
  return { done, pid: child.pid! };
}

const pb = (...args: string[]) => run(process.execPath, [CLI, ...args]).done;

// ---------------------------------------------------------------------------------------

describe('normalization', () => {
  it('normalizes goals and tokens, and derives ids from goal key and source', () => {
    expect(goalKey('  Refund   the ORDER, please!  ')).toBe('refund the order please');
    expect(goalKey("Don't   escalate\t(yet)")).toBe('dont escalate yet');
    expect(goalTokens('Refund the order for the customer')).toEqual(['customer', 'order', 'refund']);
    expect(goalTokens('the a of')).toEqual([]);
    const key = goalKey('Refund the order');
    expect(entryId(key, 'x')).toBe(sha256(`${key}\nx`).toString('hex').slice(0, 16));
    expect(describeSource(source('CheckStock'))).toEqual({ agent: 'Helper', name: 'CheckStock' });
    expect(describeSource('<!-- # Not\n## Not -->\n# Shop\n\n## Price($item) \n### Steps\n- Return 1\n')).toEqual({ agent: 'Shop', name: 'Price' });
  });
});

describe('lifecycle', () => {
  it('adds a proposed entry with provenance and reuses it by its outcomes and status', () => {
    const dir = tmp('life');
    const lib: PlaybookLibrary = library(dir);
    const e = lib.add(input('Refund a damaged order', 'RefundDamaged'));
    expect(e).toMatchObject({
      goal: 'Refund a damaged order',
      goalKey: 'refund a damaged order',
      name: 'RefundDamaged',
      agent: 'Helper',
      status: 'proposed',
      successes: 0,
      failures: 0,
      provenance: { runId: 'run-1', model: 'claude-test', parent: 'Support.Main' },
    });
    expect(e.id).toBe(entryId(e.goalKey, e.source));
    expect(e.sourceSha256).toBe(sha256(e.source).toString('hex'));
    expect(e.created).toBe(e.updated);
    expect(e.provenance.created).toBe(e.created);

    // A proposed entry is reused only with more successes than failures.
    expect(lib.find('Refund a damaged order')).toBeUndefined();
    expect(lib.recordOutcome(e.id, true)).toMatchObject({ successes: 1, failures: 0 });
    expect(lib.find('refund a damaged order!')?.id).toBe(e.id);
    lib.recordOutcome(e.id, false);
    expect(lib.find('Refund a damaged order')).toBeUndefined();

    // Approved: reused whatever its counts; rejected: never.
    const approved = lib.setStatus(e.id, 'approved');
    expect(approved.status).toBe('approved');
    expect(approved.updated > e.updated).toBe(true);
    lib.recordOutcome(e.id, false);
    expect(lib.find('Refund a damaged order')).toMatchObject({ id: e.id, status: 'approved', successes: 1, failures: 2 });
    lib.setStatus(e.id, 'rejected');
    for (let i = 0; i < 3; i++) lib.recordOutcome(e.id, true);
    expect(lib.find('Refund a damaged order')).toBeUndefined();
    expect(lib.get(e.id)).toMatchObject({ status: 'rejected', successes: 4, failures: 2 });

    // What is on disk: entries/<id>.json and index.json, each in its envelope.
    const file = JSON.parse(readFileSync(join(dir, 'entries', `${e.id}.json`), 'utf8'));
    expect(file).toMatchObject({ magic: 'pbvm-library-entry', version: 1, minCompatible: 1 });
    expect(file.checksum).toBe(sha256(JSON.stringify(file.entry)).toString('hex'));
    expect(Object.keys(file.entry)).toEqual(['id', 'goal', 'goalKey', 'name', 'agent', 'source', 'sourceSha256', 'provenance', 'created', 'updated', 'successes', 'failures', 'status']);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    expect(index).toMatchObject({ magic: 'pbvm-library-index', version: 1, minCompatible: 1 });
    expect(index.checksum).toBe(sha256(JSON.stringify(index.entries)).toString('hex'));
    expect(index.entries).toEqual([
      { id: e.id, goal: e.goal, goalKey: e.goalKey, tokens: ['damaged', 'order', 'refund'], status: 'rejected', successes: 4, failures: 2, name: 'RefundDamaged', updated: lib.get(e.id)!.updated },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['entries', 'index.json']); // no lock left behind
  });

  it('lists summaries, filters by status, and resolves id prefixes', () => {
    const lib = library();
    const a = lib.add(input('triage an incident', 'Triage'));
    const b = lib.add(input('summarize a report', 'Summarize'));
    lib.setStatus(a.id, 'approved');
    expect(lib.list().map((r) => r.id)).toEqual([a.id, b.id]); // most recently updated first
    expect(lib.list({ status: 'proposed' }).map((r) => r.name)).toEqual(['Summarize']);
    expect(lib.list({ status: 'rejected' })).toEqual([]);
    expect(lib.resolveId(a.id.slice(0, 6))).toBe(a.id);
    expect(lib.resolveId(a.id.slice(0, 6).toUpperCase())).toBe(a.id);
    expect(lib.resolveId(a.id.slice(0, 3))).toBeUndefined(); // at least 4 characters
    expect(lib.resolveId('../../etc/passwd')).toBeUndefined();
    expect(lib.get('../index')).toBeUndefined();
    expect(catchError(() => lib.recordOutcome('0123456789abcdef', true)).message).toBe("error: no library entry '0123456789abcdef'");
    expect(catchError(() => lib.setStatus(a.id, 'maybe' as never)).message).toMatch(/unknown library status 'maybe'/);
  });

  it('an empty library answers without creating anything', () => {
    const dir = join(tmp('empty'), 'lib');
    const lib = new LocalDirLibrary(dir);
    expect(lib.find('anything')).toBeUndefined();
    expect(lib.list()).toEqual([]);
    expect(lib.resolveId('abcd')).toBeUndefined();
    expect(existsSync(dir)).toBe(false);
  });

  it('only accepts a source that compiles standalone', () => {
    const lib = library();
    const err = catchError(() => lib.add({ goal: 'broken', source: '# A\n\n## B\n### Steps\n- Say "x"\n\n## B\n### Steps\n- Say "y"\n' }));
    expect(err.message).toMatch(/^error: playbook 'B' does not compile standalone: \d+:\d+: /);
    expect(catchError(() => lib.add({ goal: '  !! ', source: source('X') })).message).toMatch(/needs a goal/);
    expect(lib.list()).toEqual([]);
  });
});

describe('dedupe', () => {
  it('the same goal (after normalization) and source give the existing entry', () => {
    const lib = library();
    const e = lib.add(input('Refund the order', 'Refund'));
    lib.recordOutcome(e.id, true);
    const again = lib.add(input('  refund THE order. ', 'Refund', { provenance: { runId: 'run-2' } }));
    expect(again.id).toBe(e.id);
    expect(again).toMatchObject({ successes: 1, goal: 'Refund the order', provenance: { runId: 'run-1' } });
    expect(lib.add(input('Refund the order', 'Refund2')).id).not.toBe(e.id); // another source
    expect(lib.add(input('Refund the invoice', 'Refund')).id).not.toBe(e.id); // another goal
    expect(lib.list()).toHaveLength(3);
  });

  it('addMany adds under one lock and keeps imported counts and status', () => {
    const lib = library();
    const [a, b] = lib.addMany([input('one task', 'One', { status: 'approved', successes: 5, failures: 1 }), input('two task', 'Two')]);
    expect(a).toMatchObject({ status: 'approved', successes: 5, failures: 1 });
    expect(b).toMatchObject({ status: 'proposed', successes: 0, failures: 0 });
    expect(catchError(() => lib.add(input('three', 'Three', { successes: -1 }))).message).toMatch(/whole number/);
  });
});

describe('matching and ranking', () => {
  it('matches an exact goal key, else word sets with Jaccard similarity >= 0.75', () => {
    const lib = library();
    const e = lib.add(input('Escalate urgent billing ticket', 'Escalate', { status: 'approved' }));
    expect(lib.find('escalate urgent billing ticket')?.id).toBe(e.id);
    expect(lib.find('Billing ticket: escalate (urgent), please')?.id).toBe(e.id); // same words: 1.0
    expect(lib.find('escalate the urgent billing ticket')?.id).toBe(e.id); // stop words ignored
    expect(lib.find('escalate urgent billing')?.id).toBe(e.id); // 3/4 = 0.75
    expect(lib.find('escalate urgent billing ticket now')?.id).toBe(e.id); // 4/5 = 0.8
    expect(lib.find('escalate urgent ticket today')).toBeUndefined(); // 3/5 = 0.6
    expect(lib.find('escalate billing')).toBeUndefined(); // 2/4
    expect(lib.find('the of a')).toBeUndefined(); // no words
    expect(lib.find('')).toBeUndefined();
  });

  it('ranks approved before proposed, then successes, then the most recently updated', () => {
    const lib = library();
    const goal = 'reconcile vendor invoices';
    const p = lib.add(input(goal, 'P', { successes: 9, failures: 0 }));
    const a1 = lib.add(input(goal, 'A1', { status: 'approved', successes: 1 }));
    const a2 = lib.add(input(goal, 'A2', { status: 'approved', successes: 2 }));
    const r = lib.add(input(goal, 'R', { status: 'rejected', successes: 50 }));
    expect(lib.find(goal)?.id).toBe(a2.id); // approved first; more successes
    lib.recordOutcome(a1.id, true); // now a tie on successes (2 and 2): the later update wins
    expect(lib.find(goal)?.id).toBe(a1.id);
    lib.recordOutcome(a2.id, false); // counts unchanged in successes, but updated later
    expect(lib.find(goal)?.id).toBe(a2.id);
    lib.setStatus(a1.id, 'rejected');
    lib.setStatus(a2.id, 'rejected');
    expect(lib.find(goal)?.id).toBe(p.id); // a proposed entry with more successes than failures
    for (let i = 0; i < 9; i++) lib.recordOutcome(p.id, false);
    expect(lib.find(goal)).toBeUndefined(); // 9/9 no longer qualifies; rejected never
    expect(r.status).toBe('rejected');
  });

  it('prefers an exact goal over a similar one, and among similar ones approved, then similarity', () => {
    const lib = library();
    const exact = lib.add(input('draft a refund email', 'Exact', { successes: 1 }));
    const similar = lib.add(input('draft refund email customer', 'Similar', { status: 'approved', successes: 100 }));
    expect(lib.find('Draft a refund email.')?.id).toBe(exact.id);
    expect(lib.find('email refund draft')?.id).toBe(similar.id); // similar to both: approved 0.75 beats proposed 1.0
    lib.setStatus(exact.id, 'approved');
    expect(lib.find('email refund draft')?.id).toBe(exact.id); // both approved: higher similarity
    lib.setStatus(exact.id, 'rejected');
    expect(lib.find('draft a refund email')?.id).toBe(similar.id); // the exact one is rejected
  });
});

describe('corruption and the index', () => {
  function setup() {
    const dir = tmp('corrupt');
    const lib = library(dir);
    const e = lib.add(input('verify a shipment', 'Verify', { status: 'approved' }));
    const f = lib.add(input('schedule a review', 'Schedule', { status: 'approved' }));
    return { dir, lib, e, f, file: join(dir, 'entries', `${e.id}.json`), index: join(dir, 'index.json') };
  }
  const edit = (path: string, f: (j: any) => void) => {
    const j = JSON.parse(readFileSync(path, 'utf8'));
    f(j);
    writeFileSync(path, JSON.stringify(j, null, 2));
  };

  it('a corrupt entry gives a clear error naming the file', () => {
    const { lib, e, file } = setup();
    const orig = readFileSync(file, 'utf8');
    writeFileSync(file, orig.slice(0, 100));
    let err = catchError(() => lib.get(e.id));
    expect(err.message).toBe(`${file}: error: corrupt library entry: not valid JSON (${err.message.match(/\((.*)\)$/)![1]})`);
    expect(err.file).toBe(file);
    expect(catchError(() => lib.find('verify a shipment')).message).toContain(file);

    writeFileSync(file, orig);
    edit(file, (j) => (j.entry.successes = 99));
    expect(catchError(() => lib.get(e.id)).message).toBe(`${file}: error: corrupt library entry: checksum mismatch (restore or delete the file)`);
    expect(catchError(() => lib.recordOutcome(e.id, true)).message).toMatch(/checksum mismatch/);

    writeFileSync(file, orig);
    edit(file, (j) => ((j.minCompatible = 2), (j.version = 3)));
    expect(catchError(() => lib.get(e.id)).message).toBe(
      `${file}: error: library entry format version 3 needs a newer pbvm (it requires at least version 2; this build reads version 1)`,
    );
    writeFileSync(file, orig);
    edit(file, (j) => (j.magic = 'something-else'));
    expect(catchError(() => lib.get(e.id)).message).toMatch(/not a pbvm library entry \(magic "something-else"/);
    writeFileSync(file, orig);
    edit(file, (j) => delete j.checksum);
    expect(catchError(() => lib.get(e.id)).message).toMatch(/missing version, minCompatible, checksum or entry/);

    // A newer version that this build can still read (minCompatible 1) is fine.
    writeFileSync(file, orig);
    edit(file, (j) => (j.version = 2));
    expect(lib.get(e.id)?.id).toBe(e.id);
  });

  it('a corrupt index gives a clear error; a missing one is rebuilt from the entries', () => {
    const { dir, lib, e, f, index } = setup();
    const orig = readFileSync(index, 'utf8');
    edit(index, (j) => (j.entries[0].successes = 7));
    const fresh = new LocalDirLibrary(dir, { sync: false });
    expect(catchError(() => fresh.find('verify a shipment')).message).toBe(
      `${index}: error: corrupt library index: checksum mismatch (delete it and it is rebuilt from the entries)`,
    );
    expect(catchError(() => fresh.recordOutcome(e.id, true)).file).toBe(index);
    writeFileSync(index, '{"magic": "pbvm-library-index", "version": 1, "minCompatible": 9, "checksum": "", "entries": []}');
    expect(catchError(() => fresh.list()).message).toMatch(/library index format version 1 needs a newer pbvm/);
    writeFileSync(index, 'not json');
    expect(catchError(() => fresh.list()).message).toMatch(/^.*index\.json: error: corrupt library index: not valid JSON/);

    // rebuildIndex() repairs it in place.
    expect(fresh.rebuildIndex()).toBe(2);
    expect(fresh.find('verify a shipment')?.id).toBe(e.id);

    // A missing index is rebuilt on first use, by readers and writers alike.
    unlinkSync(index);
    expect(new LocalDirLibrary(dir).find('schedule a review')?.id).toBe(f.id);
    expect(existsSync(index)).toBe(true);
    unlinkSync(index);
    new LocalDirLibrary(dir).recordOutcome(f.id, true);
    const rows = new LocalDirLibrary(dir).list();
    expect(rows.map((r) => r.id).sort()).toEqual([e.id, f.id].sort());
    expect(rows.find((r) => r.id === f.id)?.successes).toBe(1);
    expect(JSON.parse(readFileSync(index, 'utf8')).entries).toHaveLength(2);
    expect(orig.length).toBeGreaterThan(0);
    void lib;
  });

  it('an index that lags behind an entry (a crash between the two writes) is repaired', () => {
    const { dir, e, index } = setup();
    const before = readFileSync(index, 'utf8');
    const lib = new LocalDirLibrary(dir, { sync: false });
    lib.recordOutcome(e.id, false);
    writeFileSync(index, before); // as if the process died before writing the index
    const reader = new LocalDirLibrary(dir, { sync: false });
    expect(reader.list().find((r) => r.id === e.id)?.failures).toBe(0); // stale summary
    expect(reader.get(e.id)?.failures).toBe(1); // the entry is authoritative
    reader.recordOutcome(e.id, false);
    expect(reader.list().find((r) => r.id === e.id)?.failures).toBe(2);
  });

  it('a reader notices writes of another process (index re-read when it changes)', () => {
    const { dir, e } = setup();
    const reader = new LocalDirLibrary(dir);
    expect(reader.list().find((r) => r.id === e.id)?.status).toBe('approved');
    new LocalDirLibrary(dir).setStatus(e.id, 'rejected');
    expect(reader.list().find((r) => r.id === e.id)?.status).toBe('rejected');
    expect(reader.find('verify a shipment')).toBeUndefined();
  });
});

describe('lock', () => {
  it('takes over the lock of a dead process', async () => {
    const dir = tmp('stale');
    const lib = library(dir);
    const e = lib.add(input('classify a contract', 'Classify'));
    const dead = run(process.execPath, ['-e', '0']);
    await dead.done;
    writeFileSync(join(dir, 'library.lock'), `${dead.pid} 0 gone`);
    expect(lib.recordOutcome(e.id, true).successes).toBe(1);
    expect(existsSync(join(dir, 'library.lock'))).toBe(false);
  });

  it('waits for a live holder, then gives a clear error', async () => {
    const dir = tmp('held');
    const lib = new LocalDirLibrary(dir, { sync: false, lockTimeoutMs: 300 });
    const e = lib.add(input('translate a review', 'Translate'));
    const holder = run(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      writeFileSync(join(dir, 'library.lock'), `${holder.pid} 0 live`);
      const t0 = Date.now();
      const err = catchError(() => lib.recordOutcome(e.id, true));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(err.message).toBe(`${dir}: error: library is locked by process ${holder.pid}; waited 0.3 s (if no pbvm process is running, delete ${join(dir, 'library.lock')})`);
      expect(lib.get(e.id)?.successes).toBe(0);
      // Readers do not take the lock.
      expect(lib.list()).toHaveLength(1);
    } finally {
      process.kill(holder.pid, 'SIGKILL');
      await holder.done;
    }
    expect(lib.recordOutcome(e.id, true).successes).toBe(1); // the holder is gone now
  });
});

describe('concurrent writers (child processes)', () => {
  /** Starts `n` children running `body(lib, i)`; they wait for one another, then go together. */
  async function together(dir: string, n: number, body: string): Promise<Proc[]> {
    expect(existsSync(DIST_LIBRARY), 'build first: npx tsc -p .').toBe(true);
    const go = join(dir, '..', `go-${Math.random().toString(36).slice(2)}`);
    const script = `
      import { existsSync } from 'node:fs';
      import { LocalDirLibrary } from ${JSON.stringify(pathToFileURL(DIST_LIBRARY).href)};
      const lib = new LocalDirLibrary(${JSON.stringify(dir)});
      const i = Number(process.argv[1]);
      process.stdout.write('ready\\n');
      while (!existsSync(${JSON.stringify(go)})) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      ${body}
      process.stdout.write('done\\n');
    `;
    let ready = 0;
    let release!: () => void;
    const allReady = new Promise<void>((r) => (release = r));
    const procs = Array.from({ length: n }, (_, i) =>
      run(process.execPath, ['--input-type=module', '-e', script, String(i)], {
        onStdout: (c) => {
          if (c.includes('ready') && ++ready === n) release();
        },
      }),
    );
    await Promise.race([allReady, Promise.all(procs.map((p) => p.done))]);
    writeFileSync(go, '');
    const results = await Promise.all(procs.map((p) => p.done));
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0, stdout: 'ready\ndone\n' });
    return results;
  }

  it('two processes recording 100 outcomes each on one entry lose no update', async () => {
    const dir = tmp('concurrent');
    const e = new LocalDirLibrary(dir).add(input('reconcile a shipment', 'Reconcile'));
    // Process 0 records 100 successes, process 1 records 60 successes and 40 failures.
    await together(dir, 2, `for (let k = 0; k < 100; k++) lib.recordOutcome(${JSON.stringify(e.id)}, i === 0 || k % 5 < 3);`);
    const lib = new LocalDirLibrary(dir);
    expect(lib.get(e.id)).toMatchObject({ successes: 160, failures: 40 });
    expect(lib.list()).toMatchObject([{ id: e.id, successes: 160, failures: 40 }]);
    expect(readdirSync(dir).sort()).toEqual(['entries', 'index.json']);
    expect(readdirSync(join(dir, 'entries'))).toEqual([`${e.id}.json`]); // no temp files left
  });

  it('three processes adding entries and recording outcomes at once lose no index row', async () => {
    const dir = tmp('concurrent-add');
    const shared = new LocalDirLibrary(dir).add(input('shared goal', 'Shared'));
    await together(
      dir,
      3,
      `const src = (name) => ${JSON.stringify(source('NAME'))}.replaceAll('NAME', name);
       for (let k = 0; k < 30; k++) {
         lib.add({ goal: 'task ' + i + ' number ' + k, source: src('P' + i + 'N' + k) });
         lib.recordOutcome(${JSON.stringify(shared.id)}, k % 2 === 0);
       }`,
    );
    const lib = new LocalDirLibrary(dir);
    expect(lib.list()).toHaveLength(91);
    expect(lib.get(shared.id)).toMatchObject({ successes: 45, failures: 45 });
    const rebuilt = new LocalDirLibrary(dir);
    expect(rebuilt.rebuildIndex()).toBe(91);
    expect(rebuilt.list().map((r) => r.id).sort()).toEqual(lib.list().map((r) => r.id).sort());
  });
});

describe('pb library (CLI)', () => {
  let dir = '';
  let a: LibraryEntry;
  let b: LibraryEntry;
  beforeAll(() => {
    expect(existsSync(CLI), 'build first: npx tsc -p .').toBe(true);
    dir = tmp('cli');
    const lib = library(dir);
    a = lib.add(input('Refund a damaged order', 'RefundDamaged'));
    b = lib.add({
      goal: 'Triage an incident',
      source: '# Ops\nTriage helper.\n\n## TriageIncident($title)\n### Steps\n- Say f"Triage: {$title}"\n- Return "triaged"\n\n## Main\n### Triggers\n- At the beginning\n### Steps\n- Say TriageIncident("disk full")\n',
      provenance: { runId: 'run-9', model: 'claude-x', parent: 'Ops.Main' },
    });
    lib.recordOutcome(b.id, true);
  });

  it('list prints a table, --status filters, --json is machine readable', async () => {
    const r = await pb('library', 'list', '--library', dir);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+S\/F\s+NAME\s+GOAL$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/))).toEqual([
      [b.id, 'proposed', '1/0', 'TriageIncident', 'Triage an incident'],
      [a.id, 'proposed', '0/0', 'RefundDamaged', 'Refund a damaged order'],
    ]);
    const json = await pb('library', 'list', '--library', dir, '--json');
    expect(JSON.parse(json.stdout)).toEqual([
      { id: b.id, goal: b.goal, goalKey: b.goalKey, status: 'proposed', successes: 1, failures: 0, name: 'TriageIncident', updated: expect.any(String) },
      { id: a.id, goal: a.goal, goalKey: a.goalKey, status: 'proposed', successes: 0, failures: 0, name: 'RefundDamaged', updated: a.updated },
    ]);
    const none = await pb('library', 'list', '--library', dir, '--status', 'rejected');
    expect(none).toMatchObject({ code: 0, stdout: '' });
    expect(none.stderr).toMatch(/no library entries with status rejected/);
    const bad = await pb('library', 'list', '--library', dir, '--status', 'maybe');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Allowed choices are proposed, approved, rejected/);
  });

  it('show prints every field and the source; approve and reject set the status', async () => {
    const r = await pb('library', 'show', b.id.slice(0, 6), '--library', dir);
    expect(r.code).toBe(0);
    for (const [k, v] of [
      ['id', b.id],
      ['status', 'proposed'],
      ['goal', 'Triage an incident'],
      ['name', 'TriageIncident'],
      ['agent', 'Ops'],
      ['successes', '1'],
      ['failures', '0'],
      ['run', 'run-9'],
      ['model', 'claude-x'],
      ['parent', 'Ops.Main'],
      ['source sha256', b.sourceSha256],
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^${k}:\\s+${v!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    }
    expect(r.stdout.endsWith(`\n\n${b.source}`)).toBe(true);
    const json = await pb('library', 'show', b.id, '--json', '--library', dir);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: b.id, source: b.source, provenance: b.provenance });

    const ok = await pb('library', 'approve', a.id.slice(0, 8), '--library', dir);
    expect(ok).toMatchObject({ code: 0, stdout: `${a.id} approved: RefundDamaged\n` });
    expect(new LocalDirLibrary(dir).get(a.id)?.status).toBe('approved');
    expect(new LocalDirLibrary(dir).find('refund a damaged order')?.id).toBe(a.id);
    const no = await pb('library', 'reject', a.id, '--library', dir);
    expect(no).toMatchObject({ code: 0, stdout: `${a.id} rejected: RefundDamaged\n` });
    expect(new LocalDirLibrary(dir).find('refund a damaged order')).toBeUndefined();
  });

  it('export prints exactly the source, which compiles standalone', async () => {
    for (const e of [a, b]) {
      const r = await pb('library', 'export', e.id, '--library', dir);
      expect(r).toMatchObject({ code: 0, stdout: e.source, stderr: '' });
      const c = compileSource(r.stdout, 'exported.pb');
      expect(c.errorCount, JSON.stringify(c.diagnostics)).toBe(0);
      expect(c.program).toBeDefined();
    }
  });

  it('an unknown id is exit 4 with a one-line error; so is a corrupt entry', async () => {
    for (const cmd of ['show', 'approve', 'reject', 'export']) {
      const r = await pb('library', cmd, 'ffffffff', '--library', dir);
      expect(r, cmd).toMatchObject({ code: 4, stdout: '', stderr: "error: no library entry 'ffffffff'\n" });
    }
    const short = await pb('library', 'show', 'abc', '--library', dir);
    expect(short).toMatchObject({ code: 4, stderr: "error: no library entry 'abc'\n" });
    const other = tmp('cli-corrupt');
    const lib = library(other);
    const e = lib.add(input('verify an account', 'VerifyAccount'));
    const file = join(other, 'entries', `${e.id}.json`);
    writeFileSync(file, '{');
    const r = await pb('library', 'show', e.id, '--library', other);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: error: corrupt library entry: not valid JSON`));
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('the default directory is .pb-library in the working directory', async () => {
    const cwd = tmp('cwd');
    const e = library(join(cwd, '.pb-library')).add(input('draft a contract', 'DraftContract'));
    const r = await run(process.execPath, [CLI, 'library', 'export', e.id.slice(0, 4)], { cwd }).done;
    expect(r).toMatchObject({ code: 0, stdout: e.source });
  });
});

describe('lookup over 10,000 entries', () => {
  it('finds exact and reworded goals, misses unknown ones, and reports the median time', () => {
    const dir = tmp('bench');
    const r = benchLookup(dir, 10_000, 1_500);
    expect(r.entries).toBe(10_000);
    expect(r.wrong).toBe(0);
    expect(r.exactHits).toBeGreaterThan(0);
    expect(r.similarHits).toBeGreaterThan(0);
    expect(r.misses).toBeGreaterThan(r.lookups / 3);
    console.log(
      `library lookup over ${r.entries} entries: median ${r.medianMs.toFixed(3)} ms, p90 ${r.p90Ms.toFixed(3)} ms, max ${r.maxMs.toFixed(1)} ms; ` +
        `first (reads the index) ${r.coldMs.toFixed(1)} ms; build ${(r.buildMs / 1000).toFixed(1)} s`,
    );
  });
});
