// A snapshot belongs to one run: a snapshot of another run of the same program (same
// program.pbasm, same journal length) is refused, not resumed with the other run's state.
// Snapshot format 2 names its run; a format-1 snapshot (older builds) is still read, its run
// being the one its machine state names.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeRun, REPO, runCli, tempRoot, type CliRun } from './support/cli.js';
import { decodeJournal, type JournalRecord } from '../vm/durable/journal.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../vm/durable/snapshot.js';
import { decodeEnvelope, encodeEnvelope } from '../vm/pbasm/envelope.js';

const FIX = join(REPO, 'test/fixtures/durability');
const FLAKY_PB = join(FIX, 'flaky.pb');
const FLAKY_TOOLS = join(FIX, 'flaky-tools.mjs');

const tmp = tempRoot('pbvm-binding-');

interface Stopped {
  state: string;
  calls: string;
  runId: string;
}

/** A run of flaky.pb stopped by its failing call at i = 3, with a snapshot taken on the way. */
async function stopped(name: string): Promise<Stopped> {
  const dir = tmp(name);
  const state = join(dir, 'state');
  const calls = join(dir, 'calls.txt');
  // A snapshot at every safe point: both runs then hold a snapshot taken at the same point,
  // whatever the timing (the default policy snapshots by the clock).
  const env = { DUR_CALLS: calls, DUR_FAIL_AT: '3', PB_SNAPSHOT_EVERY_SAFE_POINT: '1' };
  const p = await runCli(['run', FLAKY_PB, '--tools', FLAKY_TOOLS, '--state', state], { env });
  expect(p.code, describeRun(p)).toBe(3);
  const start = decodeJournal(readFileSync(join(state, 'journal.pbj'))).records[0] as Extract<JournalRecord, { t: 'start' }>;
  return { state, calls, runId: start.runId };
}

function copy(run: Stopped, name: string): Stopped {
  const dir = tmp(name);
  const state = join(dir, 'state');
  const calls = join(dir, 'calls.txt');
  cpSync(run.state, state, { recursive: true });
  cpSync(run.calls, calls);
  return { ...run, state, calls };
}

const resume = (run: Stopped): Promise<CliRun> => runCli(['resume', run.state], { env: { DUR_CALLS: run.calls } });

let a: Stopped;
let b: Stopped;
beforeAll(async () => {
  [a, b] = await Promise.all([stopped('a'), stopped('b')]);
  expect(a.runId).not.toBe(b.runId);
  // Same program, same history: only the run differs.
  expect(readFileSync(join(a.state, 'program.pbasm'))).toEqual(readFileSync(join(b.state, 'program.pbasm')));
  expect(decodeSnapshot(readFileSync(join(a.state, 'snapshot.pbs'))).journalRecords).toBe(decodeSnapshot(readFileSync(join(b.state, 'snapshot.pbs'))).journalRecords);
}, 60_000);

describe('a snapshot is bound to its run', () => {
  it('a snapshot of another run of the same program is refused by resume and inspect, changing nothing', async () => {
    const run = copy(a, 'swapped');
    cpSync(join(b.state, 'snapshot.pbs'), join(run.state, 'snapshot.pbs'));
    const want = `${run.state}: error: snapshot.pbs belongs to run ${b.runId}, not to this run (${a.runId}, as journal.pbj says)`;
    const before = readFileSync(join(run.state, 'journal.pbj'));
    for (const p of [await resume(run), await runCli(['inspect', run.state])]) {
      expect(p.code, describeRun(p)).toBe(4);
      expect(p.stdout).toBe('');
      expect(p.stderr).toBe(`${want}\n`);
    }
    expect(readFileSync(join(run.state, 'journal.pbj'))).toEqual(before);
    expect(readFileSync(run.calls, 'utf8'), 'no tool was called').toBe(readFileSync(a.calls, 'utf8'));
  });

  it('the snapshot names its run (format 3); one whose name and machine state disagree is corrupt', async () => {
    const bytes = readFileSync(join(a.state, 'snapshot.pbs'));
    const { header } = decodeEnvelope(SNAPSHOT_FORMAT, bytes);
    expect(header).toMatchObject({ version: 3, minCompatible: 3 });
    expect(decodeSnapshot(bytes).runId).toBe(a.runId);
    const run = copy(a, 'inconsistent');
    writeFileSync(join(run.state, 'snapshot.pbs'), encodeSnapshot({ ...decodeSnapshot(bytes), runId: b.runId }));
    const p = await resume(run);
    expect(p.code, describeRun(p)).toBe(4);
    expect(p.stderr).toBe(`${run.state}: error: corrupted snapshot: it is of run ${b.runId}, its machine state of run ${a.runId}\n`);
  });

  it('a format-1 snapshot of an older build still resumes, and is checked by the run its machine names', async () => {
    const v1 = (from: Stopped) => {
      const { runId: _dropped, ...rest } = decodeSnapshot(readFileSync(join(from.state, 'snapshot.pbs')));
      return encodeEnvelope({ ...SNAPSHOT_FORMAT, version: 1 }, rest, 1);
    };
    const own = copy(a, 'v1-own');
    writeFileSync(join(own.state, 'snapshot.pbs'), v1(a));
    const p = await resume(own);
    expect(p.code, describeRun(p)).toBe(0);
    expect(p.stdout).toBe('flaky 3 ok3\nflaky 4 ok4\nflaky 5 ok5\nflaky done\n');

    const other = copy(a, 'v1-other');
    writeFileSync(join(other.state, 'snapshot.pbs'), v1(b));
    const q = await resume(other);
    expect(q.code, describeRun(q)).toBe(4);
    expect(q.stderr).toContain(`snapshot.pbs belongs to run ${b.runId}, not to this run (${a.runId}`);
  });
});
