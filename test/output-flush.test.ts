// A line said before a long loop without effects reaches stdout while the loop runs (it used
// to wait in the output buffer until the next effect, which `While True` never reaches).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, REPO, tempRoot } from './support/cli.js';

const SPIN = join(REPO, 'test/fixtures/cli/spin.pb');
const root = tempRoot('pb-output-flush-');

/** Runs `pb run spin.pb`, waits for its first line on stdout (or gives up), then kills it. */
function firstLine(extra: string[]): Promise<{ stdout: string; aliveWhenSeen: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', SPIN, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let done = false;
    const finish = (aliveWhenSeen: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      child.kill('SIGKILL');
      resolve({ stdout, aliveWhenSeen });
    };
    // A generous guard: this is not a timing assertion, only a bound on a hung test.
    const guard = setTimeout(() => finish(false), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('\n')) finish(child.exitCode === null);
    });
    child.on('exit', () => finish(false));
  });
}

describe('output during a loop without effects', () => {
  it('a line said before `While True` is printed while the loop runs', async () => {
    const r = await firstLine([]);
    expect(r.stdout).toBe('start\n');
    expect(r.aliveWhenSeen).toBe(true);
  });

  it('also under --state, where the line is journaled first', async () => {
    const r = await firstLine(['--state', join(root('spin'), 'state')]);
    expect(r.stdout).toBe('start\n');
    expect(r.aliveWhenSeen).toBe(true);
  });
});
