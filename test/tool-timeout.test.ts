// Host tool calls have a time limit (src/tools.ts, vm/tool-timeout.ts, the runner's
// toolCall): a tool whose promise never settles is a resumable tool-error instead of a
// silent exit 13, on `pb run` and on every `pb resume`; the limit comes from the tool
// (`Name.timeoutMs`, a `timeouts` export), else --tool-timeout / PB_TOOL_TIMEOUT_MS, else
// 120 s; a rejection a tool leaves unhandled changes no exit code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, describeRun, runCli, tempRoot } from './support/cli.js';
import { decodeJournal } from '../vm/durable/journal.js';
import { DEFAULT_TOOL_TIMEOUT_MS } from '../src/tools.js';

const FIX = join(REPO, 'test/fixtures/cli');
const TOOLS = join(FIX, 'tools.mjs');
const tmp = tempRoot('pb-tool-timeout-');
const lines = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at .*\(?.*:\d+:\d+\)?/);

describe('tool call time limits', () => {
  it('a tool that never answers is a resumable tool-error, on run and on every resume; fixed, the run goes on', async () => {
    const state = join(tmp('hang'), 'state');
    const run = await runCli(['run', join(FIX, 'hang.pb'), '--tools', TOOLS, '--state', state], { env: { PB_TOOL_TIMEOUT_MS: '300' } });
    expect(run.code, describeRun(run)).toBe(3);
    expect(lines(run.stdout)).toEqual(['before']);
    expect(run.stderr).toMatch(/error: tool 'Hang' timed out \(call [0-9a-f]+:2\): no answer within 300 ms; it may still be running/);
    expect(run.stderr).toContain(`continue with: pb resume ${state}`);
    noStack(run.stderr);

    // The run's limit is kept for resume; PB_TOOL_TIMEOUT_MS and --tool-timeout (first) override it.
    const again = await runCli(['resume', state]);
    expect(again.code, describeRun(again)).toBe(3);
    expect(again.stderr).toMatch(/no answer within 300 ms/);
    const env = await runCli(['resume', state], { env: { PB_TOOL_TIMEOUT_MS: '200' } });
    expect(env.code, describeRun(env)).toBe(3);
    expect(env.stderr).toMatch(/no answer within 200 ms/);
    const flag = await runCli(['resume', state, '--tool-timeout', '250'], { env: { PB_TOOL_TIMEOUT_MS: '200' } });
    expect(flag.code, describeRun(flag)).toBe(3);
    expect(flag.stderr).toMatch(/no answer within 250 ms/);

    const fixed = await runCli(['resume', state], { env: { CLI_FIXED: '1' } });
    expect(fixed.code, describeRun(fixed)).toBe(0);
    expect(lines(fixed.stdout)).toEqual(['after fixed']);
    // Each timed-out call is in the journal (the audit trail), all with the same call id.
    const records = decodeJournal(readFileSync(join(state, 'journal.pbj'))).records;
    const failed = records.filter((r) => r.t === 'tool-failed');
    expect(failed.map((r) => (r as { error: string }).error)).toEqual(['no answer within 300 ms', 'no answer within 300 ms', 'no answer within 200 ms', 'no answer within 250 ms']);
  });

  it('a tool that never answers, without any limit, keeps the process waiting (no silent exit 13)', async () => {
    const state = join(tmp('nolimit'), 'state');
    const journal = join(state, 'journal.pbj');
    const started = () => {
      try {
        return decodeJournal(readFileSync(journal)).records.some((r) => r.t === 'tool-start');
      } catch {
        return false;
      }
    };
    // Killed (SIGKILL) a while after the call started: it must still be alive then.
    const run = await runCli(['run', join(FIX, 'hang.pb'), '--tools', TOOLS, '--state', state], { env: { PB_TOOL_TIMEOUT_MS: '0' }, killWhen: started, killAfterMs: 500 });
    expect(run.killed, `the process ended by itself while waiting on the tool\n${describeRun(run)}`).toBe(true);
    expect(lines(run.stdout)).toEqual(['before']);
  });

  it("a tool's own limit (timeoutMs, the timeouts export) wins over the run's", async () => {
    const dir = tmp('own');
    // Slow (200 ms) has its own 10 s limit, so the run's 50 ms does not apply to it; Limited's is 50 ms.
    const run = await runCli(['run', join(FIX, 'limits.pb'), '--tools', TOOLS, '--tool-timeout', '50'], { cwd: dir });
    expect(run.code, describeRun(run)).toBe(3);
    expect(lines(run.stdout)).toEqual(['slept 200']);
    expect(run.stderr).toMatch(/tool 'Limited' timed out \(call [0-9a-f]+:\d+\): no answer within 50 ms/);
    // A generous run limit does not lift a tool's own.
    const generous = await runCli(['run', join(FIX, 'limits.pb'), '--tools', TOOLS], { cwd: dir, env: { PB_TOOL_TIMEOUT_MS: '60000' } });
    expect(generous.code, describeRun(generous)).toBe(3);
    expect(generous.stderr).toMatch(/tool 'Limited' timed out .*no answer within 50 ms/);
  });

  it('the default limit is 120 s', () => {
    expect(DEFAULT_TOOL_TIMEOUT_MS).toBe(120_000);
  });

  it('bad limits are one-line errors: flag and variable exit 2, a tools module exit 4', async () => {
    const dir = tmp('bad');
    for (const [args, env, what] of [
      [['--tool-timeout', 'abc'], {}, /--tool-timeout/],
      [['--tool-timeout', '-1'], {}, /--tool-timeout/],
      [['--tool-timeout', '1.5'], {}, /--tool-timeout/],
      [[], { PB_TOOL_TIMEOUT_MS: 'abc' }, /PB_TOOL_TIMEOUT_MS="abc"/],
      [[], { PB_TOOL_TIMEOUT_MS: '1e3' }, /PB_TOOL_TIMEOUT_MS="1e3"/],
      [[], { PB_TOOL_TIMEOUT_MS: '99999999999' }, /PB_TOOL_TIMEOUT_MS="99999999999"/],
    ] as Array<[string[], Record<string, string>, RegExp]>) {
      const r = await runCli(['run', join(FIX, 'hang.pb'), '--tools', TOOLS, ...args], { cwd: dir, env });
      expect(r.code, describeRun(r)).toBe(2);
      expect(lines(r.stderr), describeRun(r)).toHaveLength(1);
      expect(r.stderr).toMatch(what);
      expect(r.stdout).toBe('');
    }
    const mod = await runCli(['run', join(FIX, 'hang.pb'), '--tools', join(FIX, 'bad-timeouts.mjs')], { cwd: dir });
    expect(mod.code, describeRun(mod)).toBe(4);
    expect(mod.stderr).toMatch(/bad-timeouts\.mjs: error: timeouts names 'Fetchh', which is not an exported function/);
    noStack(mod.stderr);
  });

  it('a rejection a tool leaves unhandled is reported, and the run still exits 0', async () => {
    const r = await runCli(['run', join(FIX, 'stray.pb'), '--tools', TOOLS], { cwd: tmp('stray') });
    expect(r.code, describeRun(r)).toBe(0);
    expect(lines(r.stdout)).toEqual(['ok', 'end']);
    expect(r.stderr).toMatch(/pb: warning: a promise rejected with no handler .*stray now/);
    noStack(r.stderr);
  });
});
