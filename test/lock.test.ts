// The run lock: one process at a time runs a state directory. The lock is an OS file lock
// on run.lock held for the life of the run, so the kernel releases it when its holder dies
// (even while the dead holder is an unreaped zombie), two simultaneous resumes can never
// both take it, and a pid written by an older build or left behind by a crash never blocks.
//
// These tests spawn the built CLI (dist/src/cli/main.js). LOCK_ROUNDS (default 100) sets the
// rounds of the simultaneous-resume test.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, existsSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tryLock, unlock } from 'fs-native-extensions';
import { CLI, describeRun, REPO, runCli, tempRoot, type CliRun } from './support/cli.js';
import { decodeJournal, type JournalRecord } from '../vm/durable/journal.js';
import { LocalDirRunStore, RunStoreError } from '../src/run-store.js';

const TINY = join(REPO, 'test/fixtures/lock/tiny.pb');
const REAPER = join(REPO, 'test/fixtures/lock/reaper.mjs');
const EXIT_OK = 0;
const EXIT_RUNTIME = 3;
const EXIT_IO = 4;
const ROUNDS = Number(process.env.LOCK_ROUNDS ?? 100);

const tmp = tempRoot('pbvm-lock-');

function records(state: string): JournalRecord[] {
  try {
    return decodeJournal(readFileSync(join(state, 'journal.pbj'))).records;
  } catch {
    return [];
  }
}

const count = (rs: JournalRecord[], t: JournalRecord['t']) => rs.filter((r) => r.t === t).length;

/** True when some open file description holds the OS lock on `path`. */
function lockHeld(path: string): boolean {
  const fd = openSync(path, 'r+');
  try {
    if (!tryLock(fd)) return true;
    unlock(fd);
    return false;
  } finally {
    closeSync(fd);
  }
}

interface Held {
  child: ChildProcessWithoutNullStreams;
  done: Promise<CliRun>;
  exited: boolean;
}

/** `pb ARGS` with its stdin left open until `child.stdin.end()`; the run waits on its Ask meanwhile. */
function pbHeld(args: string[]): Held {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const held: Held = { child, exited: false, done: undefined as never };
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => undefined);
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  held.done = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      held.exited = true;
      resolve({ code, signal, stdout, stderr, killed: false, hung: signal === 'SIGKILL', ms: performance.now() - started, startedAt: 0 });
    }),
  );
  child.on('exit', () => (held.exited = true));
  return held;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 3));
}

/** A run of tiny.pb stopped at its Ask: resumable, and a resume of it waits on stdin. */
let base = '';
beforeAll(async () => {
  base = join(tmp('base'), 'state');
  const p = await runCli(['run', TINY, '--state', base], { input: '' });
  expect(p.code, describeRun(p)).toBe(EXIT_RUNTIME);
  expect(p.stdout).toBe('Please provide name:\n');
}, 60_000);

function copyOfBase(name: string): string {
  const state = join(tmp(name), 'state');
  cpSync(base, state, { recursive: true });
  return state;
}

const IN_USE = (state: string) => new RegExp(`^${state.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: error: in use by (process \\d+ \\(started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)|another process); `);

describe('the run lock', () => {
  it(`${ROUNDS} rounds of two simultaneous resumes of one directory: exactly one runs`, { timeout: 300_000 }, async () => {
    const problems: string[] = [];
    const round = async (i: number): Promise<void> => {
      const state = copyOfBase(`round-${i}`);
      // Every other round starts from a lock a crash left behind, naming a process that is gone
      // (no pid is above the kernel's pid_max): both racers find it stale at the same moment.
      if (i % 2) writeFileSync(join(state, 'run.lock'), `${2 ** 22 + 1}\n`);
      const before = records(state).length;
      const a = pbHeld(['resume', state]);
      const b = pbHeld(['resume', state]);
      // The winner holds the lock until it reads its name, which it gets only once the loser
      // has given up (or, were the lock broken, once both have journaled their resume).
      await until(() => a.exited || b.exited || count(records(state).slice(before), 'resume') >= 2);
      a.child.stdin.end('Ann\n');
      b.child.stdin.end('Ann\n');
      const runs = await Promise.all([a.done, b.done]);
      const added = records(state).slice(before);
      const ok = runs.filter((p) => p.code === EXIT_OK);
      const refused = runs.filter((p) => p.code === EXIT_IO);
      const say = `round ${i}:\n${runs.map(describeRun).join('\n')}\njournal added: ${added.map((r) => r.t).join(', ')}`;
      if (ok.length !== 1 || refused.length !== 1) return void problems.push(`${say}\nwant one exit 0 and one exit 4`);
      if (ok[0]!.stdout !== 'hi Ann\n') problems.push(`${say}\nthe winner printed the wrong thing`);
      const err = refused[0]!.stderr.trimEnd();
      if (refused[0]!.stdout !== "" || err.includes("\n") || !IN_USE(state).test(err)) problems.push(`${say}\nthe loser's message is not one 'in use' line`);
      if (count(added, 'resume') !== 1 || count(added, 'end') !== 1 || count(added, 'out') !== 1) problems.push(`${say}\nwant one resume, one out and one end record`);
    };
    // Three rounds at a time: six processes, two of them racing for each directory.
    let next = 0;
    const worker = async () => {
      while (next < ROUNDS) await round(next++);
    };
    await Promise.all([worker(), worker(), worker()]);
    expect(problems, problems.slice(0, 3).join('\n\n')).toEqual([]);
  });

  it('a resume right after SIGKILL of a process group whose parent has not reaped it', { timeout: 120_000 }, async () => {
    for (let trial = 0; trial < 5; trial++) {
      const dir = tmp(`zombie-${trial}`);
      const state = join(dir, 'state');
      const go = join(dir, 'go');
      const parent = spawn(process.execPath, [REAPER, CLI, TINY, state, join(dir, 'run.out'), go], { cwd: REPO, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'inherit'] });
      const parentDone = new Promise((r) => parent.on('close', r));
      try {
        let said = '';
        parent.stdout.setEncoding('utf8').on('data', (d: string) => (said += d));
        await until(() => /zombie \d+\n/.test(said) || parent.exitCode !== null);
        const pid = Number(/zombie (\d+)/.exec(said)?.[1]);
        expect(pid, `trial ${trial}: the reaper did not report its killed child`).toBeGreaterThan(0);
        const zombie = () => /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
        expect(zombie(), `trial ${trial}: the killed run is an unreaped zombie`).toBe(true);
        const p = await runCli(['resume', state], { input: 'Ann\n' });
        expect(p.code, `trial ${trial}\n${describeRun(p)}`).toBe(EXIT_OK);
        expect(p.stdout).toBe('hi Ann\n');
        expect(zombie(), `trial ${trial}: still a zombie when the resume ended`).toBe(true);
        expect(count(records(state), 'end')).toBe(1);
      } finally {
        writeFileSync(go, '');
        await parentDone;
      }
    }
  });

  it('the lock excludes before its holder has written its pid, and another store of the same process', () => {
    const dir = join(tmp('in-process'), 'state');
    const release = new LocalDirRunStore(dir).lock();
    try {
      expect(() => new LocalDirRunStore(dir).lock()).toThrow(new RegExp(`^in use by process ${process.pid} \\(started `));
      // The holder's note is written after the lock is taken: in between, the file is empty.
      writeFileSync(join(dir, 'run.lock'), '');
      expect(() => new LocalDirRunStore(dir).lock()).toThrow(RunStoreError);
      expect(() => new LocalDirRunStore(dir).lock()).toThrow(/^in use by another process; /);
    } finally {
      release();
    }
    const again = new LocalDirRunStore(dir).lock();
    expect(readFileSync(join(dir, 'run.lock'), 'utf8')).toBe(`${process.pid}\n`);
    again();
  });

  it('a run.lock naming a live unrelated process (pid reuse, or an older build) does not block', async () => {
    // Older builds wrote their pid into run.lock and judged it by kill(pid, 0): a pid that
    // now belongs to another process (here this test's own, and init's) blocked for ever.
    for (const pid of [process.pid, 1]) {
      const state = copyOfBase(`stale-${pid}`);
      writeFileSync(join(state, 'run.lock'), String(pid));
      const p = await runCli(['resume', state], { input: 'Ann\n' });
      expect(p.code, describeRun(p)).toBe(EXIT_OK);
      expect(p.stdout).toBe('hi Ann\n');
    }
  });

  it('the live holder is named in a one-line in-use error; run.lock is kept, empty and unlocked, after the run', async () => {
    const state = copyOfBase('holder');
    const a = pbHeld(['resume', state]);
    await until(() => count(records(state), 'resume') >= 1);
    const b = await runCli(['resume', state], { input: 'Bob\n' });
    expect(b.code, describeRun(b)).toBe(EXIT_IO);
    expect(b.stdout).toBe('');
    expect(b.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(b.stderr).toMatch(IN_USE(state));
    expect(b.stderr).toContain(`in use by process ${a.child.pid} (started `);
    expect(lockHeld(join(state, 'run.lock'))).toBe(true);
    a.child.stdin.end('Ann\n');
    const done = await a.done;
    expect(done.code, describeRun(done)).toBe(EXIT_OK);
    expect(existsSync(join(state, 'run.lock')), 'run.lock is never unlinked').toBe(true);
    expect(readFileSync(join(state, 'run.lock'), 'utf8'), 'the released lock names no holder').toBe('');
    expect(lockHeld(join(state, 'run.lock'))).toBe(false);
  });
});
