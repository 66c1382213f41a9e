// The test mode PB_SNAPSHOT_EVERY_SAFE_POINT (src/snapshot-policy.ts): 1 makes a durable run
// snapshot at every safe point, 0 or unset keeps the default policy, anything else is a
// usage error before any state is made. vitest.config.ts runs the crash suites in this mode.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli, tempRoot } from './support/cli.js';
import { snapshotPolicy } from '../src/snapshot-policy.js';
import { SettingError } from '../src/env-settings.js';
import { decodeJournal } from '../vm/durable/journal.js';
import { decodeSnapshot } from '../vm/durable/snapshot.js';

const PROGRAM = join(REPO, 'test/fixtures/snapshot-policy/logs.pb');
const TOOLS = join(REPO, 'test/fixtures/model-replies/tools.ts');
const tmp = tempRoot('pb-snapshot-policy-');

describe('PB_SNAPSHOT_EVERY_SAFE_POINT', () => {
  it('1 snapshots at every safe point, 0 or unset keeps the default, anything else is refused', () => {
    expect(snapshotPolicy({})).toEqual({});
    expect(snapshotPolicy({ PB_SNAPSHOT_EVERY_SAFE_POINT: '' })).toEqual({});
    expect(snapshotPolicy({ PB_SNAPSHOT_EVERY_SAFE_POINT: '0' })).toEqual({});
    expect(snapshotPolicy({ PB_SNAPSHOT_EVERY_SAFE_POINT: '1' })).toEqual({ snapshotMs: 0, snapshotEffects: 1 });
    for (const bad of ['yes', 'true', '2', ' 1']) {
      expect(() => snapshotPolicy({ PB_SNAPSHOT_EVERY_SAFE_POINT: bad }), bad).toThrow(SettingError);
    }
  });

  it('pb run with an invalid value: exit 2, a one-line error, and no state directory', async () => {
    const state = join(tmp('bad'), 'state');
    const p = await runCli(['run', PROGRAM, '--tools', TOOLS, '--state', state], { env: { PB_SNAPSHOT_EVERY_SAFE_POINT: 'yes' } });
    expect(p.code, p.stderr).toBe(2);
    // (The compiler's warnings about the host tool come first.)
    expect(p.stderr.split('\n').filter((l) => l.startsWith('pb:'))).toEqual(['pb: error: PB_SNAPSHOT_EVERY_SAFE_POINT must be 1 (snapshot at every safe point) or 0 (the default policy), not "yes"']);
    expect(p.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(state)).toBe(false);
  });

  it('with 1, the snapshot of a run stopped at its question covers every tool call before it', async () => {
    const state = join(tmp('every'), 'state');
    const p = await runCli(['run', PROGRAM, '--tools', TOOLS, '--state', state], { env: { PB_SNAPSHOT_EVERY_SAFE_POINT: '1' } });
    expect(p.code, p.stderr).toBe(3);
    expect(p.stderr).toContain('end of input while asking for $x');
    const records = decodeJournal(readFileSync(join(state, 'journal.pbj'))).records;
    const lastDone = records.map((r) => r.t).lastIndexOf('tool-done');
    expect(records.filter((r) => r.t === 'tool-done')).toHaveLength(3);
    expect(decodeSnapshot(readFileSync(join(state, 'snapshot.pbs'))).journalRecords).toBe(lastDone + 1);
  });
});
