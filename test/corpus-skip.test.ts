// Without ../shared/corpus the tests that read it are skipped, each file saying so in one loud
// line, and the rest of the suite still passes; under CI a missing corpus fails. Runs vitest on
// the corpus-reading files with PBVM_CORPUS pointing at a folder that has no corpus.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './support/cli.js';

const FILES = ['test/corpus.test.ts', 'test/fuzz.test.ts'];

function vitest(env: Record<string, string | undefined>) {
  const empty = mkdtempSync(join(tmpdir(), 'pbvm-no-corpus-'));
  try {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, PBVM_CORPUS: empty, NO_COLOR: '1', ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
    const r = spawnSync(process.execPath, [join(REPO, 'node_modules/vitest/vitest.mjs'), 'run', ...FILES], { cwd: REPO, env: childEnv, encoding: 'utf8', timeout: 300_000 });
    return { ...r, empty, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}

describe('a checkout without ../shared/corpus', () => {
  it('skips the corpus tests with one loud line per file, and passes', () => {
    const r = vitest({ CI: undefined });
    expect(r.status, r.out).toBe(0);
    for (const f of FILES) {
      const lines = r.out.split('\n').filter((l) => l.includes(`*** SKIPPED corpus tests in ${f}:`));
      expect(lines, `${f}\n${r.out}`).toHaveLength(1);
      expect(lines[0]).toContain(`${r.empty}/playbooks-ai not found`);
    }
    expect(r.out).toMatch(/skipped/);
  });

  it('fails under CI, which has the corpus', () => {
    const r = vitest({ CI: 'true' });
    expect(r.status, r.out).not.toBe(0);
    expect(r.out).toContain('the Playbooks AI corpus is missing');
  });
});
