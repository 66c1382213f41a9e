// A durable run prints each line at most once: a line journaled counts as printed, so a
// kill between journaling a line and writing it loses that line. The window is one line,
// never a batch: a run is SIGKILLed right after a chosen journal append has reached the
// file (test/fixtures/faults/kill-after-write.mjs), before it writes what it journaled.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRun, REPO, runCli, tempRoot, type CliRun } from './support/cli.js';
import { decodeJournal, type JournalRecord } from '../vm/durable/journal.js';

const CHATTY = join(REPO, 'test/fixtures/faults/chatty.pb');
const KILLER = join(REPO, 'test/fixtures/faults/kill-after-write.mjs');
const ALL = [...Array.from({ length: 3000 }, (_, i) => `line ${i} of the output-heavy loop`), 'chatty done'];

const tmp = tempRoot('pbvm-output-');
const lines = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));
const outTexts = (records: JournalRecord[]): string[] => records.flatMap((r) => (r.t === 'out' ? r.lines.map(([, t]) => t) : []));

function killedAt(state: string, n: number): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KILLER, CHATTY, state, String(n)], { cwd: REPO, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, killed: signal === 'SIGKILL', hung: false, ms: 0, startedAt: 0 }));
  });
}

describe('the output loss window', () => {
  it('a kill right after journaling output loses at most one line, and resume prints the rest once', { timeout: 120_000 }, async () => {
    // The Nth journal append: the first (start of output), early, mid-way and late in the loop.
    for (const n of [1, 2, 9, 300, 2000]) {
      const state = join(tmp(`kill-${n}`), 'state');
      const p = await killedAt(state, n);
      expect(p.signal, `append ${n}\n${describeRun(p)}`).toBe('SIGKILL');
      const journaled = outTexts(decodeJournal(readFileSync(join(state, 'journal.pbj'))).records);
      const printed = lines(p.stdout);
      expect(journaled.slice(0, printed.length), `append ${n}: printed lines are journaled ones, in order`).toEqual(printed);
      const lost = journaled.slice(printed.length);
      expect(lost.length, `append ${n}: lines journaled but never printed: ${JSON.stringify(lost.slice(0, 3))}...`).toBeLessThanOrEqual(1);
      const r = await runCli(['resume', state]);
      expect(r.code, describeRun(r)).toBe(0);
      expect([...printed, ...lost, ...lines(r.stdout)], `append ${n}: every line once, the lost one not again`).toEqual(ALL);
      expect(outTexts(decodeJournal(readFileSync(join(state, 'journal.pbj'))).records)).toEqual(ALL);
    }
  });
});
