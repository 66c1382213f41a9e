// Durability: `pb run --state DIR` survives kill -9 at any instant, `pb resume DIR` never
// loses or repeats a tool call or a printed line, and a damaged state directory gives a
// clear one-line error (exit 4) instead of a stack trace.
//
// These tests spawn the built CLI (dist/src/cli/main.js); `npm test` builds it first.
// Knobs: DUR_TRIALS (default 30) and DUR_SEED (default 0x5eed) for the kill -9 test.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, fileChanged, runCli, type CliRun } from './support/cli.js';
import { seededRandom } from './support/fake-anthropic.js';
import { checkPrinted, journalOf, lines, outTexts } from './support/journal-check.js';
import { decodeJournal, encodeRecord, JOURNAL_HEADER_SIZE, type JournalRecord } from '../vm/durable/journal.js';
import { decodeSnapshot } from '../vm/durable/snapshot.js';
import { HEADER_SIZE, packValue } from '../vm/pbasm/envelope.js';
import type { RunReport } from '../src/run.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const FIX = join(REPO, 'test/fixtures/durability');
const TOOLS = join(FIX, 'tools.ts');
const FLAKY_TOOLS = join(FIX, 'flaky-tools.mjs');
const CRASH_PB = join(FIX, 'crash-loop.pb');
const STEPS_PB = join(FIX, 'steps.pb');
const FLAKY_PB = join(FIX, 'flaky.pb');
const OTHER_PB = join(FIX, 'other.pb');

const EXIT_OK = 0;
const EXIT_RUNTIME = 3;
const EXIT_IO = 4;

const CRASH_N = 25;
const CRASH_LINES = [...Array.from({ length: CRASH_N }, (_, i) => `line ${i} ok${i}`), `all ${CRASH_N} done`];
const STEPS_N = 12;
const STEPS_LINES = Array.from({ length: STEPS_N }, (_, i) => `step ${i} ok${i}`);
const ASK_PROMPT = 'Please provide name:';
const HELLO = `Hello Ann, ${STEPS_N} steps done`;

// ---------------------------------------------------------------------------------------
// Helpers

let ROOT = '';
const tmp = (name: string): string => mkdtempSync(join(ROOT, `${name}-`));

type Proc = CliRun;

interface PbOptions {
  input?: string;
  env?: Record<string, string>;
  /** Send SIGKILL after this many ms (counted from `killAnchor`, when given). */
  killAfterMs?: number;
  /** Start counting `killAfterMs` only once this file appears or changes size. */
  killAnchor?: string;
  hangMs?: number;
  cwd?: string;
}

function pb(args: string[], options: PbOptions = {}): Promise<Proc> {
  const { killAnchor, ...rest } = options;
  return runCli(args, { ...rest, ...(killAnchor !== undefined ? { killWhen: fileChanged(killAnchor), pollMs: 1 } : {}) });
}

const escapeRe = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const describeProc = describeRun;
/** Mulberry32: a small seeded PRNG, so a failing trial can be replayed with DUR_SEED. */
const prng = seededRandom;

/**
 * Journal format 2: each record is [u32 length][u32 crc32 of the length][u32 crc32 of the
 * payload][msgpack payload]. The record header's size comes from the encoder itself (the
 * sanity test checks that it is the documented 12 bytes); the offsets of its two checksums
 * follow from the layout.
 */
const RECORD_HEADER = ((): number => {
  const r: JournalRecord = { t: 'resume', at: '2020-01-01T00:00:00.000Z', fromSeq: 1 };
  return encodeRecord(r).length - packValue(r).length;
})();
const LENGTH_CRC_AT = 4;
const PAYLOAD_CRC_AT = 8;

/**
 * Byte offsets where each journal record starts, plus the end of the last one, found by
 * re-encoding the decoded records (the sanity test checks that this reproduces the file).
 */
function recordBoundaries(journal: Buffer): number[] {
  const out = [JOURNAL_HEADER_SIZE];
  for (const r of decodeJournal(journal).records) out.push(out[out.length - 1]! + encodeRecord(r).length);
  return out;
}

function readRecords(dir: string): JournalRecord[] {
  return decodeJournal(readFileSync(join(dir, 'journal.pbj'))).records;
}

function flipBit(file: string, byte: number, bit = 0): void {
  const b = readFileSync(file);
  if (byte < 0 || byte >= b.length) throw new Error(`flipBit: byte ${byte} outside ${file} (${b.length} bytes)`);
  b[byte]! ^= 1 << bit;
  writeFileSync(file, b);
}

/** Files of a state directory, as bytes, to check that a refused command changed nothing. */
function stateFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f)).toString('base64');
  return out;
}

/**
 * A clear state error line: `DIR: error: <message>`, naming the directory once as its prefix
 * (the message itself does not repeat it; `mentions` counts deliberate further mentions, such
 * as the 'pb resume DIR' hint), matching `problem`, with no stack trace.
 */
function expectStateErrorLine(line: string, dir: string, problem: RegExp, ctx: string, mentions = 0): void {
  expect(line, ctx).not.toMatch(/\n\s+at |Error:|TypeError|RangeError|pb: error: .*\bat\b.*:\d+:\d+/);
  expect(line.startsWith(`${dir}: error: `), `${ctx}\nthe line starts with "DIR: error: "`).toBe(true);
  const message = line.slice(`${dir}: error: `.length);
  expect(message.split(dir).length - 1, `${ctx}\nthe message does not repeat the directory`).toBe(mentions);
  expect(message, ctx).not.toMatch(/^error\b|: error: /);
  expect(message, ctx).toMatch(problem);
}

/**
 * A clear state error: exit 4, nothing on stdout, exactly one line on stderr that names the
 * directory (once) and matches `problem`, and no stack trace.
 */
function expectStateError(p: Proc, dir: string, problem: RegExp, what: string): void {
  const ctx = `${what}\n${describeProc(p)}`;
  expect(p.hung, ctx).toBe(false);
  expect(p.code, ctx).toBe(EXIT_IO);
  expect(p.stdout, ctx).toBe('');
  const err = p.stderr.trimEnd();
  expect(err.split('\n'), `${ctx}\nexpected a one-line error`).toHaveLength(1);
  expectStateErrorLine(err, dir, problem, ctx);
}

beforeAll(() => {
  expect(existsSync(CLI), `${CLI} is missing: build first with \`npx tsc -p .\` (npm test does this in pretest)`).toBe(true);
  const built = statSync(CLI).mtimeMs;
  const newer = ['src', 'vm', 'compiler', 'stdlib', 'grammar'].flatMap((d) =>
    readdirSync(join(REPO, d), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && statSync(join(REPO, d, f)).mtimeMs > built),
  );
  if (newer.length) console.warn(`durability: dist/ is older than ${newer.length} source file(s); these tests run the last build (npx tsc -p .)`);
  ROOT = mkdtempSync(join(tmpdir(), 'pbvm-durability-'));
});

afterAll(() => {
  if (ROOT) rmSync(ROOT, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// 1. kill -9 at random moments, then resume until done

describe('kill -9 and resume', () => {
  const TRIALS = Number(process.env.DUR_TRIALS ?? 30);
  const SEED = Number(process.env.DUR_SEED ?? 0x5eed);
  const CONCURRENCY = 2;
  const SLEEP_MS = 24;

  type Phase = 'start-up' | 'creating the run' | 'inside a tool call' | 'during output' | 'between effects' | 'torn journal write';

  interface TrialResult {
    trial: number;
    kills: number;
    resumes: number;
    staleLocks: number;
    reissued: number;
    /** Kills that left program.pbasm without journal.pbj: a creation cut short, which holds no run yet. */
    interruptedCreations: number;
    /** Lines lost to a kill between journaling them and printing them (see checkPrinted). */
    lost: string[];
    endedBeforeKill: number;
    phases: Phase[];
    problems: string[];
    ms: number;
  }

  /** Where the killed process was, judged from what it left in the state directory. */
  function phaseOf(state: string, recordsBefore: number): Phase {
    const j = journalOf(state);
    if (!j.exists) return existsSync(join(state, 'program.pbasm')) ? 'creating the run' : 'start-up';
    if (j.torn) return 'torn journal write';
    const added = j.records.slice(recordsBefore);
    const last = added[added.length - 1];
    if (!last || added.every((r) => r.t === 'start' || r.t === 'resume')) return 'start-up';
    if (last.t === 'tool-start') return 'inside a tool call';
    if (last.t === 'out') return 'during output';
    return 'between effects';
  }

  interface Timing {
    /** From spawn until the state directory holds a journal (node + tsx start-up). */
    startup: number;
    /** A whole uninterrupted run. */
    total: number;
  }

  /**
   * A kill moment: a quarter in start-up (counted from the spawn), the rest spread over the
   * effects (counted from the process's first journal write, since start-up time varies a lot
   * with the machine's load).
   */
  function killPlan(rng: () => number, t: Timing): { ms: number; anchored: boolean } {
    if (rng() < 0.25) return { ms: rng() * t.startup, anchored: false };
    return { ms: rng() * (t.total - t.startup), anchored: true };
  }

  async function trial(index: number, rng: () => number, timing: Timing): Promise<TrialResult> {
    const started = performance.now();
    const dir = tmp(`crash-${index}`);
    const state = join(dir, 'state');
    const out = join(dir, 'tool.txt');
    const calls = join(dir, 'calls.txt');
    const env = { DUR_OUT: out, DUR_CALLS: calls, DUR_SLEEP_MS: String(SLEEP_MS) };
    const r: TrialResult = { trial: index, kills: 0, resumes: 0, staleLocks: 0, reissued: 0, interruptedCreations: 0, lost: [], endedBeforeKill: 0, phases: [], problems: [], ms: 0 };
    let stdout = '';
    const history: string[] = [];
    let finished = false;

    const step = async (plan: { ms: number; anchored: boolean } | undefined): Promise<void> => {
      // A run exists once its journal does (the journal, with its start record, is written last
      // and atomically).
      const created = existsSync(join(state, 'journal.pbj'));
      if (!created && existsSync(join(state, 'program.pbasm'))) {
        // A kill cut the creation short: there is no run yet. `pb resume` says so and changes
        // nothing; `pb run` (below) starts the run afresh.
        r.interruptedCreations++;
        const before = stateFiles(state);
        const q = await pb(['resume', state], { env });
        history.push(`resume of an unfinished creation: exit ${q.code}`);
        if (q.code !== EXIT_IO || q.stdout !== '' || !/not a pbvm state directory \(no journal\.pbj\)/.test(q.stderr)) {
          r.problems.push(`'pb resume' of a directory whose creation was cut short: want exit 4, "not a pbvm state directory (no journal.pbj)"\n${describeProc(q)}`);
        }
        if (JSON.stringify(stateFiles(state)) !== JSON.stringify(before)) r.problems.push(`the refused 'pb resume' changed the state directory`);
      }
      const args = created ? ['resume', state] : ['run', CRASH_PB, '--tools', TOOLS, '--state', state];
      if (created) r.resumes++;
      // A holder that exits clears its note in run.lock; one that was killed leaves it (and no lock).
      if (created && existsSync(join(state, 'run.lock')) && readFileSync(join(state, 'run.lock'), 'utf8') !== '') r.staleLocks++;
      const recordsBefore = journalOf(state).records.length;
      const p = await pb(args, { env, killAfterMs: plan?.ms, killAnchor: plan?.anchored ? join(state, 'journal.pbj') : undefined });
      stdout += p.stdout;
      const when = plan ? ` kill@${plan.anchored ? 'journal+' : ''}${plan.ms.toFixed(0)}ms` : '';
      history.push(`${args[0]}${when}: ${p.killed ? 'killed' : `exit ${p.code}`} after ${p.ms.toFixed(0)} ms`);
      const after = journalOf(state);
      if (after.error) r.problems.push(`after '${args[0]}' (${p.killed ? 'killed' : `exit ${p.code}`}) the journal does not decode: ${after.error}`);
      else if (after.exists && after.records[0]?.t !== 'start') {
        r.problems.push(`after '${args[0]}' (${p.killed ? 'killed' : `exit ${p.code}`}) journal.pbj exists without a start record`);
      }
      const printed = checkPrinted(after.records.slice(recordsBefore), after.torn, p.killed, p.stdout);
      if (printed.problem) r.problems.push(`'pb ${args[0]}': ${printed.problem}`);
      r.lost.push(...printed.lost);
      if (printed.lost.length) history.push(`lost ${JSON.stringify(printed.lost)} (killed between journaling and printing)`);
      if (p.killed) {
        r.kills++;
        r.phases.push(phaseOf(state, recordsBefore));
        return;
      }
      if (p.hung) {
        r.problems.push(`'pb ${args[0]}' hung\n${describeProc(p)}`);
        finished = true;
        return;
      }
      if (p.code === EXIT_OK) {
        finished = true;
        return;
      }
      if (created && r.kills > 0 && p.code === EXIT_IO && /the run has already ended/.test(p.stderr) && p.stdout === '') {
        // The last kill came after the run had journaled its end (while the process was
        // exiting): the run is finished, and saying so is right.
        r.endedBeforeKill++;
        finished = true;
        return;
      }
      r.problems.push(`'pb ${args.join(' ')}' failed after ${r.kills} kill(s)\n${describeProc(p)}`);
      finished = true;
    };

    const planned = 1 + Math.floor(rng() * 3);
    for (let k = 0; k < planned && !finished; k++) await step(killPlan(rng, timing));
    for (let attempt = 0; attempt < 3 && !finished; attempt++) await step(undefined);
    if (!finished) r.problems.push('did not finish after 3 resumes without a kill');

    if (r.problems.length === 0) {
      // Every line is journaled exactly once, in order; every journaled line was printed once,
      // except those lost in the window checkPrinted allows (each checked there).
      const journaled = outTexts(journalOf(state).records);
      if (JSON.stringify(journaled) !== JSON.stringify(CRASH_LINES)) r.problems.push(`the journal's 'out' records are wrong:\n${journaled.join('\n')}`);
      const want = CRASH_LINES.filter((l) => !r.lost.includes(l));
      const got = lines(stdout);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        const missing = want.filter((l) => !got.includes(l));
        const dup = [...new Set(got.filter((l, i) => got.indexOf(l) !== i))];
        const extra = got.filter((l) => !want.includes(l));
        r.problems.push(`stdout is wrong: missing ${JSON.stringify(missing)}, duplicated ${JSON.stringify(dup)}, unexpected ${JSON.stringify(extra)}\n${stdout}`);
      }
      const toolLines = existsSync(out) ? lines(readFileSync(out, 'utf8')) : [];
      const indices = toolLines.map((l) => Number(l.split(' ')[1]));
      const ids = toolLines.map((l) => l.split(' ')[0]!);
      const expectedIdx = Array.from({ length: CRASH_N }, (_, i) => i);
      if (JSON.stringify([...indices].sort((a, b) => a - b)) !== JSON.stringify(expectedIdx) || new Set(ids).size !== ids.length) {
        r.problems.push(`tool file is wrong (want each of 0..${CRASH_N - 1} exactly once):\n${toolLines.join('\n')}`);
      }
      // Each kill interrupts at most one call, so at most that many calls may be issued twice.
      const callLines = existsSync(calls) ? lines(readFileSync(calls, 'utf8')) : [];
      r.reissued = callLines.length - new Set(callLines).size;
      if (r.reissued > r.kills) r.problems.push(`${r.reissued} tool calls were issued again, but there were only ${r.kills} kills:\n${callLines.join('\n')}`);
      const again = await pb(['resume', state], { env });
      if (again.code !== EXIT_IO || !/already ended/.test(again.stderr) || again.stdout !== '' || lines(again.stderr.trimEnd()).length !== 1) {
        r.problems.push(`'pb resume' of the finished run: want exit 4 and a one-line "already ended" error\n${describeProc(again)}`);
      }
    }
    if (r.problems.length) r.problems = r.problems.map((p) => `trial ${index}: ${p}\nhistory: ${history.join('; ')}; kills by phase: ${r.phases.join(', ')}`);
    if (process.env.DUR_VERBOSE) console.log(`trial ${index}: ${history.join('; ')}; phases: ${r.phases.join(', ')}`);
    r.ms = performance.now() - started;
    return r;
  }

  it(`loses and repeats nothing over ${TRIALS} random kill -9 trials`, { timeout: 240_000 }, async () => {
    const t0 = performance.now();
    // Calibrate: two uninterrupted runs side by side (as the trials run) give the time of
    // start-up and of a whole run, over which the kills are spread.
    const calibrate = async (k: number): Promise<Timing> => {
      const calDir = tmp(`crash-calibrate-${k}`);
      const state = join(calDir, 'state');
      let startup = 0;
      const t = performance.now();
      const poll = setInterval(() => {
        if (!startup && existsSync(join(state, 'journal.pbj'))) startup = performance.now() - t;
      }, 2);
      const cal = await pb(['run', CRASH_PB, '--tools', TOOLS, '--state', state], { env: { DUR_OUT: join(calDir, 'tool.txt'), DUR_SLEEP_MS: String(SLEEP_MS) } });
      clearInterval(poll);
      expect(cal.code, describeProc(cal)).toBe(EXIT_OK);
      expect(lines(cal.stdout)).toEqual(CRASH_LINES);
      expect(startup).toBeGreaterThan(0);
      return { startup, total: cal.ms };
    };
    const cals = await Promise.all([calibrate(0), calibrate(1)]);
    const timing: Timing = { startup: (cals[0]!.startup + cals[1]!.startup) / 2, total: (cals[0]!.total + cals[1]!.total) / 2 };

    const rng = prng(SEED);
    // Draw each trial's randomness up front so results do not depend on scheduling.
    const seeds = Array.from({ length: TRIALS }, () => Math.floor(rng() * 2 ** 32));
    const results: TrialResult[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < TRIALS) {
        const i = next++;
        results.push(await trial(i, prng(seeds[i]!), timing));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    results.sort((a, b) => a.trial - b.trial);

    const sum = (f: (t: TrialResult) => number) => results.reduce((s, t) => s + f(t), 0);
    const phases = new Map<Phase, number>();
    for (const t of results) for (const p of t.phases) phases.set(p, (phases.get(p) ?? 0) + 1);
    const problems = results.flatMap((t) => t.problems);
    console.log(
      `durability: ${TRIALS} trials (seed ${SEED}), ${sum((t) => t.kills)} kills, ${sum((t) => t.resumes)} resumes, ` +
        `${sum((t) => t.staleLocks)} stale locks taken over, ${sum((t) => t.reissued)} in-flight tool calls re-issued, ` +
        `${sum((t) => t.interruptedCreations)} creations cut short, ${sum((t) => t.lost.length)} lines lost between journaling and printing, ` +
        `${sum((t) => t.endedBeforeKill)} runs had ended just before their kill, ` +
        `${results.filter((t) => t.problems.length).length} failed trials; a run takes ${timing.total.toFixed(0)} ms (start-up ${timing.startup.toFixed(0)} ms); total ${((performance.now() - t0) / 1000).toFixed(1)} s\n` +
        `  kills by phase: ${[...phases].map(([p, n]) => `${p}: ${n}`).join(', ')}`,
    );
    expect(problems, problems.join('\n\n')).toEqual([]);
    expect(sum((t) => t.kills)).toBeGreaterThanOrEqual(TRIALS);
    // The kills really were spread: some in start-up, some inside tool calls.
    expect(phases.get('start-up') ?? 0).toBeGreaterThan(0);
    expect(phases.get('inside a tool call') ?? 0).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------
// A durable run of steps.pb stopped at its Ask by EOF: the base for the tests below.

interface StoppedRun {
  dir: string;
  state: string;
  out: string;
  calls: string;
  env: Record<string, string>;
  first: Proc;
}

/**
 * The first snapshot comes after the first effect, the next one 250 ms later at the earliest:
 * with fast calls and one slow call (i = 3), the run's last snapshot lands right after that
 * call, leaving several journal records before it and several iterations after it.
 */
async function stoppedRun(name: string): Promise<StoppedRun> {
  const dir = tmp(name);
  const state = join(dir, 'state');
  const out = join(dir, 'tool.txt');
  const calls = join(dir, 'calls.txt');
  const env = { DUR_OUT: out, DUR_CALLS: calls, DUR_SLEEP_MS: '2', DUR_SLOW_AT: '3', DUR_SLOW_MS: '300' };
  const first = await pb(['run', STEPS_PB, '--tools', TOOLS, '--state', state], { env, input: '' });
  return { dir, state, out, calls, env: { DUR_OUT: out, DUR_CALLS: calls, DUR_SLEEP_MS: '2' }, first };
}

/** A copy of a stopped run, with the tool's files copied too, so each test can damage its own. */
function copyRun(base: StoppedRun, name: string): StoppedRun {
  const dir = tmp(name);
  const state = join(dir, 'state');
  cpSync(base.state, state, { recursive: true });
  const out = join(dir, 'tool.txt');
  const calls = join(dir, 'calls.txt');
  cpSync(base.out, out);
  cpSync(base.calls, calls);
  return { dir, state, out, calls, env: { ...base.env, DUR_OUT: out, DUR_CALLS: calls }, first: base.first };
}

let base: StoppedRun;
/** The base run's files, the number of journal records its snapshot covers, record offsets. */
let snapBytes: Buffer;
let journalBytes: Buffer;
let snapRecords: number;
let bounds: number[];

beforeAll(async () => {
  base = await stoppedRun('base');
  expect(base.first.code, describeProc(base.first)).toBe(EXIT_RUNTIME);
  snapBytes = readFileSync(join(base.state, 'snapshot.pbs'));
  journalBytes = readFileSync(join(base.state, 'journal.pbj'));
  snapRecords = decodeSnapshot(snapBytes).journalRecords;
  bounds = recordBoundaries(journalBytes);
}, 60_000);

const snap = (s: string) => join(s, 'snapshot.pbs');
const jrnl = (s: string) => join(s, 'journal.pbj');
const prog = (s: string) => join(s, 'program.pbasm');

/** Keeps the first `n` lines of a file (the tool's files as they stood at a simulated crash). */
function keepLines(file: string, n: number): void {
  writeFileSync(file, lines(readFileSync(file, 'utf8')).slice(0, n).map((l) => `${l}\n`).join(''));
}

// ---------------------------------------------------------------------------------------
// 2. Damaged state directories

describe('corrupt state gives a clear error', () => {
  it('the base run stopped mid-way with a snapshot taken after several journal records', () => {
    // The cases below need records before the snapshot and whole iterations after it.
    expect(snapRecords).toBeGreaterThanOrEqual(6);
    const records = readRecords(base.state);
    const after = records.slice(snapRecords);
    expect(after.filter((r) => r.t === 'tool-done').length, 'iterations after the snapshot').toBeGreaterThanOrEqual(4);
    // Journal format 2: 12-byte record headers, and re-encoding the decoded records gives the
    // file back byte for byte, so the record boundaries used below are exact.
    expect(RECORD_HEADER).toBe(12);
    expect(Buffer.concat([journalBytes.subarray(0, JOURNAL_HEADER_SIZE), ...records.map(encodeRecord)]).equals(journalBytes)).toBe(true);
    expect(bounds).toHaveLength(records.length + 1);
    expect(bounds[bounds.length - 1]).toBe(journalBytes.length);
    // Output is journaled once per line, in 'out' records only (format 2 has no 'out-done').
    expect(new Set(records.map((r) => r.t))).toEqual(new Set(['start', 'tool-start', 'tool-done', 'out', 'end']));
    expect(outTexts(records)).toEqual([...STEPS_LINES, ASK_PROMPT]);
  });

  /** Applies `damage` to a fresh copy, then checks that resume and inspect both refuse clearly. */
  async function checkDamaged(name: string, damage: (state: string) => void, problem: RegExp): Promise<void> {
    const run = copyRun(base, name);
    damage(run.state);
    const before = stateFiles(run.state);
    const [resumed, inspected, inspectedJson] = await Promise.all([
      pb(['resume', run.state], { env: run.env, input: 'Ann\n' }),
      pb(['inspect', run.state], { env: run.env }),
      pb(['inspect', '--json', run.state], { env: run.env }),
    ]);
    expectStateError(resumed, run.state, problem, `${name}: pb resume`);
    expectStateError(inspected, run.state, problem, `${name}: pb inspect`);
    expectStateError(inspectedJson, run.state, problem, `${name}: pb inspect --json`);
    expect(stateFiles(run.state), `${name}: a refused resume must leave the state directory as it was`).toEqual(before);
    // The tool was not called again.
    expect(readFileSync(run.calls, 'utf8')).toBe(readFileSync(base.calls, 'utf8'));
  }

  it('snapshot.pbs truncated at several points', async () => {
    const cuts: Array<[string, number, RegExp]> = [
      ['empty', 0, /snapshot/],
      ['inside the magic number', 3, /snapshot/],
      ['inside the header', 20, /truncated snapshot/],
      ['after the header', HEADER_SIZE, /truncated snapshot/],
      ['mid-payload', Math.floor((HEADER_SIZE + snapBytes.length) / 2), /truncated snapshot/],
      ['one byte short', snapBytes.length - 1, /truncated snapshot/],
    ];
    for (const [what, len, problem] of cuts) await checkDamaged(`snap-cut-${len} (${what})`, (s) => truncateSync(snap(s), len), problem);
  });

  it('snapshot.pbs with a flipped bit in the header and in the payload', async () => {
    const payload = snapBytes.length - HEADER_SIZE;
    const flips: Array<[string, number, number, RegExp]> = [
      ['magic', 0, 1, /not a snapshot file/],
      // Version 2 -> 0: below the minimum-compatible version (1) the file states.
      ['format version, bit 1', 5, 1, /corrupted snapshot file: inconsistent version fields/],
      // Version 2 -> 258: consistent on its face; the checksum covers the header, so it is caught.
      ['format version, high bit', 4, 0, /corrupted snapshot file: checksum mismatch/],
      ['minimum-compatible version', 6, 7, /corrupted snapshot file: inconsistent version fields/],
      ['payload length', 9, 3, /(truncated|corrupted) snapshot file/],
      ['checksum', 20, 5, /snapshot.*checksum/],
      ['payload start', HEADER_SIZE, 2, /snapshot.*checksum/],
      ['payload middle', HEADER_SIZE + Math.floor(payload / 2), 4, /snapshot.*checksum/],
      ['payload end', snapBytes.length - 1, 7, /snapshot.*checksum/],
    ];
    for (const [what, byte, bit, problem] of flips) await checkDamaged(`snap-flip-${what.replace(/[ ,]+/g, '-')}`, (s) => flipBit(snap(s), byte, bit), problem);
    // Version 3 -> 7 and minimum-compatible version 3 -> 7, as a newer build would write them.
    await checkDamaged(
      'snap-too-new',
      (s) => {
        flipBit(snap(s), 5, 2);
        flipBit(snap(s), 7, 2);
      },
      /snapshot file is too new: it needs a reader of format version 7/,
    );
  });

  it('journal.pbj truncated inside its header', async () => {
    for (const len of [0, 2, 10, JOURNAL_HEADER_SIZE - 1]) await checkDamaged(`journal-header-${len}`, (s) => truncateSync(jrnl(s), len), /journal/);
  });

  it('journal.pbj with a damaged header, or written in the old format 1', async () => {
    await checkDamaged('journal-header-flip', (s) => flipBit(jrnl(s), 5, 0), /corrupted journal: header checksum mismatch/);
    // A format-1 journal (8-byte record headers) from an older build: refused, not misread.
    await checkDamaged(
      'journal-format-1',
      (s) => {
        const b = readFileSync(jrnl(s));
        b.writeUInt16BE(1, 4);
        b.writeUInt16BE(1, 6);
        b.writeUInt32BE(crc32(b.subarray(0, 12)), 12);
        writeFileSync(jrnl(s), b);
      },
      /journal is too old: format version 1/,
    );
  });

  it('journal.pbj truncated at a record boundary before the snapshot', async () => {
    // Only the header left (only damage can leave that: a run's journal is created with its
    // start record), and a cut a few records short of what the snapshot saw.
    await checkDamaged('journal-header-only', (s) => truncateSync(jrnl(s), JOURNAL_HEADER_SIZE), /^journal has no start record/);
    const keep = snapRecords - 3;
    await checkDamaged('journal-before-snapshot', (s) => truncateSync(jrnl(s), bounds[keep]!), new RegExp(`truncated journal: it has ${keep} records, the snapshot was taken after ${snapRecords}`));
  });

  /** The error for damage to record `idx` (0-based) of the base journal. */
  const recordError = (idx: number, what: string): RegExp => new RegExp(`^corrupted journal: record ${idx + 1} \\(byte ${bounds[idx]!}\\) ${what}`);

  it('journal.pbj with a flipped bit inside a record in the middle', async () => {
    const mid = Math.floor((bounds.length - 1) / 2);
    const start = bounds[mid]!;
    const end = bounds[mid + 1]!;
    expect(mid).toBeLessThan(bounds.length - 2);
    await checkDamaged('journal-flip-payload', (s) => flipBit(jrnl(s), Math.floor((start + RECORD_HEADER + end) / 2), 3), recordError(mid, 'fails its checksum'));
    await checkDamaged('journal-flip-payload-crc', (s) => flipBit(jrnl(s), start + PAYLOAD_CRC_AT + 1, 0), recordError(mid, 'fails its checksum'));
    await checkDamaged('journal-flip-length-crc', (s) => flipBit(jrnl(s), start + LENGTH_CRC_AT + 1, 0), recordError(mid, 'has a damaged length'));
    // A length a little shorter (still inside the file) and one far past the end of the file:
    // the length's own checksum catches both.
    await checkDamaged('journal-flip-length-low', (s) => flipBit(jrnl(s), start + 3, 1), recordError(mid, 'has a damaged length'));
    // In a record the snapshot covers, the damage is named, not taken for a journal shorter
    // than the snapshot says.
    const early = Math.floor(snapRecords / 2);
    await checkDamaged('journal-flip-length', (s) => flipBit(jrnl(s), bounds[early]!, 7), recordError(early, 'has a damaged length'));
  });

  it('journal.pbj with a flipped bit in a record after the snapshot', async () => {
    const idx = snapRecords + 2;
    const start = bounds[idx]!;
    expect(bounds[idx + 1]! - start).toBeGreaterThan(RECORD_HEADER + 2);
    await checkDamaged('journal-flip-late', (s) => flipBit(jrnl(s), start + RECORD_HEADER + 2, 1), recordError(idx, 'fails its checksum'));
  });

  it('journal.pbj with a length field after the snapshot pointing past the end is damage, not a torn write', async () => {
    // Records after the damaged one are intact (here: 10 more of them). Treating this as a torn
    // final record would cut them off the journal for good, and the resume would then print
    // their lines again and re-issue their tool calls.
    const idx = snapRecords + 2;
    expect(bounds.length - 1 - idx).toBeGreaterThanOrEqual(5);
    await checkDamaged('journal-flip-length-late', (s) => flipBit(jrnl(s), bounds[idx]!, 7), recordError(idx, 'has a damaged length'));
    // Even in the final record: a complete record whose length fails its checksum is damage.
    const last = bounds.length - 2;
    await checkDamaged('journal-flip-length-last', (s) => flipBit(jrnl(s), bounds[last]!, 7), recordError(last, 'has a damaged length'));
  });

  it('snapshot.pbs deleted: the journal alone still resumes the run, without repeating anything', async () => {
    // Since runs start without a snapshot, a missing snapshot.pbs is a state the run can be in;
    // the journal holds every effect, so the resume replays it from the start.
    const run = copyRun(base, 'no-snapshot');
    unlinkSync(snap(run.state));
    const insp = await pb(['inspect', '--json', run.state]);
    expect(insp.code, describeProc(insp)).toBe(EXIT_OK);
    expect(JSON.parse(insp.stdout)).toMatchObject({ status: 'failed', state: { Steps: { $count: STEPS_N } } });
    const p = await pb(['resume', run.state], { env: run.env, input: 'Ann\n' });
    expect(p.code, describeProc(p)).toBe(EXIT_OK);
    expect(lines(p.stdout)).toEqual([HELLO]);
    expect(readFileSync(run.calls, 'utf8'), 'no tool call may be repeated').toBe(readFileSync(base.calls, 'utf8'));
  });

  it('journal.pbj deleted', async () => {
    await checkDamaged('no-journal', (s) => unlinkSync(jrnl(s)), /journal\.pbj/);
  });

  it('program.pbasm deleted', async () => {
    await checkDamaged('no-program', (s) => unlinkSync(prog(s)), /program\.pbasm/);
  });

  it('program.pbasm corrupted or truncated', async () => {
    const size = readFileSync(prog(base.state)).length;
    await checkDamaged('program-flip', (s) => flipBit(prog(s), Math.floor((HEADER_SIZE + size) / 2), 6), /PBAsm.*checksum/);
    await checkDamaged('program-magic', (s) => flipBit(prog(s), 1, 0), /not a PBAsm file/);
    await checkDamaged('program-cut', (s) => truncateSync(prog(s), size - 10), /truncated PBAsm/);
  });

  it('program.pbasm replaced by another program', async () => {
    const other = tmp('other');
    const p = await pb(['run', OTHER_PB, '--state', join(other, 'state')]);
    expect(p.code, describeProc(p)).toBe(EXIT_OK);
    await checkDamaged('program-swapped', (s) => cpSync(join(other, 'state', 'program.pbasm'), prog(s)), /not the program this run started with|different program/);
  });

  it('an empty directory and a directory that does not exist', async () => {
    const empty = tmp('empty');
    for (const args of [['resume', empty], ['inspect', empty], ['inspect', '--json', empty]]) {
      expectStateError(await pb(args, { input: 'Ann\n' }), empty, /not a pbvm state directory/, `pb ${args.join(' ')}`);
    }
    expect(readdirSync(empty), 'a refused resume must not leave files in an empty directory').toEqual([]);
    const missing = join(ROOT, 'does-not-exist', 'state');
    for (const args of [['resume', missing], ['inspect', missing], ['inspect', '--json', missing]]) {
      expectStateError(await pb(args, { input: 'Ann\n' }), missing, /not a pbvm state directory/, `pb ${args.join(' ')}`);
    }
    expect(existsSync(missing), 'a refused resume must not create the directory').toBe(false);
  });

});

// ---------------------------------------------------------------------------------------
// Crash moments too short to hit with a random kill, recreated by cutting the journal where
// the crash would have left it.

describe('crash moments recreated from the journal', () => {
  it('a torn final journal record is dropped with a warning and the run continues', async () => {
    // The last record (the "end" of the stopped run) cut short, as a crash mid-write leaves it:
    // inside its 12-byte record header, and inside its payload.
    const last = bounds[bounds.length - 2]!;
    expect(bounds[bounds.length - 1]! - last).toBeGreaterThan(RECORD_HEADER + 3);
    for (const [what, cut] of [
      ['header', last + 5],
      ['payload', last + RECORD_HEADER + 3],
    ] as const) {
      const run = copyRun(base, `torn-end-${what}`);
      truncateSync(jrnl(run.state), cut);
      const p = await pb(['resume', run.state], { env: run.env, input: 'Ann\n' });
      expect(p.code, `${what}: ${describeProc(p)}`).toBe(EXIT_OK);
      expect(p.stderr).toMatch(/warning: .*incomplete final journal record/);
      expect(p.stderr).not.toMatch(/\n\s+at /);
      expect(lines(p.stdout)).toEqual([HELLO]);
      expect(readFileSync(run.calls, 'utf8'), 'no tool call may be repeated').toBe(readFileSync(base.calls, 'utf8'));
      // The torn bytes were cut off: the journal decodes whole again.
      const j = decodeJournal(readFileSync(jrnl(run.state)));
      expect(j.tornTail).toBe(false);
      expect(j.records.slice(0, bounds.length - 2)).toEqual(readRecords(base.state).slice(0, -1));
    }
  });

  it('a torn tool-done record: the call is re-issued with the same call id and has no second effect', async () => {
    // Cut inside the tool-done record of an iteration after the snapshot: the crash hit just
    // after the tool returned. Everything said before that iteration had been printed.
    const run = copyRun(base, 'torn-tool');
    const records = readRecords(base.state);
    const doneIdx = records.findIndex((rec, i) => i >= snapRecords && rec.t === 'tool-done');
    expect(doneIdx).toBeGreaterThan(0);
    const started = records[doneIdx - 1] as Extract<JournalRecord, { t: 'tool-start' }>;
    expect(started.t).toBe('tool-start');
    const iter = started.args[0] as number;
    expect(bounds[doneIdx + 1]! - bounds[doneIdx]!).toBeGreaterThan(RECORD_HEADER + 2);
    truncateSync(jrnl(run.state), bounds[doneIdx]! + RECORD_HEADER + 2);
    // The tool's files as the crash left them: calls up to this one happened, and had their effect.
    keepLines(run.out, iter + 1);
    keepLines(run.calls, iter + 1);
    const toolBefore = readFileSync(run.out, 'utf8');
    expect(toolBefore).toContain(`${started.callId} ${iter}\n`);

    const p = await pb(['resume', run.state], { env: run.env, input: 'Ann\n' });
    expect(p.code, describeProc(p)).toBe(EXIT_OK);
    expect(p.stderr).toMatch(/warning: .*incomplete final journal record/);
    expect(lines(p.stdout)).toEqual([...STEPS_LINES.slice(iter), ASK_PROMPT, HELLO]);
    const toolLines = lines(readFileSync(run.out, 'utf8'));
    expect(toolLines.slice(0, iter + 1).join('\n'), 'the re-issued call deduplicated itself').toBe(toolBefore.trimEnd());
    expect(toolLines.map((l) => l.split(' ')[1])).toEqual(Array.from({ length: STEPS_N }, (_, i) => String(i)));
    const callLines = lines(readFileSync(run.calls, 'utf8'));
    expect(callLines.filter((l) => l === `${started.callId} ${iter}`), 'the interrupted call was re-issued with the same call id').toHaveLength(2);
    expect(callLines.length, 'only the interrupted call was issued again').toBe(STEPS_N + 1);
  });

  it('a kill between journaling lines and printing them: the resume does not print them again', async () => {
    // flush() appends the 'out' record, then writes its lines. A journal that ends right after
    // an 'out' record is what a kill between those two system calls leaves (or one just after
    // the write: the resume cannot tell). Output is at-most-once: journaled lines count as
    // printed, so the resume goes on from the next line, and nothing is repeated.
    const records = readRecords(base.state);
    const cuts = records.flatMap((rec, i) => (i >= snapRecords && rec.t === 'out' && records[i + 1]?.t === 'tool-start' ? [i] : []));
    expect(cuts.length, "'out' records after the snapshot, each followed by the next iteration").toBeGreaterThanOrEqual(3);
    // The first 'out' record after the snapshot (replayed from it), and the last step's.
    const lastStep = records.findIndex((rec) => rec.t === 'out' && rec.lines.some(([, text]) => text === STEPS_LINES[STEPS_N - 1]));
    expect(lastStep).toBeGreaterThan(cuts[cuts.length - 1]!);
    for (const k of [cuts[0]!, lastStep]) {
      const run = copyRun(base, `out-cut-${k}`);
      const outRec = records[k] as Extract<JournalRecord, { t: 'out' }>;
      const texts = outRec.lines.map(([, text]) => text);
      const firstLine = STEPS_LINES.indexOf(texts[0]!);
      expect(firstLine).toBeGreaterThanOrEqual(0);
      const printed = firstLine + texts.length;
      expect(texts).toEqual(STEPS_LINES.slice(firstLine, printed));
      truncateSync(jrnl(run.state), bounds[k + 1]!);
      // The tool's files as they stood: each said line follows its iteration's call.
      keepLines(run.out, printed);
      keepLines(run.calls, printed);
      const p = await pb(['resume', run.state], { env: run.env, input: 'Ann\n' });
      expect(p.code, `cut after record ${k}: ${describeProc(p)}`).toBe(EXIT_OK);
      expect(p.stderr, 'a journal ending in a whole record is not torn').not.toMatch(/warning/);
      expect(lines(p.stdout), 'the journaled lines are not printed again').toEqual([...STEPS_LINES.slice(printed), ASK_PROMPT, HELLO]);
      expect(lines(readFileSync(run.calls, 'utf8')), 'no tool call is repeated').toEqual(lines(readFileSync(run.out, 'utf8')));
      expect(lines(readFileSync(run.out, 'utf8'))).toHaveLength(STEPS_N);
      // Each line is in the journal exactly once, the lines cut off included.
      expect(outTexts(readRecords(run.state))).toEqual([...STEPS_LINES, ASK_PROMPT, HELLO]);
    }
  });

  it('a kill while the state directory is being created leaves no run, and pb run starts one', async () => {
    // `pb run --state` writes program.pbasm, then journal.pbj with its header and start record
    // in one atomic write; a run exists iff journal.pbj does. A kill before the journal lands
    // leaves program.pbasm (and possibly a stale snapshot from an earlier attempt): that is
    // not a run to resume, and `pb run` starts the run normally in the same directory.
    const cases: Array<[string, (state: string) => void]> = [
      ['program.pbasm only', (st) => {
        unlinkSync(snap(st));
        unlinkSync(jrnl(st));
      }],
      ['program.pbasm and a stale snapshot', (st) => unlinkSync(jrnl(st))],
    ];
    for (const [what, damage] of cases) {
      const dir = tmp('creating');
      const state = join(dir, 'state');
      cpSync(base.state, state, { recursive: true });
      damage(state);
      const env = { DUR_OUT: join(dir, 'tool.txt'), DUR_CALLS: join(dir, 'calls.txt'), DUR_SLEEP_MS: '0' };
      const before = stateFiles(state);
      for (const args of [['resume', state], ['inspect', state], ['inspect', '--json', state]]) {
        const p = await pb(args, { env, input: 'Ann\n' });
        expectStateError(p, state, /^not a pbvm state directory \(no journal\.pbj\)$/, `${what}: pb ${args[0]}`);
      }
      expect(stateFiles(state), `${what}: the refused commands changed nothing`).toEqual(before);
      expect(existsSync(env.DUR_CALLS), `${what}: no tool was called`).toBe(false);

      const run = await pb(['run', STEPS_PB, '--tools', TOOLS, '--state', state], { env, input: 'Ann\n' });
      expect(run.code, `${what}: pb run\n${describeProc(run)}`).toBe(EXIT_OK);
      expect(lines(run.stdout), what).toEqual([...STEPS_LINES, ASK_PROMPT, HELLO]);
      expect(lines(readFileSync(env.DUR_CALLS, 'utf8')), `${what}: every call made once`).toHaveLength(STEPS_N);
      // A new run, wholly journaled, in place of the leftovers.
      const records = readRecords(state);
      expect(records[0]).toMatchObject({ t: 'start' });
      expect((records[0] as Extract<JournalRecord, { t: 'start' }>).runId).not.toBe((readRecords(base.state)[0] as Extract<JournalRecord, { t: 'start' }>).runId);
      expect(records[records.length - 1]).toMatchObject({ t: 'end', status: 'halted', final: true });
      expect(outTexts(records)).toEqual([...STEPS_LINES, ASK_PROMPT, HELLO]);
      const again = await pb(['resume', state], { env });
      expectStateError(again, state, /^the run has already ended \(halted/, `${what}: resume after the run`);
    }
  });

  it('a journal with a header and no records is damage: resume refuses it and pb run will not overwrite it', async () => {
    // A crash cannot leave this (the journal is created with its start record); only damage
    // can. The run's record is gone, so neither command may act on it.
    const run = copyRun(base, 'header-only');
    truncateSync(jrnl(run.state), JOURNAL_HEADER_SIZE);
    const before = stateFiles(run.state);
    const resumed = await pb(['resume', run.state], { env: run.env, input: 'Ann\n' });
    expectStateError(resumed, run.state, /^journal has no start record/, 'pb resume');
    const p = await pb(['run', STEPS_PB, '--tools', TOOLS, '--state', run.state], { env: run.env, input: 'Ann\n' });
    const ctx = describeProc(p);
    expect(p.code, ctx).toBe(EXIT_IO);
    expect(p.stdout, ctx).toBe('');
    const errors = lines(p.stderr).filter((l) => /\berror\b/.test(l));
    expect(errors, ctx).toHaveLength(1);
    // resume refuses it, so the way out is not resume.
    expectStateErrorLine(errors[0]!, run.state, new RegExp(`^already holds a damaged run \\(its journal has no start record\\); remove it \\(rm -r ${escapeRe(run.state)}\\) or choose another --state directory$`), ctx, 1);
    expect(stateFiles(run.state), 'the refused commands changed nothing').toEqual(before);
    expect(readFileSync(run.calls, 'utf8'), 'no tool was called').toBe(readFileSync(base.calls, 'utf8'));
  });
});

// ---------------------------------------------------------------------------------------
// 3. Behaviour of stopped, failed and finished runs

describe('stopped, failed and finished runs', () => {
  it('EOF during Ask keeps the state and exits 3; resume with input prints only what is new', async () => {
    const run = copyRun(base, 'eof');
    const first = base.first;
    expect(first.code, describeProc(first)).toBe(EXIT_RUNTIME);
    expect(lines(first.stdout)).toEqual([...STEPS_LINES, ASK_PROMPT]);
    expect(first.stderr).toMatch(/error: end of input while asking for \$name/);
    expect(first.stderr).toContain(`pb resume ${base.state}`);
    expect(first.stderr).not.toMatch(/\n\s+at /);
    for (const f of ['program.pbasm', 'journal.pbj', 'snapshot.pbs']) expect(existsSync(join(base.state, f)), f).toBe(true);
    expect(readFileSync(join(base.state, 'run.lock'), 'utf8'), 'the lock is released: run.lock stays, naming no holder').toBe('');

    // Resuming at EOF again stops the same way, prints nothing again, and keeps the state.
    const eofAgain = await pb(['resume', run.state], { env: run.env, input: '' });
    expect(eofAgain.code, describeProc(eofAgain)).toBe(EXIT_RUNTIME);
    expect(eofAgain.stdout).toBe('');
    expect(eofAgain.stderr).toMatch(/end of input while asking for \$name/);

    const p = await pb(['resume', run.state], { env: run.env, input: 'Ann\n' });
    expect(p.code, describeProc(p)).toBe(EXIT_OK);
    expect(lines(p.stdout)).toEqual([HELLO]);
    const toolLines = lines(readFileSync(run.out, 'utf8'));
    expect(toolLines.map((l) => l.split(' ')[1])).toEqual(Array.from({ length: STEPS_N }, (_, i) => String(i)));
    expect(lines(readFileSync(run.calls, 'utf8')), 'no completed tool call is repeated').toEqual(toolLines);
  });

  it('inspect shows the call stack with step ids, variables and the last effects', async () => {
    const text = await pb(['inspect', base.state]);
    expect(text.code, describeProc(text)).toBe(EXIT_OK);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/^run [0-9a-f]+ in .*: failed \(end of input while asking for \$name\)/);
    expect(text.stdout).toContain('call stack (innermost last):');
    expect(text.stdout).toContain('variables:');
    expect(text.stdout).toMatch(/last \d+ journal records:/);
    expect(text.stdout).toMatch(/"t":"tool-start".*"callId":"[0-9a-f]+:\d+"/);

    const json = await pb(['inspect', '--json', '-n', '5', base.state]);
    expect(json.code, describeProc(json)).toBe(EXIT_OK);
    const r = JSON.parse(json.stdout) as RunReport;
    expect(r.dir).toBe(base.state);
    expect(r.runId).toMatch(/^[0-9a-f]{6,}$/);
    expect(r.status).toBe('failed');
    expect(r.ended).toMatchObject({ status: 'failed', final: false, message: 'end of input while asking for $name' });
    expect(Number.isNaN(Date.parse(r.snapshotAt))).toBe(false);
    expect(r.steps).toBeGreaterThan(0);
    expect(r.lastEffects).toHaveLength(5);
    expect(r.lastEffects[r.lastEffects.length - 1]).toMatchObject({ t: 'end', status: 'failed', final: false });
    const toolStarts = readRecords(base.state).filter((x): x is Extract<JournalRecord, { t: 'tool-start' }> => x.t === 'tool-start');
    expect(toolStarts).toHaveLength(STEPS_N);
    for (const ts of toolStarts) expect(ts.callId).toBe(`${r.runId}:${ts.seq}`);
    expect(r.stack).toHaveLength(1);
    expect(r.stack[0]).toMatchObject({ agent: 'Steps', playbook: 'Main' });
    expect(r.stack[0]!.file).toMatch(/steps\.pb$/);
    expect(r.stack[0]!.step).toMatch(/^\d\d(\.\d\d)*$/);
    // Where the run stands: stopped at the Ask (step 03) after all 12 iterations, as the
    // run's own error message says, not where the last snapshot happened to be taken.
    const askLine = readFileSync(STEPS_PB, 'utf8').split('\n').findIndex((l) => l.startsWith('- Ask user')) + 1;
    expect(base.first.stderr).toContain(`in Steps.Main step 03 (${STEPS_PB}:${askLine})`);
    expect(r.stack[0], 'inspect shows where the run stopped').toMatchObject({ step: '03', line: askLine });
    expect(r.state.Steps, 'inspect shows the current variables').toMatchObject({ $count: STEPS_N });
    expect(text.stdout).toContain(`Steps.Main  step 03  (${STEPS_PB}:${askLine})`);
    expect(text.stdout).toContain(`Steps $count = ${STEPS_N}`);
  });

  it('a failing tool exits 3, stays resumable, and resume re-issues the same call id', async () => {
    const dir = tmp('flaky');
    const state = join(dir, 'state');
    const calls = join(dir, 'calls.txt');
    const p1 = await pb(['run', FLAKY_PB, '--tools', FLAKY_TOOLS, '--state', state], { env: { DUR_CALLS: calls, DUR_FAIL_AT: '3' } });
    expect(p1.code, describeProc(p1)).toBe(EXIT_RUNTIME);
    expect(lines(p1.stdout)).toEqual(['flaky 0 ok0', 'flaky 1 ok1', 'flaky 2 ok2']);
    const m = /tool 'Flaky' failed \(call ([0-9a-f]+:\d+)\): flaky failure at 3/.exec(p1.stderr);
    expect(m, describeProc(p1)).not.toBeNull();
    const failedId = m![1]!;
    expect(p1.stderr).toContain(`pb resume ${state}`);
    expect(p1.stderr).not.toMatch(/\n\s+at /);

    const insp = JSON.parse((await pb(['inspect', '--json', state])).stdout) as { status: string; ended: { final: boolean; message: string }; lastEffects: JournalRecord[] };
    expect(insp.status).toBe('failed');
    expect(insp.ended.final).toBe(false);
    expect(insp.ended.message).toContain(failedId);
    expect(insp.lastEffects.some((e) => e.t === 'tool-start' && e.callId === failedId)).toBe(true);

    // Still failing: exit 3 again, same call id, nothing printed again.
    const p2 = await pb(['resume', state], { env: { DUR_CALLS: calls, DUR_FAIL_AT: '3' } });
    expect(p2.code, describeProc(p2)).toBe(EXIT_RUNTIME);
    expect(p2.stdout).toBe('');
    expect(p2.stderr).toContain(`(call ${failedId})`);

    // The cause is fixed: the resume finishes.
    const p3 = await pb(['resume', state], { env: { DUR_CALLS: calls } });
    expect(p3.code, describeProc(p3)).toBe(EXIT_OK);
    expect(lines(p3.stdout)).toEqual(['flaky 3 ok3', 'flaky 4 ok4', 'flaky 5 ok5', 'flaky done']);

    const log = lines(readFileSync(calls, 'utf8')).map((l) => l.split(' '));
    // this.callId and toolCall().callId agree on every call.
    for (const [viaThis, , viaHelper] of log) expect(viaHelper).toBe(viaThis);
    const ids = log.map(([id, i]) => `${id} ${i}`);
    expect(ids.filter((x) => x === `${failedId} 3`), 'the failed call is re-issued with the same call id').toHaveLength(3);
    expect(new Set(ids).size, 'every other call is made once').toBe(6);
    expect(ids).toHaveLength(8);

    const again = await pb(['resume', state], { env: { DUR_CALLS: calls } });
    expectStateError(again, state, /the run has already ended/, 'resume after the end');
  });

  it('a finished run cannot be resumed, twice over, and nothing changes', async () => {
    const dir = tmp('finished');
    const state = join(dir, 'state');
    const input = join(dir, 'input.txt');
    writeFileSync(input, 'Ann\n');
    const env = { DUR_OUT: join(dir, 'tool.txt'), DUR_CALLS: join(dir, 'calls.txt'), DUR_SLEEP_MS: '0' };
    const p = await pb(['run', STEPS_PB, '--tools', TOOLS, '--state', state, '--input', input], { env });
    expect(p.code, describeProc(p)).toBe(EXIT_OK);
    expect(lines(p.stdout)).toEqual([...STEPS_LINES, ASK_PROMPT, HELLO]);
    const before = stateFiles(state);
    for (let k = 0; k < 2; k++) {
      const r = await pb(['resume', state], { env, input: 'Bob\n' });
      expectStateError(r, state, /the run has already ended \(halted/, `resume #${k + 1} of a finished run`);
      expect(stateFiles(state)).toEqual(before);
    }
    expect(lines(readFileSync(env.DUR_CALLS, 'utf8'))).toHaveLength(STEPS_N);
    const insp = JSON.parse((await pb(['inspect', '--json', state])).stdout) as { status: string; ended: { final: boolean; status: string } };
    expect(insp.status).toBe('halted');
    expect(insp.ended).toMatchObject({ status: 'halted', final: true });
  });

  it('pb run --state into a directory that already holds a run is refused with exit 4', async () => {
    // A stopped run and a finished one: neither may be overwritten or touched.
    const stopped = copyRun(base, 'rerun-stopped');
    const finishedDir = tmp('rerun-finished');
    const finished = join(finishedDir, 'state');
    const done = await pb(['run', OTHER_PB, '--state', finished]);
    expect(done.code, describeProc(done)).toBe(EXIT_OK);
    for (const [state, env, problem] of [
      [stopped.state, stopped.env, (d: string) => `^already holds a run that has not ended; continue it with 'pb resume ${escapeRe(d)}', or remove the directory or choose another --state directory$`],
      // A finished run cannot be resumed: the way out is another directory.
      [finished, stopped.env, (d: string) => `^already holds a run that has ended \\(finished at [^)]+\\); remove it \\(rm -r ${escapeRe(d)}\\) or choose another --state directory$`],
    ] as const) {
      const before = stateFiles(state);
      const callsBefore = readFileSync(stopped.calls, 'utf8');
      const p = await pb(['run', STEPS_PB, '--tools', TOOLS, '--state', state], { env, input: 'Ann\n' });
      const ctx = describeProc(p);
      expect(p.code, ctx).toBe(EXIT_IO);
      expect(p.stdout, ctx).toBe('');
      // stderr may also carry the compiler's warnings about steps.pb; the error is one line,
      // naming the directory once as its prefix and once in the hint.
      const errors = lines(p.stderr).filter((l) => /\berror\b/.test(l));
      expect(errors, ctx).toHaveLength(1);
      expectStateErrorLine(
        errors[0]!,
        state,
        new RegExp(problem(state)),
        ctx,
        1,
      );
      expect(p.stderr, ctx).not.toMatch(/\n\s+at /);
      expect(stateFiles(state)).toEqual(before);
      expect(readFileSync(stopped.calls, 'utf8'), 'no tool was called').toBe(callsBefore);
    }
  });

  it('a run that another live process holds is refused with exit 4', async () => {
    const dir = tmp('locked');
    const state = join(dir, 'state');
    const env = { DUR_OUT: join(dir, 'tool.txt'), DUR_CALLS: join(dir, 'calls.txt'), DUR_SLEEP_MS: '60' };
    const running = pb(['run', CRASH_PB, '--tools', TOOLS, '--state', state], { env });
    // Wait until the run is under way (its first tool call has happened).
    const t0 = performance.now();
    while (!existsSync(env.DUR_CALLS) && performance.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(env.DUR_CALLS)).toBe(true);
    const second = await pb(['resume', state], { env });
    expectStateError(second, state, /in use by process \d+/, 'resume while the run is live');
    const third = await pb(['inspect', state]);
    expect(third.code, `inspect works on a live run\n${describeProc(third)}`).toBe(EXIT_OK);
    const first = await running;
    expect(first.code, describeProc(first)).toBe(EXIT_OK);
    expect(lines(first.stdout)).toEqual(CRASH_LINES);
    expect(lines(readFileSync(env.DUR_CALLS, 'utf8'))).toHaveLength(CRASH_N);
  });

  it('a lock left by a killed process is taken over by resume', async () => {
    const dir = tmp('stale-lock');
    const state = join(dir, 'state');
    const env = { DUR_OUT: join(dir, 'tool.txt'), DUR_CALLS: join(dir, 'calls.txt'), DUR_SLEEP_MS: '40' };
    const running = pb(['run', CRASH_PB, '--tools', TOOLS, '--state', state], { env });
    const t0 = performance.now();
    while ((!existsSync(env.DUR_CALLS) || lines(readFileSync(env.DUR_CALLS, 'utf8')).length < 5) && performance.now() - t0 < 20_000) {
      await new Promise((r) => setTimeout(r, 10));
    }
    // Kill it ourselves (pb() only kills on a timer): find the pid from the lock file.
    const pid = Number(readFileSync(join(state, 'run.lock'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const killed = await running;
    expect(killed.signal).toBe('SIGKILL');
    expect(readFileSync(join(state, 'run.lock'), 'utf8'), 'kill -9 leaves the holder\'s note behind (the kernel drops the lock itself)').toBe(`${pid}\n`);
    // What the killed process printed is what it journaled, but for the documented window
    // (a kill between journaling its last line and printing it), which loses that line.
    const j = decodeJournal(readFileSync(jrnl(state)));
    const printed = checkPrinted(j.records, j.tornTail, true, killed.stdout);
    expect(printed.problem).toBeUndefined();
    // inspect reads the crashed run without its lock: it waits on the next call of Record.
    const insp = await pb(['inspect', '--json', state]);
    expect(insp.code, describeProc(insp)).toBe(EXIT_OK);
    const report = JSON.parse(insp.stdout) as { status: string; waitingOn: string | null; stack: Array<{ playbook: string; step: string }>; locals: Record<string, unknown> };
    expect(report.status).toBe('incomplete');
    expect(report.waitingOn).toMatch(/^tool Record \(call [0-9a-f]+:\d+\) at step 01\.01$/);
    expect(report.stack).toMatchObject([{ playbook: 'Main', step: '01.01' }]);
    expect(report.locals.i).toBeGreaterThanOrEqual(4);
    const p = await pb(['resume', state], { env });
    expect(p.code, describeProc(p)).toBe(EXIT_OK);
    expect([...lines(killed.stdout), ...lines(p.stdout)]).toEqual(CRASH_LINES.filter((l) => !printed.lost.includes(l)));
    expect(outTexts(readRecords(state)), 'every line journaled once').toEqual(CRASH_LINES);
    expect(readFileSync(join(state, 'run.lock'), 'utf8'), 'the resume released the lock').toBe('');
    const toolLines = lines(readFileSync(env.DUR_OUT, 'utf8'));
    expect(toolLines.map((l) => Number(l.split(' ')[1]))).toEqual(Array.from({ length: CRASH_N }, (_, i) => i));
  });
});

