// One kill -9 trial of a durable run: `pb run --state` killed at planned moments, then
// `pb resume` until the run ends. Collects what every attempt printed, the lines lost in the
// documented window between journaling a line and printing it (see checkPrinted), and every
// problem seen on the way. Used by test/multi-agent-durability.test.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeRun, fileChanged, runCli, type CliRun } from './cli.js';
import { checkPrinted, journalOf } from './journal-check.js';

const EXIT_IO = 4;

/** A kill moment: from the spawn (start-up), or from the process's first journal write. */
export interface KillPlan {
  ms: number;
  anchored: boolean;
}

export interface Timing {
  /** From spawn until the state directory holds a journal. */
  startup: number;
  /** A whole uninterrupted run. */
  total: number;
}

/** A quarter of the kills in start-up, the rest spread over the run after its first journal write. */
export function killPlan(rng: () => number, t: Timing): KillPlan {
  if (rng() < 0.25) return { ms: rng() * t.startup, anchored: false };
  return { ms: rng() * Math.max(1, t.total - t.startup), anchored: true };
}

/** An uninterrupted durable run, timed as killPlan needs. */
export async function timedRun(args: string[], state: string, env: Record<string, string>): Promise<{ run: CliRun; timing: Timing }> {
  let startup = 0;
  const t = performance.now();
  const poll = setInterval(() => {
    if (!startup && existsSync(join(state, 'journal.pbj'))) startup = performance.now() - t;
  }, 2);
  const run = await runCli(args, { env });
  clearInterval(poll);
  return { run, timing: { startup: startup || run.ms / 2, total: run.ms } };
}

export interface CrashTrial {
  /** What all attempts printed, in order. */
  stdout: string;
  /** Lines journaled but not printed by a killed process (at most one per kill). */
  lost: string[];
  kills: number;
  resumes: number;
  /** How the last attempt exited (the run's end: 0, or 3 for a program error); null when endedBeforeKill. */
  exit: number | null;
  /** The last kill came after the run had journaled its end: `pb resume` said it has ended. */
  endedBeforeKill: boolean;
  /** stderr of the last attempt. */
  stderr: string;
  history: string[];
  problems: string[];
}

/**
 * Runs `runArgs` (a `pb run ... --state STATE`) with the kills in `plans`, then resumes
 * without kills (at most 3 times) until an attempt exits other than by the kill. A kill that
 * came after the run had journaled its end leaves a run that `pb resume` calls ended: that
 * counts as its end (endedBeforeKill).
 */
export async function crashTrial(runArgs: string[], state: string, env: Record<string, string>, plans: KillPlan[]): Promise<CrashTrial> {
  const r: CrashTrial = { stdout: '', lost: [], kills: 0, resumes: 0, exit: null, endedBeforeKill: false, stderr: '', history: [], problems: [] };
  let done = false;
  const step = async (plan: KillPlan | undefined): Promise<void> => {
    const created = existsSync(join(state, 'journal.pbj'));
    // No journal yet: the run was never created (or its creation was cut short), so run afresh.
    const args = created ? ['resume', state] : runArgs;
    if (created) r.resumes++;
    const before = journalOf(state).records.length;
    const p = await runCli(args, {
      env,
      ...(plan ? { killAfterMs: plan.ms, ...(plan.anchored ? { killWhen: fileChanged(join(state, 'journal.pbj')), pollMs: 1 } : {}) } : {}),
    });
    r.stdout += p.stdout;
    r.history.push(`${args[0]}${plan ? ` kill@${plan.anchored ? 'journal+' : ''}${plan.ms.toFixed(0)}ms` : ''}: ${p.killed ? 'killed' : `exit ${p.code}`} after ${p.ms.toFixed(0)} ms`);
    const after = journalOf(state);
    if (after.error) r.problems.push(`after '${args[0]}' the journal does not decode: ${after.error}`);
    const printed = checkPrinted(after.records.slice(before), after.torn, p.killed, p.stdout);
    if (printed.problem) r.problems.push(`'pb ${args[0]}': ${printed.problem}`);
    r.lost.push(...printed.lost);
    if (p.killed) {
      r.kills++;
      return;
    }
    done = true;
    if (p.hung) r.problems.push(`'pb ${args[0]}' hung\n${describeRun(p)}`);
    if (created && r.kills > 0 && p.code === EXIT_IO && /the run has already ended/.test(p.stderr) && p.stdout === '') {
      r.endedBeforeKill = true;
      r.exit = null;
      r.stderr = '';
      return;
    }
    r.exit = p.code;
    r.stderr = p.stderr;
  };
  for (const plan of plans) {
    if (done) break;
    await step(plan);
  }
  for (let k = 0; k < 3 && !done; k++) await step(undefined);
  if (!done) r.problems.push('did not end after 3 resumes without a kill');
  return r;
}
