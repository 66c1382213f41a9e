// `pb inspect` and `pb audit` re-execute a run against its journal only up to the end of the
// journal (src/run.ts replayRun, the runner's replay-only stop): past the last journaled
// effect only the live process knows where the run is, and re-executing further could take
// as long as the run did, or forever. They report `running (last effect: ...)`, never
// `finished` unless the journal holds the end record. The tests assert that they return at
// all (a hang guard) and on the status they report, not on how long they take.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, describeRun, fileChanged, runCli, tempRoot, type CliRun } from './support/cli.js';
import { decodeJournal, type JournalRecord } from '../vm/durable/journal.js';
import type { AuditReport, RunReport } from '../src/run.js';

const FIX = join(REPO, 'test/fixtures/cli');
const tmp = tempRoot('pb-inspect-');
const HANG_MS = 60_000;

const records = (state: string): JournalRecord[] => decodeJournal(readFileSync(join(state, 'journal.pbj'))).records;
const outLines = (state: string): string[] => records(state).flatMap((r) => (r.t === 'out' ? r.lines.map(([, t]) => t) : []));

/** Runs `pb inspect --json`, `pb inspect` and `pb audit --json` on a state directory; none may hang. */
async function look(state: string): Promise<{ report: RunReport; text: CliRun; audit: AuditReport }> {
  const [json, text, audit] = await Promise.all([runCli(['inspect', '--json', state], { hangMs: HANG_MS }), runCli(['inspect', state], { hangMs: HANG_MS }), runCli(['audit', '--json', state], { hangMs: HANG_MS })]);
  for (const r of [json, text, audit]) {
    expect(r.hung, `inspect/audit did not return\n${describeRun(r)}`).toBe(false);
    expect(r.code, describeRun(r)).toBe(0);
  }
  return { report: JSON.parse(json.stdout) as RunReport, text, audit: JSON.parse(audit.stdout) as AuditReport };
}

describe('pb inspect / pb audit stop at the end of the journal', () => {
  it('a While True loop killed with -9: running, at its last journaled line; resume goes on from there', async () => {
    const state = join(tmp('ticker'), 'state');
    const journal = join(state, 'journal.pbj');
    // Killed once the journal has grown past its first output records.
    const grown = () => {
      try {
        return readFileSync(journal).length > 20_000;
      } catch {
        return false;
      }
    };
    const run = await runCli(['run', join(FIX, 'ticker.pb'), '--state', state], { killWhen: grown, killAfterMs: 100, pollMs: 5 });
    expect(run.killed, describeRun(run)).toBe(true);
    const said = outLines(state);
    const last = Number(said[said.length - 1]!.replace('tick ', ''));
    expect(last).toBeGreaterThan(0);

    const { report, text, audit } = await look(state);
    expect(report).toMatchObject({ status: 'incomplete', waitingOn: null, lastEffect: 'say at step 02.02' });
    expect(report.locals.i).toBe(last);
    expect(report.effects).toBe(last);
    expect(text.stdout).toMatch(/^run [0-9a-f]+ in .*: incomplete \(last effect: say at step 02\.02\); pb resume continues it\n/);
    expect(audit.status).toBe(report.status);

    // The run itself goes on where the journal ends (for 10 more ticks of 3 steps each).
    const resumed = await runCli(['resume', state, '--max-steps', String(report.steps + 30)]);
    expect(resumed.code, describeRun(resumed)).toBe(3);
    expect(resumed.stderr).toMatch(/step budget exceeded/);
    expect(resumed.stdout.split('\n').slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, k) => `tick ${last + 1 + k}`));
  });

  it('a long loop without effects killed with -9: not finished, and no re-execution of the loop', async () => {
    const state = join(tmp('compute'), 'state');
    const run = await runCli(['run', join(FIX, 'compute.pb'), '--state', state], { killWhen: fileChanged(join(state, 'journal.pbj')), killAfterMs: 300 });
    expect(run.killed, `the run ended before the kill\n${describeRun(run)}`).toBe(true);
    expect(records(state).some((r) => r.t === 'end')).toBe(false);

    const { report, audit } = await look(state);
    expect(report.status).toBe('incomplete');
    expect(report.lastEffect).toEqual(expect.any(String));
    expect(report.ended).toBeNull();
    expect(audit.status).toBe(report.status);
    // It stopped at the last journaled effect, not somewhere inside (or after) the loop.
    expect(report.steps).toBeLessThan(10);

    const done = await runCli(['resume', state], { hangMs: 120_000 });
    expect(done.code, describeRun(done)).toBe(0);
    expect(done.stdout).toMatch(/counted 20000000\n$/);
    const after = await look(state);
    expect(after.report.status).toBe('finished');
    expect(after.report.stack).toEqual([]);
  });

  it('a While True run stopped by its step budget (a resumable failure): inspect and audit return', async () => {
    const state = join(tmp('budget'), 'state');
    const run = await runCli(['run', join(FIX, 'spin.pb'), '--state', state, '--max-steps', '5000']);
    expect(run.code, describeRun(run)).toBe(3);
    expect(run.stderr).toMatch(/step budget exceeded/);
    const { report, audit } = await look(state);
    expect(report.status).toBe('failed');
    expect(report.ended).toMatchObject({ status: 'failed', final: false, message: expect.stringMatching(/step budget exceeded/) });
    expect(audit.status).toBe('failed');
  });

  it('a run that has not journaled any effect yet', async () => {
    const state = join(tmp('fresh'), 'state');
    const run = await runCli(['run', join(FIX, 'spin.pb'), '--state', state], { killWhen: fileChanged(join(state, 'journal.pbj')), killAfterMs: 200 });
    expect(run.killed, describeRun(run)).toBe(true);
    const { report } = await look(state);
    expect(report.status).toBe('incomplete');
    expect(report.lastEffect).toMatch(/^(no effect journaled yet|say at step 01)$/);
  });
});
