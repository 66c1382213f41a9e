// The journal's write path under faults: writes cut short, a full disk (ENOSPC), I/O errors
// (EIO) on write and on fsync, a snapshot that cannot be written; and what a power loss
// leaves at the end of the journal (zeros). A failed write stops the run with one clear
// line, leaves no torn or doubled record, and once the fault is gone `pb resume` continues
// with nothing lost or repeated.
//
// Faults are injected through the local store's file operations (src/file-ops.ts), at every
// journal append of a run in turn; a real full disk is a small tmpfs (skipped when this
// machine cannot mount one).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSource } from '../compiler/compile.js';
import { decodeJournal, encodeRecord, journalHeader, type JournalRecord } from '../vm/durable/journal.js';
import type { Program } from '../vm/pbasm/program.js';
import type { RunnerIO } from '../vm/runner.js';
import { NODE_FILE_OPS, type FileOps } from '../src/file-ops.js';
import { LocalDirRunStore } from '../src/run-store.js';
import { resumeRun, runProgram, StateError, type SyncPolicy } from '../src/run.js';
import { describeRun, REPO, runCli, tempRoot } from './support/cli.js';

const FIX = join(REPO, 'test/fixtures/faults');
const TOOLS = join(FIX, 'note-tools.mjs');
const N = 6;
const EXPECTED = [...Array.from({ length: N }, (_, i) => `note ${i} ok${i}`), 'Please provide name:', 'bye Ann'];

const tmp = tempRoot('pbvm-faults-');
const program: Program = (() => {
  const r = compileSource(readFileSync(join(FIX, 'effects.pb'), 'utf8'), join(FIX, 'effects.pb'));
  if (!r.program) throw new Error('effects.pb does not compile');
  return r.program;
})();

const outTexts = (records: JournalRecord[]): string[] => records.flatMap((r) => (r.t === 'out' ? r.lines.map(([, t]) => t) : []));
const journalOf = (state: string) => decodeJournal(readFileSync(join(state, 'journal.pbj')));

function io(printed: string[], inputs: string[]): RunnerIO {
  return { writeLines: (ls) => void printed.push(...ls), readLine: async () => inputs.shift() ?? null };
}

type Errno = 'ENOSPC' | 'EIO';
const errno = (code: Errno, syscall: string) => Object.assign(new Error(`${code}: simulated fault, ${syscall}`), { code, syscall });

interface Plan {
  /** The journal append (1-based, in this process) that meets the fault. */
  append?: number;
  /** 'fail': its first write fails; 'short': its first write stores half and returns; 'short-fail': then the rest fails. */
  kind?: 'fail' | 'short' | 'short-fail';
  code?: Errno;
  /** Cutting the file back fails too (the bytes of the half-written record stay). */
  truncateFails?: boolean;
  /** The Nth fsync of the journal fails. */
  fsyncFails?: number;
  /** Writing the first snapshot fails. */
  snapshotFails?: Errno;
}

/** The real file operations, with the faults of `plan` at the places it names. */
class FaultyOps implements FileOps {
  appends = 0;
  fsyncs = 0;
  private journalFd = -1;
  private snapshotFd = -1;

  constructor(private readonly plan: Plan) {}

  open(path: string, flags: string | number, mode?: number): number {
    const fd = NODE_FILE_OPS.open(path, flags, mode);
    if (path.endsWith('journal.pbj') && flags === 'a') this.journalFd = fd;
    if (path.includes('snapshot.pbs.tmp')) this.snapshotFd = fd;
    return fd;
  }
  write(fd: number, data: Uint8Array, offset: number, length: number): number {
    const p = this.plan;
    if (fd === this.snapshotFd && p.snapshotFails) throw errno(p.snapshotFails, 'write');
    if (fd === this.journalFd) {
      if (offset === 0) this.appends++;
      if (this.appends === p.append) {
        if (offset === 0 && p.kind === 'fail') throw errno(p.code ?? 'ENOSPC', 'write');
        if (offset === 0 && (p.kind === 'short' || p.kind === 'short-fail')) return NODE_FILE_OPS.write(fd, data, 0, Math.max(1, length >> 1));
        if (offset > 0 && p.kind === 'short-fail') throw errno(p.code ?? 'ENOSPC', 'write');
      }
    }
    return NODE_FILE_OPS.write(fd, data, offset, length);
  }
  fsync(fd: number): void {
    if (fd === this.journalFd && ++this.fsyncs === this.plan.fsyncFails) throw errno('EIO', 'fsync');
    NODE_FILE_OPS.fsync(fd);
  }
  truncate(fd: number, length: number): void {
    if (this.plan.truncateFails) throw errno('EIO', 'ftruncate');
    NODE_FILE_OPS.truncate(fd, length);
  }
  size(fd: number): number {
    return NODE_FILE_OPS.size(fd);
  }
  close(fd: number): void {
    NODE_FILE_OPS.close(fd);
  }
  rename(from: string, to: string): void {
    NODE_FILE_OPS.rename(from, to);
  }
  unlink(path: string): void {
    NODE_FILE_OPS.unlink(path);
  }
}

interface Outcome {
  state: string;
  log: string;
  /** What the run that met the fault printed, and how it ended. */
  printed: string[];
  error?: unknown;
  ops: FaultyOps;
}

async function faultyRun(name: string, plan: Plan, sync: SyncPolicy = 'snapshot'): Promise<Outcome> {
  const dir = tmp(name);
  const state = join(dir, 'state');
  const log = join(dir, 'calls.txt');
  process.env.FAULT_LOG = log;
  const ops = new FaultyOps(plan);
  const printed: string[] = [];
  try {
    const r = await runProgram(program, { store: new LocalDirRunStore(state, { fileOps: ops }), tools: TOOLS, io: io(printed, ['Ann']), sync });
    expect(r.outcome.status, `${name}: ${JSON.stringify(r.outcome)}`).toBe('finished');
    return { state, log, printed, ops };
  } catch (error) {
    return { state, log, printed, error, ops };
  }
}

/** After the fault: one clear line; then a resume finishes with every line printed once and every call made once. */
async function checkRecovers(name: string, o: Outcome, problem: RegExp, opts: { torn?: boolean } = {}): Promise<void> {
  expect(o.error, `${name}: the run stops`).toBeInstanceOf(StateError);
  const message = (o.error as Error).message;
  expect(message.split('\n'), name).toHaveLength(1);
  expect(message.startsWith(`${o.state}: error: `), `${name}: ${message}`).toBe(true);
  expect(message, name).toMatch(problem);
  expect(message, name).toContain(`; the run is kept: fix the cause, then continue with: pb resume ${o.state}`);
  const j = journalOf(o.state);
  expect(j.tornTail, `${name}: the failed append left ${opts.torn ? 'its half record, dropped on resume' : 'nothing behind'}`).toBe(!!opts.torn);
  const journaled = outTexts(j.records);
  expect(journaled, `${name}: the stopped run printed exactly what it journaled`).toEqual(o.printed);
  expect(j.records.filter((r) => r.t === 'end'), `${name}: the run has not ended`).toEqual([]);

  process.env.FAULT_LOG = o.log;
  const more: string[] = [];
  const warnings: string[] = [];
  const inputs = j.records.some((r) => r.t === 'input') ? [] : ['Ann'];
  const r = await resumeRun(o.state, { io: io(more, inputs), warn: (w) => warnings.push(w) });
  expect(r.outcome.status, `${name}: ${JSON.stringify(r.outcome)}`).toBe('finished');
  expect([...o.printed, ...more], `${name}: nothing lost, nothing printed twice`).toEqual(EXPECTED);
  const after = journalOf(o.state);
  expect(after.tornTail).toBe(false);
  expect(outTexts(after.records), `${name}: every line journaled once`).toEqual(EXPECTED);
  expect(after.records.filter((x) => x.t === 'end')).toHaveLength(1);
  expect(warnings.some((w) => /dropping an incomplete final journal record/.test(w)), `${name}: ${warnings.join('; ')}`).toBe(!!opts.torn);
  // Every call made; only one whose result could not be journaled is made again, with its call id.
  const calls = readFileSync(o.log, 'utf8').trim().split('\n');
  expect([...new Set(calls.map((c) => c.split(' ')[1]))].sort(), name).toEqual(Array.from({ length: N }, (_, i) => String(i)));
  const ids = new Map<string, string>();
  for (const c of calls) {
    const [id, i] = c.split(' ');
    expect(ids.get(i!) ?? id, `${name}: a re-issued call keeps its call id`).toBe(id);
    ids.set(i!, id!);
  }
  expect(calls.length - ids.size, `${name}: re-issued calls`).toBeLessThanOrEqual(1);
}

describe('faults on the journal write path', () => {
  // How many appends a run makes, counted on a run without faults.
  let appends = 0;
  it('a write cut short is finished by the next write: no error, nothing lost', async () => {
    const clean = await faultyRun('clean', {});
    expect(clean.error).toBeUndefined();
    expect(clean.printed).toEqual(EXPECTED);
    appends = clean.ops.appends;
    expect(appends).toBeGreaterThan(2 * N);
    for (let k = 1; k <= appends; k++) {
      const o = await faultyRun(`short-${k}`, { append: k, kind: 'short' });
      expect(o.error, `append ${k}`).toBeUndefined();
      expect(o.printed).toEqual(EXPECTED);
      expect(outTexts(journalOf(o.state).records)).toEqual(EXPECTED);
    }
  });

  for (const [kind, code] of [
    ['fail', 'ENOSPC'],
    ['fail', 'EIO'],
    ['short-fail', 'ENOSPC'],
    ['short-fail', 'EIO'],
  ] as const) {
    it(`${kind === 'fail' ? 'a write that fails' : 'a write cut short whose rest fails'} with ${code}, at every append of the run`, async () => {
      expect(appends).toBeGreaterThan(0);
      const text = code === 'ENOSPC' ? /cannot write journal\.pbj: no space left on device \(ENOSPC\)/ : /cannot write journal\.pbj: input\/output error \(EIO\)/;
      for (let k = 1; k <= appends; k++) {
        const name = `${kind}-${code}-${k}`;
        await checkRecovers(name, await faultyRun(name, { append: k, kind, code }), text);
      }
    });
  }

  it('a half-written record that cannot be cut back is dropped by the next resume', async () => {
    for (const k of [1, Math.floor(appends / 2), appends - 1]) {
      const name = `untruncatable-${k}`;
      await checkRecovers(name, await faultyRun(name, { append: k, kind: 'short-fail', code: 'EIO', truncateFails: true }), /cannot write journal\.pbj: input\/output error \(EIO\)/, { torn: true });
    }
  });

  it('an fsync that fails (sync always: every append; and before a snapshot)', async () => {
    for (const k of [1, 3, appends - 2]) {
      const name = `fsync-always-${k}`;
      // (Each append's own fsync, or the one before a snapshot: " to disk".)
      await checkRecovers(name, await faultyRun(name, { fsyncFails: k }, 'always'), /cannot write journal\.pbj( to disk)?: input\/output error \(EIO\)/);
    }
    // With the default policy the journal is fsynced only before a snapshot that refers to it.
    const o = await faultyRun('fsync-snapshot', { fsyncFails: 1 });
    expect(existsSync(join(o.state, 'snapshot.pbs')), 'no snapshot refers to an unsynced journal').toBe(false);
    await checkRecovers('fsync-snapshot', o, /cannot write journal\.pbj to disk: input\/output error \(EIO\)/);
  });

  it('a snapshot that cannot be written (full disk) leaves the previous state whole', async () => {
    const o = await faultyRun('snapshot-enospc', { snapshotFails: 'ENOSPC' });
    await checkRecovers('snapshot-enospc', o, /cannot write snapshot\.pbs: no space left on device \(ENOSPC\)/);
  });

  it('after a failed append the store takes no further append', () => {
    const dir = join(tmp('refuse'), 'state');
    const ops = new FaultyOps({ append: 1, kind: 'short-fail', code: 'ENOSPC' });
    const store = new LocalDirRunStore(dir, { fileOps: ops });
    const release = store.lock();
    try {
      store.create(Buffer.from('x'), encodeRecord({ t: 'resume', at: 'now', fromSeq: 0 }));
      const before = readFileSync(join(dir, 'journal.pbj'));
      const rec = encodeRecord({ t: 'resume', at: 'later', fromSeq: 1 });
      expect(() => store.appendJournal(rec, false)).toThrow(/cannot write journal\.pbj: no space left on device \(ENOSPC\)/);
      expect(readFileSync(join(dir, 'journal.pbj')), 'cut back to the last complete record').toEqual(before);
      expect(() => store.appendJournal(rec, false)).toThrow(/ENOSPC/);
      expect(ops.appends, 'the second append wrote nothing').toBe(1);
      expect(readFileSync(join(dir, 'journal.pbj'))).toEqual(before);
    } finally {
      release();
    }
  });
});

describe('a zero-filled journal tail (power loss)', () => {
  const records: JournalRecord[] = [
    { t: 'start', runId: 'r1', programSha: 'x', at: '2026-01-01T00:00:00.000Z', host: {} },
    { t: 'out', lines: [[1, 'a line that makes the record long enough to cross a sector boundary '.repeat(12)]] },
    { t: 'resume', at: '2026-01-01T00:00:01.000Z', fromSeq: 1 },
  ];
  const valid = Buffer.concat([journalHeader(), ...records.map(encodeRecord)]);
  const zeros = (n: number) => Buffer.alloc(n);

  it('is dropped like a torn tail, whatever its length', () => {
    for (const n of [1, 11, 12, 13, 512, 4096, 65536]) {
      const j = decodeJournal(Buffer.concat([valid, zeros(n)]));
      expect(j.records, `${n} zeros`).toEqual(records);
      expect(j.tornTail).toBe(true);
      expect(j.validLength).toBe(valid.length);
      expect(j.zeroTail).toBe(n);
    }
  });

  it('also when the last record reached the disk only up to a sector boundary', () => {
    // The long 'out' record spans sector 512; everything from there on reads as zeros.
    const start = journalHeader().length + encodeRecord(records[0]!).length;
    expect(start).toBeLessThan(512);
    const cut = Buffer.concat([valid.subarray(0, 512), zeros(4096 - 512)]);
    const j = decodeJournal(cut);
    expect(j.records).toEqual(records.slice(0, 1));
    expect(j.tornTail).toBe(true);
    expect(j.validLength).toBe(start);
    expect(j.zeroTail).toBe(cut.length - start);
  });

  it('zeros followed by data, or a damaged record ending in no zero run, stay corruption', () => {
    const rec = encodeRecord(records[2]!);
    expect(() => decodeJournal(Buffer.concat([valid, zeros(64), rec]))).toThrow(/corrupted journal: record 4 \(byte \d+\) has a damaged length/);
    expect(() => decodeJournal(Buffer.concat([valid, zeros(600), rec, zeros(600)]))).toThrow(/corrupted journal: record 4/);
    // A bit flipped in the last record, with zeros after it: not explained by lost writes.
    const flipped = Buffer.from(valid);
    flipped[flipped.length - 3]! ^= 1;
    expect(() => decodeJournal(Buffer.concat([flipped, zeros(4096)]))).toThrow(/corrupted journal: record 3 \(byte \d+\) fails its checksum/);
  });

  it('pb resume drops it with a warning and continues', async () => {
    const state = join(tmp('zeros'), 'state');
    const stopped = await runCli(['run', join(REPO, 'test/fixtures/lock/tiny.pb'), '--state', state], { input: '' });
    expect(stopped.code, describeRun(stopped)).toBe(3);
    appendFileSync(join(state, 'journal.pbj'), zeros(4096));
    const p = await runCli(['resume', state], { input: 'Ann\n' });
    expect(p.code, describeRun(p)).toBe(0);
    expect(p.stdout).toBe('hi Ann\n');
    expect(p.stderr).toBe(`pb: warning: ${state}: dropping a zero-filled journal tail of 4096 bytes (writes lost to a power failure)\n`);
    const j = journalOf(state);
    expect(j.tornTail).toBe(false);
    expect(j.records.filter((r) => r.t === 'end' && r.final)).toHaveLength(1);
  });
});

describe('a real full disk', () => {
  let mnt = '';
  let mounted = false;
  beforeAll(() => {
    mnt = join(tmp('tmpfs'), 'mnt');
    try {
      mkdirSync(mnt, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
      mounted = true;
    } catch {
      // Not root, or no mount in this container: the fault-injection tests above still run.
    }
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', [mnt], { stdio: 'ignore' });
  });

  it('a run that fills a 64 KiB tmpfs stops with exit 4; after the disk grows, resume finishes it', async (ctx) => {
    if (!mounted) ctx.skip();
    const state = join(mnt, 'state');
    const all = [...Array.from({ length: 3000 }, (_, i) => `line ${i} of the output-heavy loop`), 'chatty done'];
    const p = await runCli(['run', join(FIX, 'chatty.pb'), '--state', state]);
    expect(p.code, describeRun(p)).toBe(4);
    const err = p.stderr.trimEnd();
    expect(err.split('\n'), describeRun(p)).toHaveLength(1);
    expect(err).toBe(`${state}: error: cannot write journal.pbj: no space left on device (ENOSPC); the run is kept: fix the cause, then continue with: pb resume ${state}`);
    const printed = p.stdout.trimEnd().split('\n');
    expect(printed.length).toBeGreaterThan(100);
    expect(printed).toEqual(all.slice(0, printed.length));
    const j = journalOf(state);
    expect(j.tornTail, 'the short write was cut back').toBe(false);
    expect(outTexts(j.records)).toEqual(printed);

    execFileSync('mount', ['-o', 'remount,size=1m', mnt], { stdio: 'ignore' });
    const r = await runCli(['resume', state]);
    expect(r.code, describeRun(r)).toBe(0);
    expect([...printed, ...r.stdout.trimEnd().split('\n')]).toEqual(all);
    expect(outTexts(journalOf(state).records)).toEqual(all);
  });
});
