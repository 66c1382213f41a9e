// The README's main command: the support-triage example replayed from its recorded model
// replies, on a machine with no API key and no network. Also re-records it against the fake
// Messages API (real SDK) to check the recording is current. Then the GeneratePlaybook
// example (examples/oncall-digest.pb): the first run has the model write a playbook, repairs
// it after a run-time failure and stores it in the library; the second run reuses it, with
// no generation call, both offline (replay file) and live (the fake Messages API).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXAMPLE, EXAMPLE_INPUT, ONCALL, ONCALL_REPLAY, oncallResponder, REFUND_INPUT, REFUND_PB, REFUND_REPLAY, REFUND_TOOLS, REFUND_YAML, REPLAY, triageResponder } from './support/record-example.js';
import { startFakeAnthropic } from './support/fake-anthropic.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/src/cli/main.js');

/** Async spawn: the fake server lives in this process, so the event loop must keep running. */
function run(args: string[], input: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn('node', [cli, ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolvePromise({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

function offlineEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('ANTHROPIC_') || k === 'PB_MODEL') delete env[k];
  return env;
}

describe('the README main command', () => {
  it('replays the support-triage example offline: no key, no model call, labeled as a replay', async () => {
    const r = spawnSync('node', [cli, 'run', EXAMPLE, '--replay', REPLAY, '--stats'], { cwd: root, input: `${EXAMPLE_INPUT.join('\n')}\n`, env: offlineEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/replaying recorded model replies from examples\/support-triage\.replay\.json \(no model calls\)/);
    expect(r.stderr).toMatch(/: 0 calls, \d+ replies replayed/);
    await expect(r.stdout).toMatchFileSnapshot('./golden/examples/support-triage.stdout');
  });

  it('the same example runs live against a Messages API (the fake one here) and matches the replay', async () => {
    const server = await startFakeAnthropic({ responder: triageResponder });
    const dir = mkdtempSync(join(tmpdir(), 'pbvm-example-'));
    try {
      const env = { ...offlineEnv(), ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: server.url };
      const rec = join(dir, 'rec.json');
      const r = await run(['run', EXAMPLE, '--record', rec], `${EXAMPLE_INPUT.join('\n')}\n`, env);
      expect(r.status, r.stderr).toBe(0);
      expect(server.messageRequests().length).toBeGreaterThan(0);
      expect(r.stdout).toBe(readFileSync(join(root, 'test/golden/examples/support-triage.stdout'), 'utf8'));
      const recorded = JSON.parse(readFileSync(rec, 'utf8')) as { entries: unknown[] };
      const committed = JSON.parse(readFileSync(join(root, REPLAY), 'utf8')) as { entries: unknown[] };
      expect(recorded.entries.length).toBe(committed.entries.length);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a replay miss fails loudly and names the step', () => {
    const edited = readFileSync(join(root, EXAMPLE), 'utf8').replace('- Thank the user by name', '- Offer the user a discount code\n- Thank the user by name');
    const dir = mkdtempSync(join(tmpdir(), 'pbvm-example-'));
    try {
      const file = join(dir, 'edited.pb');
      writeFileSync(file, edited);
      const r = spawnSync('node', [cli, 'run', file, '--replay', join(root, REPLAY)], { cwd: root, input: `${EXAMPLE_INPUT.join('\n')}\n`, env: offlineEnv(), encoding: 'utf8' });
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/replay miss: .* has no recorded reply for SupportTriage\.Main step 09/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the GeneratePlaybook example: generate, run, store, reuse', () => {
  const golden = join(root, 'test/golden/examples/oncall-digest.stdout');
  const libraryRows = (library: string) => {
    const r = spawnSync('node', [cli, 'library', 'list', '--json', '--library', library], { cwd: root, env: offlineEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as Array<{ id: string; name: string; successes: number; failures: number; status: string }>).sort((a, b) => a.failures - b.failures);
  };

  it('offline: the first run writes, repairs and stores ErrorDigest; the second reuses it with no generation reply', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbvm-oncall-'));
    try {
      const library = join(dir, 'library');
      const runOnce = () => spawnSync('node', [cli, 'run', ONCALL, '--replay', ONCALL_REPLAY, '--library', library, '--stats'], { cwd: root, input: '', env: offlineEnv(), encoding: 'utf8' });
      const first = runOnce();
      expect(first.status, first.stderr).toBe(0);
      await expect(first.stdout).toMatchFileSnapshot('./golden/examples/oncall-digest.stdout');
      expect(first.stderr).toMatch(/GeneratePlaybook\("count the ERROR alerts.*"\): the model wrote ErrorDigest \(1 attempt; stored as library:[0-9a-f]{16}\)/);
      expect(first.stderr).toMatch(/generated playbook 'ErrorDigest' failed: <generated>\/ErrorDigest\.pb:7:5: error: index 1 out of range \(length 1\); running a regenerated version \(2, library:[0-9a-f]{16}\)/);
      expect(first.stderr).toMatch(/: 0 calls, 3 replies replayed/);
      const [good, bad] = libraryRows(library);
      expect(good).toMatchObject({ name: 'ErrorDigest', successes: 1, failures: 0, status: 'proposed' });
      expect(bad).toMatchObject({ name: 'ErrorDigest', successes: 0, failures: 1, status: 'proposed' });

      const second = runOnce();
      expect(second.status, second.stderr).toBe(0);
      expect(second.stdout).toBe(first.stdout);
      expect(second.stderr).toContain(`reused ErrorDigest from the library (library:${good!.id})`);
      expect(second.stderr).not.toMatch(/the model wrote|regenerated/);
      // Only the natural-language step's reply is used: nothing is generated.
      expect(second.stderr).toMatch(/: 0 calls, 1 replies replayed/);
      expect(libraryRows(library)[0]).toMatchObject({ id: good!.id, successes: 2, failures: 0 });

      // The stored playbook compiles on its own.
      const exported = spawnSync('node', [cli, 'library', 'export', good!.id, '--library', library], { cwd: root, env: offlineEnv(), encoding: 'utf8' });
      expect(exported.status, exported.stderr).toBe(0);
      writeFileSync(join(dir, 'ErrorDigest.pb'), exported.stdout);
      const check = spawnSync('node', [cli, 'check', join(dir, 'ErrorDigest.pb')], { cwd: root, env: offlineEnv(), encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pb inspect of the durable run lists the generated and the repaired version, and an empty stack at the end', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbvm-oncall-'));
    try {
      const state = join(dir, 'state');
      const r = spawnSync('node', [cli, 'run', ONCALL, '--replay', ONCALL_REPLAY, '--library', join(dir, 'library'), '--state', state], { cwd: root, input: '', env: offlineEnv(), encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const inspected = spawnSync('node', [cli, 'inspect', state, '--json'], { cwd: root, env: offlineEnv(), encoding: 'utf8' });
      expect(inspected.status, inspected.stderr).toBe(0);
      const report = JSON.parse(inspected.stdout) as { status: string; stack: unknown[]; generated: Array<Record<string, unknown>> };
      expect(report.status).toBe('finished');
      expect(report.stack).toEqual([]);
      expect(report.generated).toHaveLength(2);
      expect(report.generated[0]).toMatchObject({ playbook: 'ErrorDigest', attempts: 1, rejected: [] });
      expect(report.generated[1]).toMatchObject({ playbook: 'ErrorDigest', attempts: 1, version: 2 });
      expect(report.generated[1]!.failure).toMatch(/^<generated>\/ErrorDigest\.pb:7:5: error: index 1 out of range \(length 1\)\n 7 \|/);
      const text = spawnSync('node', [cli, 'inspect', state], { cwd: root, env: offlineEnv(), encoding: 'utf8' });
      expect(text.stdout).toMatch(/generated playbooks:\n  effect \d+: ErrorDigest \(library:[0-9a-f]{16}, 1 attempt\)\n  effect \d+: ErrorDigest version 2 \(library:[0-9a-f]{16}, 1 attempt\) after: <generated>\/ErrorDigest\.pb:7:5: error: index 1 out of range/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('live (the fake Messages API): two write_playbook calls on the first run, none on the second', async () => {
    const server = await startFakeAnthropic({ responder: oncallResponder });
    const dir = mkdtempSync(join(tmpdir(), 'pbvm-oncall-'));
    try {
      const env = { ...offlineEnv(), ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: server.url };
      const library = join(dir, 'library');
      const writes = () => server.messageRequests().filter((r) => (r.body as { tool_choice?: { name?: string } }).tool_choice?.name === 'write_playbook').length;
      const rec = join(dir, 'rec.json');
      const first = await run(['run', ONCALL, '--library', library, '--record', rec], '', env);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toBe(readFileSync(golden, 'utf8'));
      expect(writes()).toBe(2);
      expect(server.messageRequests()).toHaveLength(3);
      const recorded = JSON.parse(readFileSync(rec, 'utf8')) as { entries: Array<{ key: string }> };
      const committed = JSON.parse(readFileSync(join(root, ONCALL_REPLAY), 'utf8')) as { entries: Array<{ key: string }> };
      expect(recorded.entries.map((e) => e.key)).toEqual(committed.entries.map((e) => e.key));

      const second = await run(['run', ONCALL, '--library', library], '', env);
      expect(second.status, second.stderr).toBe(0);
      expect(second.stdout).toBe(first.stdout);
      expect(writes(), 'the second run asks for no playbook').toBe(2);
      expect(server.messageRequests()).toHaveLength(4);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the enforced refund flow, in .pb and in Locus YAML', () => {
  /** The audit without what differs between runs: times, run ids (also inside call ids) and the state dir. */
  const normalized = (json: string, runId: string) =>
    JSON.stringify(JSON.parse(json.split(runId).join('<run>')), (k, v) => (k === 'dir' ? '<dir>' : typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? '<time>' : v), 2);

  it.each([REFUND_PB, REFUND_YAML])('%s runs offline from the replay file; stdout and pb audit --json match the goldens', async (file) => {
    const dir = mkdtempSync(join(tmpdir(), 'pbvm-refund-'));
    try {
      const state = join(dir, 'state');
      const r = spawnSync('node', [cli, 'run', file, '--tools', REFUND_TOOLS, '--replay', REFUND_REPLAY, '--state', state], { cwd: root, input: readFileSync(join(root, REFUND_INPUT)), env: offlineEnv(), encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      await expect(r.stdout).toMatchFileSnapshot('./golden/examples/refund-flow.stdout');
      const audit = spawnSync('node', [cli, 'audit', state, '--json'], { cwd: root, env: offlineEnv(), encoding: 'utf8' });
      expect(audit.status, audit.stderr).toBe(0);
      const report = JSON.parse(audit.stdout) as { runId: string; plans: Array<{ status: string; steps: Array<{ id: string; status: string }> }> };
      expect(report.plans.map((p) => p.status)).toEqual(['completed']);
      expect(report.plans[0]!.steps.map((s) => `${s.id}:${s.status}`)).toEqual(['collect_request:completed', 'verify_order:completed', 'check_eligibility:completed', 'issue_refund:completed', 'notify_customer:completed']);
      await expect(normalized(audit.stdout, report.runId)).toMatchFileSnapshot('./golden/examples/refund-flow.audit.json');
      const table = spawnSync('node', [cli, 'audit', state], { cwd: root, env: offlineEnv(), encoding: 'utf8' });
      expect(table.stdout).toMatch(/^  2 {2}verify_order {7}completed .* IssueRefund#[0-9a-f]{8} rejected, LookupOrder#[0-9a-f]{8} ok$/m);
      expect(table.stdout).toContain("violation (out-of-sequence): 'IssueRefund' belongs to step 'issue_refund', which strict_sequence does not let start while step 'verify_order' is in progress");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('both compile to the same PBAsm (the listings differ only in source paths and line numbers)', () => {
    const listing = (file: string) =>
      spawnSync('node', [cli, 'disasm', file], { cwd: root, env: offlineEnv(), encoding: 'utf8' })
        .stdout.replace(/^; source .*$/m, '; source')
        .replace(/\(line \d+\)/g, '(line)');
    const pb = listing(REFUND_PB);
    expect(pb).toContain('PLAN_BEGIN');
    expect(listing(REFUND_YAML)).toBe(pb);
  });
});

describe('the README multi-agent example (examples/team-standup.pb)', () => {
  it('runs offline with no model: the same lines every run, exit 0', async () => {
    const runs = [0, 1, 2].map(() => spawnSync('node', [cli, 'run', 'examples/team-standup.pb'], { cwd: root, input: 'ship it\n', env: offlineEnv(), encoding: 'utf8' }));
    for (const r of runs) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(runs[0]!.stdout);
    }
    await expect(runs[0]!.stdout).toMatchFileSnapshot('./golden/examples/team-standup.stdout');
  });

  it('stopped before the answer, pb inspect lists every instance, and pb resume finishes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbvm-standup-'));
    try {
      const state = join(dir, 'state');
      const first = spawnSync('node', [cli, 'run', '--state', state, 'examples/team-standup.pb'], { cwd: root, input: '', env: offlineEnv(), encoding: 'utf8' });
      expect(first.status, first.stderr).toBe(3);
      expect(first.stderr).toContain('end of input while asking for a message to agent 1001 (Lead) from Priya');
      const insp = spawnSync('node', [cli, 'inspect', '--json', state], { cwd: root, encoding: 'utf8' });
      expect(insp.status, insp.stderr).toBe(0);
      const report = JSON.parse(insp.stdout) as { instances: Array<{ id: string; klass: string; stack: Array<{ playbook: string }> }>; meetings: Array<{ id: string; participants: string[] }> };
      expect(report.instances.map((i) => `${i.id} ${i.klass}`)).toEqual(['agent 1001 Lead', 'agent 1002 Engineer', 'agent 1003 Engineer', 'agent 1004 Engineer']);
      expect(report.instances[0]!.stack.map((s) => s.playbook)).toEqual(['Main', 'Standup']);
      expect(report.meetings).toMatchObject([{ id: 'meeting 100', participants: ['agent 1001', 'agent 1000', 'agent 1002', 'agent 1003', 'agent 1004'] }]);
      const text = spawnSync('node', [cli, 'inspect', state], { cwd: root, encoding: 'utf8' });
      expect(text.stdout).toContain('agent instances:\n  agent 1001 (Lead): ');
      const resumed = spawnSync('node', [cli, 'resume', state], { cwd: root, input: 'ship it\n', env: offlineEnv(), encoding: 'utf8' });
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(first.stdout + resumed.stdout).toBe(readFileSync(join(root, 'test/golden/examples/team-standup.stdout'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
