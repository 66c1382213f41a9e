// What the CLI does when the world around a run misbehaves: an unwritable or read-only state
// directory, a full disk, stdout closed by its reader, an --input that is missing or a
// directory, --state naming a file, SIGINT/SIGTERM, bad PB_* values and bad numeric flags.
// Each is one line on stderr with a documented exit code (4 for files and state, 2 for
// usage, 130/143 for a signal), never a stack trace, and a durable run stays resumable.
//
// Root can write anywhere, so the read-only cases run the CLI as `nobody` when this is
// root. The full-disk case mounts a small tmpfs, and is skipped (loudly) where it cannot.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO, describeRun, runCli, tempRoot, type CliRun } from './support/cli.js';
import { decodeJournal } from '../vm/durable/journal.js';

const FIX = join(REPO, 'test/fixtures/cli');
const TOOLS = join(FIX, 'tools.mjs');
const fix = (name: string) => join(FIX, name);
const tmp = tempRoot('pb-cli-errors-');
const lines = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));
const COUNT_LINES = [...Array.from({ length: 20000 }, (_, i) => `line ${i}`), 'done'];

/** One line on stderr, no stack trace, the exit code. */
function expectOneLine(r: CliRun, code: number, text: RegExp): void {
  expect(r.code, describeRun(r)).toBe(code);
  expect(lines(r.stderr), describeRun(r)).toHaveLength(1);
  expect(r.stderr).toMatch(text);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/** Runs the CLI as `nobody` when this is root (so permissions apply), else as this user. */
function asUser(args: string[], cwd: string): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, ...(ROOT ? { uid: NOBODY, gid: NOBODY } : {}), timeout: 30_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, killed: false, hung: r.error !== undefined, ms: 0, startedAt: 0 };
}

/** A directory the CLI's user can read and enter but not write. */
function readOnlyDir(name: string): string {
  const base = tmp(name);
  // The test's temp dirs are private (mkdtemp, 0700): let `nobody` through to this one.
  chmodSync(base, 0o755);
  chmodSync(dirname(base), 0o755);
  const dir = join(base, 'ro');
  mkdirSync(dir);
  return dir;
}

describe('state directory problems are one line, exit 4', () => {
  it('--state naming a file, or a path under a file', async () => {
    const dir = tmp('file');
    const file = join(dir, 'afile');
    writeFileSync(file, 'x');
    expectOneLine(await runCli(['run', fix('count.pb'), '--state', file]), 4, /afile: error: not a directory/);
    expectOneLine(await runCli(['run', fix('count.pb'), '--state', join(file, 'sub', 'state')]), 4, /sub\/state: error: cannot create the state directory: not a directory \(ENOTDIR\)/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('a read-only state directory: a new run, and the resume of an existing run', async () => {
    const ro = readOnlyDir('readonly');
    // A finished-looking run cannot be resumed anyway: make one that stopped at its step budget.
    const state = join(ro, 'state');
    const made = await runCli(['run', fix('count.pb'), '--state', state, '--max-steps', '50']);
    expect(made.code, describeRun(made)).toBe(3);
    for (const p of [ro, state]) chmodSync(p, 0o555);
    for (const f of ['journal.pbj', 'program.pbasm']) chmodSync(join(state, f), 0o444);
    if (!ROOT) console.warn('cli-errors: not root; the read-only cases run as this user');

    expectOneLine(asUser(['run', fix('count.pb'), '--state', join(ro, 'new')], ro), 4, /new: error: cannot create the state directory: permission denied \(EACCES\)/);
    expectOneLine(asUser(['resume', state], ro), 4, /state: error: cannot use the state directory: (permission denied \(EACCES\)|read-only file system \(EROFS\))/);
    // inspect reads only, so it still works.
    const insp = asUser(['inspect', state], ro);
    expect(insp.code, describeRun(insp)).toBe(0);
    expect(insp.stdout).toMatch(/: failed \(step budget exceeded/);
  });
});

/** True when this process may mount a tmpfs (root with CAP_SYS_ADMIN). */
function canMount(): boolean {
  if (!ROOT) return false;
  const probe = join(tmp('probe'), 'mnt');
  mkdirSync(probe);
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  return ok;
}

describe('a full disk', () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts) spawnSync('umount', ['-l', m]);
  });

  it('stops the run with one line (exit 4); once space is freed, resume loses and repeats nothing', async (ctx) => {
    if (!canMount()) {
      console.warn('cli-errors: SKIPPED the full-disk test: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)');
      ctx.skip();
    }
    const mnt = join(tmp('full'), 'mnt');
    mkdirSync(mnt);
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]).status).toBe(0);
    mounts.push(mnt);
    // Leave about 140 KiB: the run's journal of 20001 lines needs about 290 KiB.
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(880 * 1024));
    const state = join(mnt, 'state');
    const first = await runCli(['run', fix('count.pb'), '--state', state]);
    expectOneLine(first, 4, new RegExp(`state: error: cannot write journal.pbj: no space left on device \\(ENOSPC\\); the run is kept: fix the cause, then continue with: pb resume ${state.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\n$`));
    expect(lines(first.stdout).length).toBeGreaterThan(0);
    expect(lines(first.stdout).length).toBeLessThan(COUNT_LINES.length);

    // Still full: the resume says so the same way.
    const full = await runCli(['resume', state]);
    expect(full.code, describeRun(full)).toBe(4);
    expect(full.stderr).toMatch(/no space left on device \(ENOSPC\)/);
    expect(full.stderr).not.toMatch(/^\s+at /m);

    rmSync(filler);
    const second = await runCli(['resume', state]);
    expect(second.code, describeRun(second)).toBe(0);
    expect([...lines(first.stdout), ...lines(full.stdout), ...lines(second.stdout)]).toEqual(COUNT_LINES);
  });
});

/** Spawns the CLI with stdout read until `closeAfter` bytes arrived, then closed. */
function closingReader(args: string[], cwd: string, closeAfter: number): Promise<CliRun & { received: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let received = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      received += d;
      if (received.length >= closeAfter) child.stdout.destroy();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout: received, stderr, received, killed: false, hung: signal === 'SIGKILL', ms: 0, startedAt: 0 });
    });
  });
}

describe('stdout closed by its reader (EPIPE)', () => {
  it('ends a durable run quietly, exit 4, resumable; resume repeats nothing', async () => {
    const state = join(tmp('epipe'), 'state');
    const first = await closingReader(['run', fix('count.pb'), '--state', state], REPO, 10);
    expectOneLine(first, 4, /^pb: stdout was closed; the run stopped; continue with: pb resume .*state\n$/);
    expect(decodeJournal(readFileSync(join(state, 'journal.pbj'))).records.some((r) => r.t === 'end')).toBe(false);
    const second = await runCli(['resume', state]);
    expect(second.code, describeRun(second)).toBe(0);
    const got = [...lines(first.received).slice(0, -1), ...lines(second.stdout)];
    expect(new Set(got).size, 'a line was printed twice').toBe(got.length);
    expect(lines(second.stdout).slice(-1)).toEqual(['done']);
  });

  it('without --state: exit 4 and nothing on stderr; other commands end quietly', async () => {
    const run = await closingReader(['run', fix('count.pb')], REPO, 10);
    expect(run.code, describeRun(run)).toBe(4);
    expect(run.stderr).toBe('');
    const disasm = await closingReader(['disasm', fix('count.pb')], REPO, 10);
    expect(disasm.code, describeRun(disasm)).toBe(0);
    expect(disasm.stderr).toBe('');
  });
});

describe('--input that cannot be read', () => {
  it('missing, or a directory: one line, exit 4, before anything runs', async () => {
    const dir = tmp('input');
    const state = join(dir, 'state');
    expectOneLine(await runCli(['run', fix('count.pb'), '--input', join(dir, 'missing.txt'), '--state', state]), 4, /missing\.txt: error: cannot read the input file: no such file or directory \(ENOENT\)/);
    expect(existsSync(join(state, 'journal.pbj'))).toBe(false);
    expectOneLine(await runCli(['run', fix('count.pb'), '--input', dir]), 4, /: error: cannot read the input file: is a directory \(EISDIR\)/);
    // resume --input too, and the run is left as it was.
    const made = await runCli(['run', fix('count.pb'), '--state', state, '--max-steps', '50']);
    expect(made.code, describeRun(made)).toBe(3);
    const before = readFileSync(join(state, 'journal.pbj'));
    expectOneLine(await runCli(['resume', state, '--input', dir]), 4, /cannot read the input file: is a directory \(EISDIR\)/);
    expect(readFileSync(join(state, 'journal.pbj')).equals(before)).toBe(true);
    const go = await runCli(['resume', state, '--max-steps', '1000000']);
    expect(go.code, describeRun(go)).toBe(0);
  });
});

/** Spawns the CLI; sends `sig` once `ready()` holds, then waits for the exit. */
function signalWhen(args: string[], sig: NodeJS.Signals, ready: (stdout: string) => boolean, env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, ...env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const poll = setInterval(() => {
      if (sent || !ready(stdout)) return;
      sent = true;
      // A moment more, so the run is well inside what it is doing.
      setTimeout(() => child.kill(sig), 200);
    }, 10);
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, killed: false, hung: signal === 'SIGKILL', ms: 0, startedAt: 0 });
    });
  });
}

describe('SIGINT / SIGTERM under --state', () => {
  it('while a tool call is in flight: one line, exit 130; resume re-issues the call and finishes', async () => {
    const state = join(tmp('sigint-tool'), 'state');
    const journal = join(state, 'journal.pbj');
    const inFlight = () => existsSync(journal) && decodeJournal(readFileSync(journal)).records.some((r) => r.t === 'tool-start');
    const first = await signalWhen(['run', fix('wait.pb'), '--tools', TOOLS, '--state', state], 'SIGINT', inFlight, { PB_TOOL_TIMEOUT_MS: '0' });
    expect(first.hung, describeRun(first)).toBe(false);
    expect(first.code, describeRun(first)).toBe(130);
    expect(lines(first.stderr).filter((l) => !/warning|^\s*\d*\s*\|/.test(l))).toEqual([`pb: interrupted; continue with: pb resume ${state}`]);
    expect(lines(first.stdout)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    // The lock is released: resume takes it and finishes.
    const second = await runCli(['resume', state], { env: { CLI_FIXED: '1' } });
    expect(second.code, describeRun(second)).toBe(0);
    expect(lines(second.stdout)).toEqual(['after fixed']);
  });

  it('in a loop that has no effects at all (SIGINT), and in the resumed run (SIGTERM, exit 143)', async () => {
    const state = join(tmp('sigint-spin'), 'state');
    const journal = join(state, 'journal.pbj');
    const first = await signalWhen(['run', fix('spin.pb'), '--state', state], 'SIGINT', () => existsSync(journal));
    expect(first.hung, `SIGINT was not noticed\n${describeRun(first)}`).toBe(false);
    expectOneLine(first, 130, new RegExp(`^pb: interrupted; continue with: pb resume ${state.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\n$`));
    const resumed = () => decodeJournal(readFileSync(journal)).records.some((r) => r.t === 'resume');
    const second = await signalWhen(['resume', state], 'SIGTERM', resumed);
    expect(second.hung, `SIGTERM was not noticed\n${describeRun(second)}`).toBe(false);
    expectOneLine(second, 143, /^pb: interrupted; continue with: pb resume /);
    const insp = await runCli(['inspect', state]);
    expect(insp.code, describeRun(insp)).toBe(0);
  });
});

describe('bad settings: one line, exit 2', () => {
  it('every PB_* variable pbvm reads is checked, with or without a model configured', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PB_MODEL_TIMEOUT_MS: 'abc' }, /^pb: error: PB_MODEL_TIMEOUT_MS="abc": expected a whole number of milliseconds/],
      [{ PB_MODEL_TIMEOUT_MS: '0' }, /PB_MODEL_TIMEOUT_MS="0"/],
      [{ PB_MODEL_TIMEOUT_MS: '1.5' }, /PB_MODEL_TIMEOUT_MS="1.5"/],
      [{ PB_MODEL_RETRIES: '-1' }, /PB_MODEL_RETRIES="-1": expected a whole number of retries/],
      [{ PB_MODEL_RETRIES: 'many' }, /PB_MODEL_RETRIES="many"/],
      [{ PB_TOOL_TIMEOUT_MS: ' 5' }, /PB_TOOL_TIMEOUT_MS=" 5"/],
      [{ PB_MODEL: 'claude sonnet' }, /PB_MODEL="claude sonnet": expected a model id/],
    ];
    for (const [env, text] of cases) {
      for (const model of [{}, { ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' }]) {
        const r = await runCli(['run', fix('count.pb')], { env: { ...env, ...model }, isolateModel: true });
        expectOneLine(r, 2, text);
        expect(r.stdout).toBe('');
      }
    }
    const state = join(tmp('env'), 'state');
    const made = await runCli(['run', fix('count.pb'), '--state', state, '--max-steps', '50']);
    expect(made.code).toBe(3);
    expectOneLine(await runCli(['resume', state], { env: { PB_MODEL_RETRIES: 'x' } }), 2, /PB_MODEL_RETRIES="x"/);
    // An empty value is unset.
    const empty = await runCli(['resume', state, '--max-steps', '1000000'], { env: { PB_MODEL_TIMEOUT_MS: '', PB_TOOL_TIMEOUT_MS: '' }, isolateModel: true });
    expect(empty.code, describeRun(empty)).toBe(0);
  });

  it('every numeric flag', async () => {
    const state = join(tmp('flags'), 'state');
    const cases: string[][] = [
      ['run', fix('count.pb'), '--max-steps', 'abc'],
      ['run', fix('count.pb'), '--max-steps', '0'],
      ['run', fix('count.pb'), '--max-steps', '1.5'],
      ['run', fix('count.pb'), '--max-steps', '1e3'],
      ['run', fix('count.pb'), '--max-steps', '0x10'],
      ['run', fix('count.pb'), '--max-model-calls', 'x'],
      ['run', fix('count.pb'), '--context-budget', '-5'],
      ['run', fix('count.pb'), '--tool-timeout', 'soon'],
      ['resume', state, '--max-steps', 'x'],
      ['resume', state, '--tool-timeout', '2147483648'],
      ['inspect', state, '-n', 'ten'],
    ];
    for (const args of cases) {
      const r = await runCli(args);
      expectOneLine(r, 2, /^pb: error: option '.*' argument '.*' is invalid\. expected .* \(see pb (run|resume|inspect) --help\)$/m);
    }
  });
});
