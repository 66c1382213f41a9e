// Durability and determinism of multi-agent runs (#12).
//
// 1. kill -9 at random moments during a two-agent exchange whose worker calls a slow host tool,
//    then `pb resume` until done: every tool effect once, every printed line once, finished.
// 2. A scheduler property: random message patterns among 2-5 agents (test/support/agent-programs.ts)
//    give the same output and outcome on every in-process run, and the same output, journal
//    'out' lines and 'msg' records after kill -9 + resume as without.
//
// Spawns the built CLI (dist/src/cli/main.js). Knobs: MA_TRIALS (default 20), MA_SEED
// (default 0x12ab), MA_PROGRAMS (default 40 random programs), MA_DURABLE (default 6 of them
// run durably with kills).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CLI, REPO, describeRun, runCli, tempRoot } from './support/cli.js';
import { seededRandom } from './support/fake-anthropic.js';
import { collectingIO, compileFile } from './support/in-process.js';
import { journalOf, lines, outTexts } from './support/journal-check.js';
import { crashTrial, killPlan, timedRun, type CrashTrial, type Timing } from './support/crash-resume.js';
import { randomAgentProgram, type AgentProgram } from './support/agent-programs.js';
import { runProgram, type RunReport } from '../src/run.js';
import type { JournalRecord } from '../vm/durable/journal.js';
import { captureMachine, restoreMachine } from '../vm/durable/snapshot.js';
import { Machine } from '../vm/machine.js';
import type { Effect } from '../vm/effects.js';

const FIX = join(REPO, 'test/fixtures/multi-agent-durability');
const TOOLS = join(FIX, 'tools.mjs');
const EXCHANGE_PB = join(FIX, 'exchange.pb');
const SEED = Number(process.env.MA_SEED ?? 0x12ab);
const CONCURRENCY = 2;
const tmp = tempRoot('pbvm-ma-durability-');

/** Runs `n` jobs, `CONCURRENCY` at a time, returning their results in job order. */
async function pool<T>(n: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await job(i);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return out;
}

async function inspect(state: string): Promise<RunReport> {
  const p = await runCli(['inspect', '--json', state]);
  if (p.code !== 0) throw new Error(`pb inspect --json failed\n${describeRun(p)}`);
  return JSON.parse(p.stdout) as RunReport;
}

type MsgRecord = Extract<JournalRecord, { t: 'msg' }>;
const msgRecords = (state: string): MsgRecord[] => journalOf(state).records.filter((r): r is MsgRecord => r.t === 'msg');

/** Problems with a crash trial's output against the uninterrupted run's lines. */
function outputProblems(t: CrashTrial, state: string, want: string[]): string[] {
  const problems: string[] = [];
  const journaled = outTexts(journalOf(state).records);
  if (JSON.stringify(journaled) !== JSON.stringify(want)) problems.push(`the journal's 'out' lines differ from the uninterrupted run:\n${journaled.join('\n')}`);
  // Every line is printed once, in order; a line lost in the window between journaling and
  // printing (checked in crashTrial, at most one per kill) is the only allowed difference.
  const expected = [...want];
  for (const l of t.lost) expected.splice(expected.lastIndexOf(l), 1);
  const got = lines(t.stdout);
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    problems.push(`stdout of all attempts differs from the uninterrupted run (lost in the window: ${JSON.stringify(t.lost)}):\n--- got ---\n${got.join('\n')}\n--- want ---\n${expected.join('\n')}`);
  }
  if (t.lost.length > t.kills) problems.push(`${t.lost.length} lines lost with only ${t.kills} kills`);
  return problems;
}

/** Problems with the 'msg' records: numbers 1..K, each once, the same deliveries as `want`. */
function msgProblems(got: MsgRecord[], want: MsgRecord[] | number): string[] {
  const ns = got.map((r) => r.n);
  const problems: string[] = [];
  if (JSON.stringify(ns) !== JSON.stringify(ns.map((_, i) => i + 1))) problems.push(`'msg' record numbers are not 1..${ns.length}, each once: ${JSON.stringify(ns)}`);
  if (typeof want === 'number') {
    if (got.length !== want) problems.push(`${got.length} 'msg' records for ${want} deliveries`);
  } else if (JSON.stringify(got) !== JSON.stringify(want)) {
    problems.push(`the 'msg' records differ from the uninterrupted run:\n${got.map((r) => JSON.stringify(r)).join('\n')}\n--- want ---\n${want.map((r) => JSON.stringify(r)).join('\n')}`);
  }
  return problems;
}

/** Kill moments for one trial: 1-3 kills, spread as killPlan spreads them. */
const plansFor = (rng: () => number, timing: Timing) => Array.from({ length: 1 + Math.floor(rng() * 3) }, () => killPlan(rng, timing));

describe('snapshots and the turn', () => {
  it('a snapshot taken right after a tool call keeps the turn passing to the next instance', () => {
    // The runner snapshots after an effect, when the turn is due to pass on (Machine.rotate);
    // a resume from that snapshot must go on as the run did, not with the same instance.
    const program = compileFile(join(FIX, 'turn-after-tool.pb'));
    const m = new Machine(program, { runId: 'turn' });
    expect(m.run()).toMatchObject({ kind: 'tool', name: 'Work' });
    m.resume('done a');
    m.rotate = true;
    const restored = restoreMachine(program, captureMachine(m));
    const says = (machine: Machine): string[] => {
      const out: string[] = [];
      for (let e: Effect = machine.run(); e.kind === 'say'; e = machine.run()) {
        out.push(e.text);
        machine.resume();
      }
      return out;
    };
    const want = ['Second runs while First waited for its tool', 'First after its tool'];
    expect(says(m)).toEqual(want);
    expect(says(restored)).toEqual(want);
  });
});

describe('kill -9 during a two-agent exchange with a slow tool', () => {
  const TRIALS = Number(process.env.MA_TRIALS ?? 20);
  const JOBS = 8;
  /** The worker's tool takes 20-60 ms (set here: the in-process test below sets other values in process.env). */
  const SLOW = { MA_MIN_MS: '20', MA_MAX_MS: '60' };

  it(`repeats and loses nothing over ${TRIALS} random kill -9 trials`, { timeout: 180_000 }, async () => {
    expect(existsSync(CLI), `${CLI} is missing: build first with \`npx tsc -p .\``).toBe(true);
    // The uninterrupted run: what every trial must add up to, and how long a run takes.
    const cal = tmp('exchange-calibrate');
    const calState = join(cal, 'state');
    const { run: base, timing } = await timedRun(['run', EXCHANGE_PB, '--tools', TOOLS, '--state', calState], calState, { ...SLOW, MA_OUT: join(cal, 'tool.txt') });
    expect(base.code, describeRun(base)).toBe(0);
    const want = lines(base.stdout);
    expect(want.filter((l) => l.startsWith('worker: job ')), 'the worker did every job').toHaveLength(JOBS);
    expect(want.filter((l) => l.startsWith('auditor saw done ')), 'the auditor heard of every job').toHaveLength(JOBS);
    const baseMsgs = msgRecords(calState);

    const rng = seededRandom(SEED);
    const seeds = Array.from({ length: TRIALS }, () => Math.floor(rng() * 2 ** 32));
    const results = await pool(TRIALS, async (i) => {
      const trialRng = seededRandom(seeds[i]!);
      const dir = tmp(`exchange-${i}`);
      const state = join(dir, 'state');
      const out = join(dir, 'tool.txt');
      const calls = join(dir, 'calls.txt');
      const t = await crashTrial(['run', EXCHANGE_PB, '--tools', TOOLS, '--state', state], state, { ...SLOW, MA_OUT: out, MA_CALLS: calls }, plansFor(trialRng, timing));
      const problems = [...t.problems];
      if (problems.length === 0) {
        if (t.exit !== 0 && !t.endedBeforeKill) problems.push(`the last attempt exited ${t.exit}:\n${t.stderr}`);
        problems.push(...outputProblems(t, state, want));
        // Each tool call id has its effect once, and the jobs are 0..JOBS-1, each once.
        const effects = existsSync(out) ? lines(readFileSync(out, 'utf8')) : [];
        const ids = effects.map((l) => l.split(' ')[0]!);
        const tags = effects.map((l) => Number(l.split(' ')[1])).sort((a, b) => a - b);
        if (new Set(ids).size !== ids.length || JSON.stringify(tags) !== JSON.stringify(Array.from({ length: JOBS }, (_, k) => k))) {
          problems.push(`tool effects are wrong (want one line per call id, jobs 0..${JOBS - 1} once each):\n${effects.join('\n')}`);
        }
        // A call in flight at a kill is re-issued with the same call id: at most one per kill.
        const invocations = existsSync(calls) ? lines(readFileSync(calls, 'utf8')) : [];
        const reissued = invocations.length - new Set(invocations).size;
        if (reissued > t.kills) problems.push(`${reissued} calls re-issued with only ${t.kills} kills:\n${invocations.join('\n')}`);
        if (new Set(invocations.map((l) => l.split(' ')[0])).size !== JOBS) problems.push(`calls were made under other ids than the ${JOBS} of the run:\n${invocations.join('\n')}`);
        problems.push(...msgProblems(msgRecords(state), baseMsgs));
        const report = await inspect(state);
        if (report.status !== 'finished') problems.push(`pb inspect --json says ${report.status}, want finished`);
      }
      return { t, problems: problems.map((p) => `trial ${i} (MA_SEED=${SEED}): ${p}\nhistory: ${t.history.join('; ')}`) };
    });
    const problems = results.flatMap((r) => r.problems);
    const kills = results.reduce((s, r) => s + r.t.kills, 0);
    console.log(
      `multi-agent durability: ${TRIALS} trials (seed ${SEED}), ${kills} kills, ${results.reduce((s, r) => s + r.t.resumes, 0)} resumes, ` +
        `${results.reduce((s, r) => s + r.t.lost.length, 0)} lines lost between journaling and printing; a run takes ${timing.total.toFixed(0)} ms (start-up ${timing.startup.toFixed(0)} ms)`,
    );
    expect(problems, problems.join('\n\n')).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(TRIALS);
  });
});

describe('scheduler property: random message patterns among N agents', () => {
  const PROGRAMS = Number(process.env.MA_PROGRAMS ?? 40);
  const DURABLE = Number(process.env.MA_DURABLE ?? 6);
  const RUNS = 3;

  interface Generated {
    index: number;
    seed: number;
    program: AgentProgram;
    path: string;
  }

  function generate(): Generated[] {
    const rng = seededRandom(SEED ^ 0x5c4ed);
    const dir = tmp('programs');
    return Array.from({ length: PROGRAMS }, (_, index) => {
      const seed = Math.floor(rng() * 2 ** 32);
      // Every fifth program waits for a message nobody sends.
      const program = randomAgentProgram(seededRandom(seed), { deadlock: index % 5 === 4 });
      const path = join(dir, `p${index}.pb`);
      writeFileSync(path, program.source);
      return { index, seed, program, path };
    });
  }

  const where = (g: Generated) => `program ${g.index} (generator seed ${g.seed}, MA_SEED=${SEED}; ${g.program.agents} agents, ${g.program.deliveries} messages, ${g.program.toolCalls} tool calls${g.program.deadlock ? ', built to deadlock' : ''})`;

  /** How a run ended, as text that must be the same on every run. */
  const outcomeText = (o: Awaited<ReturnType<typeof runProgram>>['outcome']) => (o.status === 'failed' ? `failed ${o.error.code}: ${o.error.message}` : o.status);

  let programs: Generated[] = [];

  it(`gives the same output and outcome on every run (${PROGRAMS} programs x ${RUNS} runs in-process)`, { timeout: 120_000 }, async () => {
    programs = generate();
    // The tool module reads its settings from this process's environment in-process.
    const saved = { MA_OUT: process.env.MA_OUT, MA_MIN_MS: process.env.MA_MIN_MS, MA_MAX_MS: process.env.MA_MAX_MS };
    onTestFinished(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    process.env.MA_OUT = join(tmp('in-process'), 'tool.txt');
    process.env.MA_MIN_MS = '0';
    process.env.MA_MAX_MS = '2';
    let deadlocks = 0;
    for (const g of programs) {
      const program = compileFile(g.path);
      const runs: Array<{ out: string[]; outcome: string }> = [];
      for (let k = 0; k < RUNS; k++) {
        const { io, out } = collectingIO();
        const { outcome } = await runProgram(program, { io, tools: TOOLS, maxSteps: 1_000_000 });
        runs.push({ out, outcome: outcomeText(outcome) });
      }
      const first = runs[0]!;
      const ctx = `${where(g)}\n--- output ---\n${first.out.join('\n')}\n--- outcome ---\n${first.outcome}\n--- program ---\n${g.program.source}`;
      for (const r of runs.slice(1)) {
        expect(r.out, `${ctx}\na later run printed something else`).toEqual(first.out);
        expect(r.outcome, `${ctx}\na later run ended otherwise`).toBe(first.outcome);
      }
      // The generator's promise: a projected global order finishes; the extra wait deadlocks.
      if (g.program.deadlock) {
        expect(first.outcome, ctx).toMatch(/^failed deadlock: deadlock: no agent can go on/);
        deadlocks++;
      } else expect(first.outcome, ctx).toBe('finished');
      const created = first.out.filter((l) => l.startsWith('created '));
      expect(created, `${ctx}\ncreated agents get the next ids, in creation order`).toEqual(g.program.created.map((id) => expect.stringMatching(new RegExp(`^created ${id} as `))));
      expect(first.out.filter((l) => / done$/.test(l) && !/ done t\d+$/.test(l)).length, `${ctx}\nevery agent that does not deadlock gets to its end`).toBe(g.program.agents - (g.program.deadlock ? 1 : 0));
    }
    expect(deadlocks).toBeGreaterThan(0);
  });

  it(`gives the same output and 'msg' records after kill -9 and resume (${DURABLE} programs)`, { timeout: 180_000 }, async () => {
    if (programs.length === 0) programs = generate();
    // The programs with the most messages and tool calls, deadlocks included.
    const chosen = [...programs].sort((a, b) => b.program.deliveries + 3 * b.program.toolCalls - (a.program.deliveries + 3 * a.program.toolCalls)).slice(0, DURABLE);
    if (!chosen.some((g) => g.program.deadlock)) chosen[chosen.length - 1] = programs.find((g) => g.program.deadlock)!;
    const env = (dir: string) => ({ MA_OUT: join(dir, 'tool.txt'), MA_CALLS: join(dir, 'calls.txt'), MA_MIN_MS: '5', MA_MAX_MS: '15' });
    const rng = seededRandom(SEED ^ 0xd00d);
    const problems: string[] = [];
    let kills = 0;
    for (const g of chosen) {
      const base = tmp(`durable-${g.index}`);
      const baseState = join(base, 'state');
      const { run, timing } = await timedRun(['run', g.path, '--tools', TOOLS, '--state', baseState], baseState, env(base));
      const ctx = `${where(g)}\n${describeRun(run)}\n--- program ---\n${g.program.source}`;
      expect(run.code, ctx).toBe(g.program.deadlock ? 3 : 0);
      if (g.program.deadlock) expect(run.stderr, ctx).toMatch(/error: deadlock: no agent can go on/);
      const want = lines(run.stdout);
      const wantMsgs = msgRecords(baseState);
      expect(msgProblems(wantMsgs, g.program.deliveries), `${ctx}\none 'msg' record per delivery`).toEqual([]);
      const seeds = [Math.floor(rng() * 2 ** 32), Math.floor(rng() * 2 ** 32)];
      const results = await pool(seeds.length, async (k) => {
        const dir = tmp(`durable-${g.index}-${k}`);
        const state = join(dir, 'state');
        const t = await crashTrial(['run', g.path, '--tools', TOOLS, '--state', state], state, env(dir), plansFor(seededRandom(seeds[k]!), timing));
        const p = [...t.problems];
        if (p.length === 0) {
          if (!t.endedBeforeKill) {
            if (t.exit !== run.code) p.push(`the last attempt exited ${t.exit}, the uninterrupted run ${run.code}:\n${t.stderr}`);
            // The deadlock is reported the same way (the last line of stderr is the error's call stack).
            const errorLine = (s: string) => lines(s).find((l) => /: error: /.test(l));
            if (errorLine(t.stderr) !== errorLine(run.stderr)) p.push(`the error differs:\n${t.stderr}\n--- uninterrupted ---\n${run.stderr}`);
          }
          p.push(...outputProblems(t, state, want));
          p.push(...msgProblems(msgRecords(state), wantMsgs));
          const report = await inspect(state);
          const status = g.program.deadlock ? 'failed' : 'finished';
          if (report.status !== status) p.push(`pb inspect --json says ${report.status}, want ${status}`);
          const effects = existsSync(join(dir, 'tool.txt')) ? lines(readFileSync(join(dir, 'tool.txt'), 'utf8')) : [];
          if (effects.length !== g.program.toolCalls || new Set(effects.map((l) => l.split(' ')[0])).size !== effects.length) {
            p.push(`want ${g.program.toolCalls} tool effects, one per call id:\n${effects.join('\n')}`);
          }
        }
        return { t, problems: p.map((x) => `${where(g)}, trial ${k}: ${x}\nhistory: ${t.history.join('; ')}`) };
      });
      for (const r of results) {
        kills += r.t.kills;
        problems.push(...r.problems);
      }
    }
    expect(problems, problems.join('\n\n')).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(chosen.length * 2);
  });
});
