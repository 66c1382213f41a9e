// An honest CLI: what `pb` says is true, each --json output has one documented shape, and every
// error says how to get out. Text outputs are goldens in test/golden/cli/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli, type CliRun } from './support/cli.js';
import { minimalResponder, startFakeAnthropic, type FakeAnthropic } from './support/fake-anthropic.js';

const FIX = 'test/fixtures/honest';
const pb = (args: string[], input = '', env: Record<string, string> = {}) => runCli(args, { input, env, isolateModel: true });
const show = (r: CliRun) => `exit ${r.code}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;

let fake: FakeAnthropic;
let tmp: string;
beforeAll(async () => {
  fake = await startFakeAnthropic({ responder: minimalResponder({ tools: { phrase_question: { question: 'What may I call you?' } } }) });
  tmp = mkdtempSync(join(tmpdir(), 'pbvm-honest-'));
});
afterAll(async () => {
  await fake.close();
  rmSync(tmp, { recursive: true, force: true });
});
const live = () => ({ ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: fake.url, PB_MODEL_RETRIES: '0' });

/** Paths, run ids, times and durations replaced, so a message can be a golden. */
function normalize(text: string): string {
  return text
    .split(tmp)
    .join('$TMP')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z/g, '$TIME')
    .replace(/\d+\.\d ms/g, 'N ms');
}

describe('questions are the step\'s own words unless phrasing is asked for', () => {
  it('examples/hello.pb makes no model call with a key set ("every step is code")', async () => {
    fake.reset();
    const r = await pb(['run', 'examples/hello.pb'], 'Ada\n', live());
    expect(r.code, show(r)).toBe(0);
    expect(fake.messageRequests(), 'model requests').toHaveLength(0);
    await expect(r.stdout).toMatchFileSnapshot('./golden/cli/hello.stdout');
  });

  it('--phrase has the model phrase the question', async () => {
    fake.reset();
    const r = await pb(['run', 'examples/hello.pb', '--phrase'], 'Ada\n', live());
    expect(r.code, show(r)).toBe(0);
    expect(fake.messageRequests().map((q) => q.body.tool_choice?.name)).toEqual(['phrase_question']);
    expect(r.stdout.split('\n')[1]).toBe('What may I call you?');
  });

  it('agent metadata phrase_questions: true does the same, and without a model the step\'s words are shown', async () => {
    fake.reset();
    const r = await pb(['run', `${FIX}/phrased.pb`], 'Ada\n', live());
    expect(r.code, show(r)).toBe(0);
    expect(fake.messageRequests()).toHaveLength(1);
    expect(r.stdout).toBe('What may I call you?\nWelcome, Ada.\n');
    const offline = await pb(['run', `${FIX}/phrased.pb`], 'Ada\n');
    expect(offline.stdout).toBe('Please provide name:\nWelcome, Ada.\n');
  });
});

describe('pb check --json and pb compile --json: one shape', () => {
  it('checks every file, also after a missing one, and prints one report for all (exit 4)', async () => {
    const r = await pb(['check', '--json', 'examples/hello.pb', `${FIX}/missing.pb`, 'test/golden/run/err-nl-step.pb', 'examples/refund-flow.yaml']);
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toBe('');
    await expect(r.stdout).toMatchFileSnapshot('./golden/cli/check.json');
    const report = JSON.parse(r.stdout) as { files: Array<{ file: string; status: string }> };
    expect(report.files.map((f) => [f.file, f.status])).toEqual([
      ['examples/hello.pb', 'ok'],
      [`${FIX}/missing.pb`, 'unreadable'],
      ['test/golden/run/err-nl-step.pb', 'ok'],
      ['examples/refund-flow.yaml', 'ok'],
    ]);
  });

  it('the text form also checks every file and counts the unreadable one', async () => {
    const r = await pb(['check', `${FIX}/missing.pb`, 'examples/hello.pb']);
    expect(r.code, show(r)).toBe(4);
    await expect(r.stderr).toMatchFileSnapshot('./golden/cli/check-missing.stderr');
  });

  it('pb compile --json has the same per-file fields plus output and bytes, also for an unreadable file', async () => {
    const ok = await pb(['compile', '--json', 'examples/hello.pb', '-o', join(tmp, 'hello.pbasm')]);
    expect(ok.code, show(ok)).toBe(0);
    const r = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(Object.keys(r)).toEqual(['file', 'status', 'errors', 'warnings', 'diagnostics', 'message', 'output', 'bytes']);
    expect(r).toMatchObject({ status: 'ok', output: join(tmp, 'hello.pbasm'), message: null });
    const missing = await pb(['compile', '--json', `${FIX}/missing.pb`]);
    expect(missing.code).toBe(4);
    expect(JSON.parse(missing.stdout)).toEqual({ file: `${FIX}/missing.pb`, status: 'unreadable', errors: 0, warnings: 0, diagnostics: [], message: `${FIX}/missing.pb: error: cannot read file: ENOENT`, output: null, bytes: null });
  });
});

describe('pb inspect --json: fields, not prose', () => {
  const KEYS = ['dir', 'runId', 'status', 'resumable', 'waitingOn', 'lastEffect', 'steps', 'effects', 'snapshotAt', 'stack', 'state', 'locals', 'lastEffects', 'generated', 'ended', 'instances', 'meetings'];

  it('a finished run, a run stopped at end of input, and a killed run (kill -9 in a tool call)', async () => {
    const finished = join(tmp, 'finished');
    expect((await pb(['run', 'examples/hello.pb', '--state', finished], 'Ada\n')).code).toBe(0);
    const stopped = join(tmp, 'stopped');
    expect((await pb(['run', 'examples/hello.pb', '--state', stopped])).code).toBe(3);
    const killed = join(tmp, 'killed');
    const k = await pb(['run', `${FIX}/dies.pb`, '--tools', `${FIX}/die-tools.ts`, '--state', killed]);
    expect(k.signal, show(k)).toBe('SIGKILL');

    const inspect = async (dir: string) => {
      const r = await pb(['inspect', '--json', dir]);
      expect(r.code, show(r)).toBe(0);
      const j = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(Object.keys(j)).toEqual(KEYS);
      expect(['finished', 'halted', 'failed', 'incomplete']).toContain(j.status);
      expect(j.snapshotAt === null || !Number.isNaN(Date.parse(j.snapshotAt as string)), `snapshotAt ${j.snapshotAt}`).toBe(true);
      return j;
    };
    expect(await inspect(finished)).toMatchObject({ status: 'halted', resumable: false, waitingOn: null, ended: { status: 'halted', final: true, message: null } });
    expect(await inspect(stopped)).toMatchObject({ status: 'failed', resumable: true, waitingOn: null, ended: { status: 'failed', final: false, message: 'end of input while asking for $name' } });
    const k2 = await inspect(killed);
    expect(k2).toMatchObject({ status: 'incomplete', resumable: true, snapshotAt: null, ended: null });
    expect(k2.waitingOn).toMatch(/^tool Die \(call [0-9a-f]+:\d+\) at step 02$/);

    const text = await pb(['inspect', killed]);
    expect(normalize(text.stdout).split('\n').slice(0, 2).join('\n').replace(/run [0-9a-f]+/, 'run ID').replace(/call [0-9a-f]+:/, 'call ID:')).toBe(
      'run ID in $TMP/killed: incomplete, waiting on tool Die (call ID:2) at step 02; pb resume continues it\n  2 steps, 2 effects; last snapshot: none (replayed from the start)',
    );
  });
});

describe('messages say how to get out', () => {
  it('a natural-language step without a model names ANTHROPIC_API_KEY and --replay', async () => {
    const r = await pb(['run', `${FIX}/nl-step.pb`]);
    expect(r.code, show(r)).toBe(3);
    await expect(r.stderr).toMatchFileSnapshot('./golden/cli/no-model.stderr');
  });

  it("re-running the README's refund command says to remove the finished run's directory, not to resume it", async () => {
    const state = join(tmp, 'refund');
    const args = ['run', 'examples/refund-flow.yaml', '--tools', 'examples/refund-tools.ts', '--replay', 'examples/refund-flow.replay.json', '--state', state];
    const input = readFileSync(join(REPO, 'examples/refund-flow.input'), 'utf8');
    expect((await pb(args, input)).code).toBe(0);
    const again = await pb(args, input);
    expect(again.code, show(again)).toBe(4);
    const error = again.stderr.split('\n').filter((l) => l.includes('error'));
    expect(normalize(error.join('\n'))).toBe('$TMP/refund: error: already holds a run that has ended (finished at $TIME); remove it (rm -r $TMP/refund) or choose another --state directory');
  });

  it('--stats shows no cost when no model call was made (a replay)', async () => {
    const r = await pb(['run', 'examples/support-triage.pb', '--replay', 'examples/support-triage.replay.json', '--stats'], 'I was charged twice for my March invoice\nINV-2041\n');
    expect(r.code, show(r)).toBe(0);
    const stats = r.stderr.split('\n').filter((l) => /^pb: (halted|model claude|tokens|estimated|replayed)/.test(l));
    await expect(normalize(stats.join('\n')) + '\n').toMatchFileSnapshot('./golden/cli/replay-stats.stderr');
  });

  it('--stats prices the calls a live run made', async () => {
    const r = await pb(['run', 'examples/hello.pb', '--phrase', '--stats'], 'Ada\n', live());
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toMatch(/^pb: model claude-sonnet-5-5: 1 call$/m);
    expect(r.stderr).toMatch(/^pb: estimated cost: \$\d+\.\d{4}$/m);
  });

  it('pb compile x.yaml writes x.pbasm', async () => {
    const yaml = join(tmp, 'refund.yaml');
    copyFileSync(join(REPO, 'examples/refund-flow.yaml'), yaml);
    const r = await pb(['compile', yaml]);
    expect(r.code, show(r)).toBe(0);
    expect(existsSync(join(tmp, 'refund.pbasm'))).toBe(true);
    expect(existsSync(join(tmp, 'refund.yaml.pbasm'))).toBe(false);
  });

  it('pb run --help mentions YAML/JSON programs, exit codes and environment variables', async () => {
    const r = await pb(['run', '--help'], '', { COLUMNS: '100' });
    expect(r.code).toBe(0);
    await expect(r.stdout).toMatchFileSnapshot('./golden/cli/run-help.txt');
  });

  it('a missing entry argument is a usage error that names the parameter; so is an unknown one', async () => {
    const missing = await pb(['run', `${FIX}/orders.pb`]);
    expect(missing.code, show(missing)).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe(`pb: error: ${FIX}/orders.pb: Orders.Main needs $order_id (no default), which was not given: pass --arg order_id=VALUE\n`);
    const unknown = await pb(['run', `${FIX}/orders.pb`, '--arg', 'order_id=7', '--arg', 'chanel=mail']);
    expect(unknown.code, show(unknown)).toBe(2);
    expect(unknown.stderr).toBe(`pb: error: ${FIX}/orders.pb: --arg chanel: no entry playbook has a parameter $chanel (parameters: $order_id, $channel)\n`);
    const ok = await pb(['run', `${FIX}/orders.pb`, '--arg', 'order_id=7']);
    expect(ok.stdout).toBe('Order 7 via web\n');
  });

  it('pb --version is the version in package.json', async () => {
    // A copy of the built CLI beside a package.json with another version: --version must follow it.
    const copy = join(tmp, 'pkg');
    for (const d of ['src', 'compiler', 'vm', 'stdlib', 'grammar']) cpSync(join(REPO, 'dist', d), join(copy, 'dist', d), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    writeFileSync(join(copy, 'package.json'), JSON.stringify({ ...pkg, version: '9.8.7-test' }));
    const r = spawnSync(process.execPath, [join(copy, 'dist/src/cli/main.js'), '--version'], { encoding: 'utf8' });
    expect(r.stdout).toBe('9.8.7-test\n');
    expect((await pb(['--version'])).stdout).toBe(`${pkg.version}\n`);
  });
});
