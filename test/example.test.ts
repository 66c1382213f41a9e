// The README's main command: the support-triage example replayed from its recorded model
// replies, on a machine with no API key and no network. Also re-records it against the fake
// Messages API (real SDK) to check the recording is current.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXAMPLE, EXAMPLE_INPUT, REPLAY, triageResponder } from './support/record-example.js';
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
