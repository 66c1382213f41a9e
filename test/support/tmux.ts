// Runs a command in a real pseudo-terminal (a tmux pane on a private tmux server), types into
// it when the screen shows what it waits for, and returns the final screen and the raw bytes
// the pane received. Each session has its own socket (-L), and only that server is killed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function hasTmux(): boolean {
  return spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
}

export interface TerminalStep {
  /** Wait until the screen matches this ... */
  waitFor: RegExp;
  /** ... then type this line (Enter is sent after it). */
  type: string;
}

export interface TerminalRun {
  /** Every line of the pane (history included), trailing blank lines and tmux's own "Pane is dead" line removed. */
  screen: string;
  /** The bytes the program wrote to the terminal, escape sequences included. */
  raw: string;
}

let serial = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `command` (a shell command line) in a `width`x`height` terminal. */
export async function runInTerminal(command: string, steps: TerminalStep[], options: { width?: number; height?: number; deadlineMs?: number } = {}): Promise<TerminalRun> {
  const socket = `pbvm-test-${process.pid}-${serial++}`;
  const dir = mkdtempSync(join(tmpdir(), 'pbvm-tty-'));
  const rawFile = join(dir, 'raw');
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-', '-E', '-', '-t', 't');
  const until = async (what: string, ok: () => boolean) => {
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`terminal: gave up waiting for ${what}; the screen is:\n${screen()}`);
      await sleep(50);
    }
  };
  try {
    // The pane waits for a go file, so the raw recording is attached before the command runs.
    const go = join(dir, 'go');
    const script = `while [ ! -e ${shellQuote(go)} ]; do sleep 0.05; done; exec sh -c ${shellQuote(command)}`;
    tmux('new-session', '-d', '-x', String(options.width ?? 100), '-y', String(options.height ?? 40), '-s', 't', script);
    tmux('set-option', '-g', 'remain-on-exit', 'on');
    tmux('set-option', '-g', 'history-limit', '5000');
    tmux('pipe-pane', '-o', '-t', 't', `cat >> ${shellQuote(rawFile)}`);
    writeFileSync(go, '');
    const dead = () => tmux('display-message', '-p', '-t', 't', '#{pane_dead}').trim() === '1';
    for (const step of steps) {
      await until(`${step.waitFor}`, () => {
        if (step.waitFor.test(screen())) return true;
        if (dead()) throw new Error(`terminal: the program exited before the screen showed ${step.waitFor}; the screen is:\n${screen()}`);
        return false;
      });
      tmux('send-keys', '-t', 't', '-l', step.type);
      tmux('send-keys', '-t', 't', 'Enter');
    }
    await until('the program to exit', dead);
    const lines = screen()
      .split('\n')
      .filter((l) => !l.startsWith('Pane is dead'))
      .map((l) => l.trimEnd());
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    let raw = '';
    try {
      raw = readFileSync(rawFile, 'utf8');
    } catch {
      // No output at all.
    }
    return { screen: `${lines.join('\n')}\n`, raw };
  } finally {
    spawnSync('tmux', ['-L', socket, '-f', '/dev/null', 'kill-server']);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
