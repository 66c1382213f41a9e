// Runs the built `pb` CLI as a child process for tests: stdin, environment, a SIGKILL at a
// chosen moment (for crash/resume trials) and a hang guard. Always asynchronous, so a fake
// server living in the test process keeps answering while the child runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO, 'dist/src/cli/main.js');

export interface CliOptions {
  /** Written to stdin, which is then closed (EOF). */
  input?: string;
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Leave out every ANTHROPIC_* and PB_MODEL* variable of this process's environment. */
  isolateModel?: boolean;
  /** SIGKILL this many ms after `killWhen()` first holds, or after spawn without it. */
  killAfterMs?: number;
  killWhen?: () => boolean;
  /** How often `killWhen` is polled. */
  pollMs?: number;
  /** Treat the process as hung, and kill it, after this long. */
  hangMs?: number;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by the planned SIGKILL (not by the hang guard). */
  killed: boolean;
  hung: boolean;
  /** Run time in ms; Date.now() at spawn and at the planned SIGKILL. */
  ms: number;
  startedAt: number;
  killedAt?: number;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !(options.isolateModel && /^(ANTHROPIC_|PB_MODEL)/.test(k))) env[k] = v;
  }
  Object.assign(env, options.env ?? {}, { NODE_OPTIONS: '' });
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const startedAt = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killedAt: number | undefined;
    let hung = false;
    const timers: NodeJS.Timeout[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    const alive = () => child.exitCode === null && child.signalCode === null;
    const kill = () => {
      if (!alive()) return;
      killedAt = Date.now();
      child.kill('SIGKILL');
    };
    if (options.killAfterMs !== undefined) {
      const when = options.killWhen;
      if (!when) timers.push(setTimeout(kill, options.killAfterMs));
      else {
        const poll = setInterval(() => {
          if (!when()) return;
          clearInterval(poll);
          timers.push(setTimeout(kill, options.killAfterMs));
        }, options.pollMs ?? 5);
        timers.push(poll);
      }
    }
    timers.push(
      setTimeout(() => {
        if (!alive()) return;
        hung = true;
        child.kill('SIGKILL');
      }, options.hangMs ?? 30_000),
    );
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolvePromise({
        code,
        signal,
        stdout,
        stderr,
        killed: killedAt !== undefined && signal === 'SIGKILL',
        hung,
        ms: performance.now() - started,
        startedAt,
        ...(killedAt !== undefined ? { killedAt } : {}),
      });
    });
  });
}

/** Holds once `path` exists or its size differs from what it was when this was called. */
export function fileChanged(path: string): () => boolean {
  const size = () => statSync(path, { throwIfNoEntry: false })?.size ?? -1;
  const initial = size();
  return () => size() !== initial;
}

/** A temporary root for a test file, removed after it; returns a maker of fresh subdirectories. */
export function tempRoot(prefix: string): (name: string) => string {
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });
  return (name) => mkdtempSync(join(root, `${name}-`));
}

export function describeRun(p: CliRun): string {
  return `exit ${p.code}${p.signal ? ` (${p.signal})` : ''}${p.hung ? ' HUNG' : ''}\n--- stdout ---\n${p.stdout}--- stderr ---\n${p.stderr}`;
}
