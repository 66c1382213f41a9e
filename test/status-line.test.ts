// The live status line on a real terminal (tmux): it never mixes with what the program says or
// what the user types, and it is absent under NO_COLOR, TERM=dumb, or when stderr is not a TTY.
// The final screens are goldens in test/golden/status-line/.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, REPO } from './support/cli.js';
import { hasTmux, runInTerminal, shellQuote, type TerminalStep } from './support/tmux.js';
import { EXAMPLE, EXAMPLE_INPUT, REPLAY } from './support/record-example.js';

const tmux = hasTmux();
if (!tmux && process.env.CI) throw new Error('tmux is missing (.ci/run installs it): the status-line tests need a terminal');
if (!tmux) console.warn('\n*** SKIPPED test/status-line.test.ts: tmux is not installed (apt-get install tmux) ***\n');

/** The support-triage example replayed on a terminal, the user typing the two answers. */
function triage(vars: string): Promise<{ screen: string; raw: string }> {
  const steps: TerminalStep[] = [
    { waitFor: /What seems to be the problem\?\n/, type: EXAMPLE_INPUT[0]! },
    { waitFor: /Please give me the invoice id\.\n/, type: EXAMPLE_INPUT[1]! },
  ];
  const cmd = `cd ${shellQuote(REPO)} && env ${env(vars)} ${shellQuote(process.execPath)} ${shellQuote(CLI)} run ${EXAMPLE} --replay ${REPLAY}; echo "[exit $?]"`;
  return runInTerminal(cmd, steps, { width: 100, height: 40 });
}

/** `env` arguments: unset the model's variables (offline) and NO_COLOR, then set `vars`. */
const env = (vars: string) => `-u ANTHROPIC_API_KEY -u ANTHROPIC_BASE_URL -u PB_MODEL -u NO_COLOR NODE_OPTIONS= ${vars}`;

describe.skipIf(!tmux)('the live status line on a terminal', () => {
  it('is drawn on stderr, and cleared around every line the program says and every line the user types', async () => {
    const r = await triage('TERM=screen');
    // It was there: drawn after a model reply, with the call counts (0 calls, replayed ones).
    expect(r.raw).toMatch(/\r\x1b\[KSupportTriage\.Main step 03 \| 0 calls \(\+1 replayed\) \| \d+\.\d s/);
    // ... and it is gone from the final screen: the transcript reads as if it had never been drawn.
    await expect(r.screen).toMatchFileSnapshot('./golden/status-line/tty.screen');
  });

  it('is not drawn under NO_COLOR: each model reply gets a plain stderr line instead', async () => {
    const r = await triage('NO_COLOR=1 TERM=screen');
    expect(r.raw).not.toContain('\x1b[K');
    await expect(r.screen).toMatchFileSnapshot('./golden/status-line/no-status.screen');
  });

  it('is not drawn under TERM=dumb', async () => {
    const r = await triage('TERM=dumb');
    expect(r.raw).not.toContain('\x1b[K');
    await expect(r.screen).toMatchFileSnapshot('./golden/status-line/no-status.screen');
  });

  it('is not drawn when stderr is not a terminal (stdout still is)', async () => {
    const steps: TerminalStep[] = [
      { waitFor: /What seems to be the problem\?\n/, type: EXAMPLE_INPUT[0]! },
      { waitFor: /Please give me the invoice id\.\n/, type: EXAMPLE_INPUT[1]! },
    ];
    const cmd = `cd ${shellQuote(REPO)} && env ${env('TERM=screen')} ${shellQuote(process.execPath)} ${shellQuote(CLI)} run ${EXAMPLE} --replay ${REPLAY} 2>/dev/null; echo "[exit $?]"`;
    const r = await runInTerminal(cmd, steps);
    expect(r.raw).not.toContain('\x1b[K');
    await expect(r.screen).toMatchFileSnapshot('./golden/status-line/stderr-redirected.screen');
  });
});

describe('the status line off a terminal', () => {
  it('writes no escape sequences to a piped stderr', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', EXAMPLE, '--replay', REPLAY, '--stats'], { cwd: REPO, input: `${EXAMPLE_INPUT.join('\n')}\n`, encoding: 'utf8', env: { ...process.env, TERM: 'xterm-256color' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('\x1b');
    expect(r.stderr).toMatch(/^pb: model reply replayed for SupportTriage\.Main step 03 \(phrase\)/m);
  });
});
