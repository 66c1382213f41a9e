// Bounds on nesting and size (vm/limits.ts, grammar/LANGUAGE.md "Limits"): every place that
// makes or grows a value checks the limit that applies and stops the program with a runtime
// error `limit-exceeded` at the source line (exit 3, not resumable); values from tools, the
// model and the command line are held to the same limits; a run state too big to snapshot is
// `state-unwritable`, resumable from the previous snapshot and journal; snapshot and journal
// encoding never throw past their callers; metadata lists nest at most 64 deep (a diagnostic,
// from `pb check` and `pb compile` alike); long call stacks show their two ends.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSource } from '../compiler/compile.js';
import { formatDiagnostics } from '../compiler/diagnostics.js';
import { parseScalar } from '../compiler/metadata.js';
import { dataLiteral } from '../compiler/data-literal.js';
import { ExprError, toExprByParser, unescape } from '../compiler/expr-ast.js';
import { seededRandom } from './support/fake-anthropic.js';
import { Machine } from '../vm/machine.js';
import { Runner, type DurableSink, type RunnerIO, type ToolHost } from '../vm/runner.js';
import { PbRuntimeError, StateWriteError } from '../vm/errors.js';
import { DEFAULT_LIMITS, LimitConfigError, nestingOf, parseLimit, resolveLimits, VMLimitError, type Limits } from '../vm/limits.js';
import { fromForeign, repr, toPlain } from '../vm/values.js';
import { encodeRecord } from '../vm/durable/journal.js';
import { captureMachine, decodeSnapshot, restoreMachine } from '../vm/durable/snapshot.js';
import { FormatError } from '../vm/pbasm/envelope.js';
import type { Program, Value } from '../vm/pbasm/program.js';
import { inspectRun, resumeRun, runProgram } from '../src/run.js';
import { CLI, describeRun, REPO, runCli, tempRoot } from './support/cli.js';

const TOOLS = join(REPO, 'test/fixtures/limits/tools.mjs');
const tmp = tempRoot('pb-limits-');

function compile(src: string, path = 'limits.pb'): Program {
  const r = compileSource(src, path);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(formatDiagnostics(errors, r.sources));
  return r.program!;
}

/** A program whose Main runs `steps` (one per line). */
const program = (...steps: string[]) => compile(`# Limits\n\n## Main\n### Triggers\n- At the beginning\n### Steps\n${steps.map((s) => `- ${s}`).join('\n')}\n`);

function io(input: string[] = []): RunnerIO & { out: string[] } {
  const out: string[] = [];
  const lines = [...input];
  return { out, writeLines: (l) => void out.push(...l), readLine: async () => lines.shift() ?? null };
}

/** Runs in-process with `limits`; returns the outcome and what was said. */
async function run(p: Program, limits?: Partial<Limits>, input?: string[]) {
  const console = io(input);
  const { outcome, machine } = await runProgram(p, { io: console, limits, maxSteps: 100_000 });
  return { outcome, machine, out: console.out };
}

async function failure(p: Program, limits?: Partial<Limits>) {
  const { outcome, machine } = await run(p, limits);
  expect(outcome.status).toBe('failed');
  if (outcome.status !== 'failed') throw new Error('unreachable');
  return { error: outcome.error, resumable: outcome.resumable, text: outcome.error.format(machine.program) };
}

describe('values the program makes stay within the limits', () => {
  it('a memory bomb ([0] * 50000000, then doublings) stops at once with limit-exceeded at its line, not resumable', async () => {
    const f = await failure(program('$x = [0] * 50000000', '$x = $x + $x', '$x = $x + $x', '$x = $x + $x', 'Say len($x)'));
    expect(f.error.code).toBe('limit-exceeded');
    expect(f.resumable).toBe(false);
    expect(f.text).toMatch(/^limits\.pb:7:3: error: '\*' would make a list of 50,000,000 items, more than the limit of 10,000,000 \(raise it with --limit list-length=N\)\n 7 \| - \$x = \[0\] \* 50000000/);
  });

  it('many big values that each keep within the limits are stopped before they fill the heap (exit 3, not a V8 abort)', () => {
    const dir = tmp('heap');
    const file = join(dir, 'many.pb');
    writeFileSync(file, '# M\n\n## Main\n### Steps\n- $all = []\n- For each i in range(100)\n  - $all = $all + [[i] * 5000000]\n- Say "never printed"\n');
    const r = spawnSync(process.execPath, ['--max-old-space-size=192', CLI, 'run', file], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
    expect(r.status, `${r.status} ${r.signal}\n${r.stderr.slice(0, 2000)}`).toBe(3);
    expect(r.stderr).toMatch(/many\.pb:7:5: error: '\*' would make a value of about 38 MiB while the program's values already take [\d,]+ MiB of the [\d,]+ MiB this process may use \(run node with --max-old-space-size to allow more\)/);
  });

  it('list and string repetition and concatenation are checked before the value is made', async () => {
    const lim = { listLength: 100, stringLength: 100 };
    expect((await failure(program('x = [1, 2] * 51'), lim)).error.message).toMatch(/^'\*' would make a list of 102 items/);
    expect((await failure(program('x = 101 * "a"'), lim)).error.message).toMatch(/^'\*' would make a string of 101 characters/);
    expect((await failure(program('x = range(60)', 'y = x + x'), lim)).error.message).toMatch(/^'\+' would make a list of 120 items/);
    expect((await failure(program('x = "a" * 60', 'y = x + x'), lim)).error.message).toMatch(/^'\+' would make a string of 120 characters/);
    // Empty repetitions never allocate, however large the count.
    const ok = await run(program('x = [] * 1000000000000', 'y = "" * 1000000000000', 'Say len(x) + len(y)'), lim);
    expect(ok.out).toEqual(['0']);
  });

  it('every native that can grow a value checks its result', async () => {
    const lim = { listLength: 10, stringLength: 20 };
    const cases: Array<[string, RegExp]> = [
      ['x = range(11)', /^range\(\) would make a list of 11 items/],
      ['x = split("a,b,c,d,e,f,g,h,i,j,k", ",")', /^split\(\) would make a list of 11 items/],
      ['x = split("a b c d e f g h i j k")', /^split\(\) would make a list of 11 items/],
      ['x = join(["aaaaaaaaaa", "bbbbbbbbbb"], "-")', /^join\(\) would make a string of 21 characters/],
      ['x = replace("aaaa", "a", "bbbbbb")', /^replace\(\) would make a string of 24 characters/],
      ['x = upper("ßßßßßßßßßßß")', /^upper\(\) would make a string of 22 characters/],
      ['x = format(1, "30")', /^format spec '30' would make a string of 30 characters/],
      ['x = append(range(10), 1)', /^append\(\) would make a list of 11 items/],
      ['x = json(range(10))', /^json\(\) would make a string longer than the limit of 20 characters/],
      ['x = str(range(10))', /^the text of this value would be a string longer than the limit of 20/],
      ['x = repr(range(10))', /^the text of this value would be a string longer than the limit of 20/],
      ['x = parse_json("[1,2,3,4,5,6,7,8,9,10,11]")', /^parse_json\(\) would make a list of 11 items/],
      ['For each c in "abcdefghijk"', /^iterating over a string would make a list of 11 items/],
      ['x = f"{range(4)}{range(4)}"', /^this f-string would make a string of 24 characters/],
    ];
    for (const [step, message] of cases) {
      const f = await failure(step.startsWith('For') ? compile(`# L\n\n## Main\n### Steps\n- ${step}\n  - Say c\n`) : program(step), lim);
      expect(f.error.code, step).toBe('limit-exceeded');
      expect(f.error.message, step).toMatch(message);
    }
    // Just under the limits, the same natives work.
    const ok = await run(program('Say len(range(10)) + len(split("a,b,c,d,e,f,g,h,i,j", ",")) + len(join(["aaaaaaaaa", "bbbbbbbbbb"], "-"))'), lim);
    expect(ok.out).toEqual(['40']);
  });

  it('a value built deeper than the nesting limit by ordinary code ($x = [$x] in a loop) fails where it is made', async () => {
    const deep = (wrap: string) => compile(`# L\n\n## Main\n### Steps\n- $x = 0\n- For each i in range(5000)\n  - $x = ${wrap}\n- Say "done"\n`);
    for (const wrap of ['[$x]', '{"a": $x}', 'append([], $x)']) {
      const f = await failure(deep(wrap));
      expect(f.error.code, wrap).toBe('limit-exceeded');
      expect(f.error.message, wrap).toMatch(/nested more than 100 levels deep \(raise it with --limit nesting=N\)$/);
      expect(f.text, wrap).toMatch(/^limits\.pb:7:5: error: /);
    }
    // Exactly at the limit is fine; the limit can be raised.
    expect((await run(compile(`# L\n\n## Main\n### Steps\n- $x = 0\n- For each i in range(100)\n  - $x = [$x]\n- Say "ok"\n`))).out).toEqual(['ok']);
    expect((await run(deep('[$x]'), { nesting: 500 })).outcome.status).toBe('failed');
    expect((await run(compile(`# L\n\n## Main\n### Steps\n- $x = 0\n- For each i in range(300)\n  - $x = [$x]\n- Say "ok"\n`), { nesting: 300 })).out).toEqual(['ok']);
  });

  it('nesting is measured once per container: wrapping the same big value many times stays fast and correct', () => {
    const big = Array.from({ length: 100_000 }, (_, i) => [i]);
    expect(nestingOf(big, 100)).toBe(2);
    let v: unknown = big;
    for (let i = 0; i < 98; i++) v = [v, big];
    expect(nestingOf(v, 100)).toBe(100);
    expect(nestingOf([v], 100)).toBeGreaterThan(100);
  });

  it('a list holding the same big list many times is refused when it would be copied out or printed whole', async () => {
    const dag = ['$x = range(100)', 'For each i in range(40)', '  $x = [$x, $x]'];
    const src = (last: string) => compile(`# L\n\n## Main\n### Steps\n- ${dag[0]}\n- ${dag[1]}\n  - $x = [$x, $x]\n- ${last}\n`);
    expect((await failure(src('Say $x'))).error.message).toMatch(/^the text of this value would be a string longer than the limit of 67,108,864 characters/);
    expect((await failure(src('Return $x'))).error.message).toMatch(/^the value Main returns holds more than the limit of 268,435,456 bytes of data/);
  });
});

describe('values from outside are held to the same limits', () => {
  it('fromForeign refuses tool results that are too deep, too long or too big', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 101; i++) deep = [deep];
    expect(() => fromForeign(deep)).toThrow(VMLimitError);
    expect(() => fromForeign(deep)).toThrow(/^the value holds lists and objects nested more than 100 levels deep/);
    expect(() => fromForeign(new Array(11).fill(0), resolveLimits({ listLength: 10 }))).toThrow(/a list of 11 items/);
    expect(() => fromForeign({ text: 'x'.repeat(21) }, resolveLimits({ stringLength: 20 }))).toThrow(/a string of 21 characters/);
    expect(() => fromForeign(Array.from({ length: 200 }, () => 'abcdefgh'), resolveLimits({ stateBytes: 1024 }))).toThrow(/more than the limit of 1,024 bytes of data/);
    // A cycle is nothing but too deep.
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => fromForeign(cyclic)).toThrow(VMLimitError);
    expect(fromForeign([1, { a: 'b' }])).toEqual([1, { a: 'b' }]);
  });

  it("a tool's too-deep result is a tool error naming the tool (the call can be retried on resume)", async () => {
    const m = new Machine(program('x = Deep(200)', 'Say "unreachable"'));
    const tools: ToolHost = { call: async (e) => (e.name === 'Deep' ? JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`) : null) };
    const outcome = await new Runner(m, { io: io(), tools }).run();
    expect(outcome.status).toBe('failed');
    if (outcome.status !== 'failed') return;
    expect(outcome.error.code).toBe('tool-error');
    expect(outcome.error.message).toMatch(/^tool 'Deep' failed \(call run:1\): the result of tool 'Deep' holds lists and objects nested more than 100 levels deep/);
  });

  it("the model's values (set_variable, a step's result) and entry arguments are checked too", async () => {
    let deep: Value = 0;
    for (let i = 0; i < 150; i++) deep = [deep];
    const m = new Machine(program('Ask user for $name'));
    expect(() => m.setVariable({ code: m.program.agents[0]!.playbooks[0]!, pc: 0, locals: [], base: 0, discard: false }, '$v', deep)).toThrow(PbRuntimeError);
    expect(m.run().kind).toBe('ask');
    expect(() => m.resume('x'.repeat(21))).not.toThrow();
    const m2 = new Machine(program('Ask user for $name'), { limits: { stringLength: 20 } });
    m2.run();
    let err: unknown;
    try {
      m2.resume('x'.repeat(21));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PbRuntimeError);
    expect((err as PbRuntimeError).code).toBe('limit-exceeded');
    const withArg = compile('# L\n\n## Main($data)\n### Triggers\n- At the beginning\n### Steps\n- Say len($data)\n');
    const { outcome } = await runProgram(withArg, { io: io(), args: { data: deep } });
    expect(outcome.status === 'failed' && outcome.error.code).toBe('limit-exceeded');
    expect(outcome.status === 'failed' && outcome.error.message).toMatch(/^argument 'data' holds lists and objects nested more than 100 levels deep/);
  });
});

describe('limits are documented, configurable and validated', () => {
  it('defaults, ranges and --limit syntax', () => {
    expect(DEFAULT_LIMITS).toEqual({ listLength: 10_000_000, stringLength: 64 * 1024 * 1024, nesting: 100, stateBytes: 256 * 1024 * 1024 });
    expect(parseLimit('state-bytes=1g')).toEqual(['stateBytes', 1024 ** 3]);
    expect(parseLimit('list-length=20M')).toEqual(['listLength', 20 * 1024 ** 2]);
    expect(parseLimit('nesting=200')).toEqual(['nesting', 200]);
    expect(() => parseLimit('nesting=501')).toThrow(/^limit nesting must be a whole number from 1 to 500, got 501$/);
    expect(() => parseLimit('depth=3')).toThrow(/^unknown limit 'depth' \(known: list-length, string-length, nesting, state-bytes\)$/);
    expect(() => parseLimit('nesting=lots')).toThrow(LimitConfigError);
    expect(() => new Machine(program('Say 1'), { limits: { listLength: 0 } })).toThrow(LimitConfigError);
    const doc = readFileSync(join(REPO, 'grammar/LANGUAGE.md'), 'utf8');
    for (const word of ['limit-exceeded', 'state-unwritable', 'list-length', 'string-length', 'nesting', 'state-bytes', '10,000,000', '64 Mi', '256 MiB']) expect(doc).toContain(word);
  });

  it('pb run --limit applies a limit (exit 3, the line in the message); a bad --limit is a usage error (exit 2)', async () => {
    const dir = tmp('cli');
    const file = join(dir, 'range.pb');
    writeFileSync(file, '# R\n\n## Main\n### Steps\n- Say len(range(50))\n- Say len(range(500))\n');
    const ok = await runCli(['run', file]);
    expect(ok.code, describeRun(ok)).toBe(0);
    expect(ok.stdout).toBe('50\n500\n');
    const limited = await runCli(['run', '--limit', 'list-length=100', file]);
    expect(limited.code, describeRun(limited)).toBe(3);
    expect(limited.stdout).toBe('50\n');
    expect(limited.stderr).toMatch(/^.*range\.pb:6:3: error: range\(\) would make a list of 500 items, more than the limit of 100 \(raise it with --limit list-length=N\)\n/);
    const bad = await runCli(['run', '--limit', 'nesting=0', file]);
    expect(bad.code, describeRun(bad)).toBe(2);
    expect(bad.stderr).toMatch(/limit nesting must be a whole number from 1 to 500, got 0/);
  });
});

describe('a durable run keeps its limits', () => {
  it('pb resume uses the limits the run started with, unless given --limit again', async () => {
    const dir = tmp('keep');
    const file = join(dir, 'later.pb');
    writeFileSync(file, '# K\n\n## Main\n### Steps\n- Ask user for $n\n- Say len(range(int($n)))\n');
    const state = join(dir, 'st');
    const first = await runCli(['run', '--state', state, '--limit', 'list-length=100', file], { input: '' });
    expect(first.code, describeRun(first)).toBe(3);
    expect(first.stderr).toMatch(/end of input/);
    const kept = await runCli(['resume', state], { input: '500\n' });
    expect(kept.code, describeRun(kept)).toBe(3);
    expect(kept.stderr).toMatch(/range\(\) would make a list of 500 items, more than the limit of 100 /);
    const state2 = join(dir, 'st2');
    await runCli(['run', '--state', state2, '--limit', 'list-length=100', file], { input: '' });
    const raised = await runCli(['resume', '--limit', 'list-length=1000', state2], { input: '500\n' });
    expect(raised.code, describeRun(raised)).toBe(0);
    expect(raised.stdout).toBe('500\n');
  });
});

describe('the run state stays writable', () => {
  it('a state over state-bytes at a snapshot is state-unwritable: nothing is written, the run resumes from its last snapshot with a higher limit', async () => {
    const dir = tmp('state');
    const state = join(dir, 'st');
    const file = join(dir, 'grow.pb');
    // The first Pause() makes sure a snapshot is taken (the runner snapshots at most every 250 ms).
    writeFileSync(file, '# G\n\n## Main\n### Steps\n- Say "start"\n- Pause()\n- Ask user for $name\n- $big = range(20000)\n- Pause()\n- Say f"done {$name} {len($big)}"\n');
    const first = await runCli(['run', '--state', state, '--tools', TOOLS, '--limit', 'state-bytes=64k', file], { input: 'Ann\n' });
    expect(first.code, describeRun(first)).toBe(3);
    expect(first.stderr).toMatch(/grow\.pb:9:3: error: cannot write a snapshot: the run state holds more than the limit of 65,536 bytes of data \(raise it with --limit state-bytes=N\)/);
    expect(first.stderr).toMatch(/continue with: pb resume /);
    // The snapshot on disk is the one taken before $big existed.
    const snap = decodeSnapshot(readFileSync(join(state, 'snapshot.pbs')));
    expect(snap.machine.state.G).toEqual({});
    expect(snap.machine.seq).toBe(2);
    // Resumed with a higher limit, it goes on from there: no line printed twice, no input asked again.
    const resumed = await runCli(['resume', '--limit', 'state-bytes=1m', state], { input: '' });
    expect(resumed.code, describeRun(resumed)).toBe(0);
    expect(first.stdout + resumed.stdout).toBe('start\nPlease provide name:\ndone Ann 20000\n');
  });

  it('a deep value is refused where it is made, so the snapshot and pb inspect keep working', async () => {
    const dir = tmp('deep');
    const state = join(dir, 'st');
    const p = compile('# D\n\n## Main\n### Steps\n- $x = 0\n- For each i in range(5000)\n  - $x = [$x]\n- Ask user for $y\n');
    const { outcome } = await runProgram(p, { io: io(['a']), state });
    expect(outcome.status === 'failed' && outcome.error.code).toBe('limit-exceeded');
    const report = await inspectRun(state);
    expect(report.status).toMatch(/^failed/);
    await expect(resumeRun(state, { io: io() })).rejects.toThrow(/the run has already ended/);
  });

  it('the runner turns a snapshot or journal that cannot be encoded into state-unwritable (resumable), never a crash', async () => {
    for (const where of ['snapshot', 'append'] as const) {
      const sink: DurableSink = {
        append: (records) => {
          if (where === 'append' && records.some((r) => r.t === 'input')) throw new StateWriteError('cannot journal a record: test');
        },
        snapshot: () => {
          if (where === 'snapshot') throw new StateWriteError('cannot write a snapshot: test');
        },
      };
      const outcome = await new Runner(new Machine(program('Ask user for $a', 'Say $a')), { io: io(['x']), durable: sink, snapshotMs: 0 }).run();
      expect(outcome.status, where).toBe('failed');
      if (outcome.status !== 'failed') continue;
      expect(outcome.error.code).toBe('state-unwritable');
      expect(outcome.resumable).toBe(true);
    }
  });

  it('captureMachine refuses an oversized state with StateWriteError before copying it', () => {
    const m = new Machine(program('Ask user for $a'), { limits: { stateBytes: 4096 } });
    m.run();
    m.state.Limits!.big = Array.from({ length: 1000 }, (_, i) => i);
    expect(() => captureMachine(m)).toThrow(StateWriteError);
    expect(() => captureMachine(m)).toThrow(/^cannot write a snapshot: the run state holds more than the limit of 4,096 bytes of data/);
    m.state.Limits!.big = 1;
    expect(() => captureMachine(m)).not.toThrow();
  });

  it('a journal record that cannot be encoded is a StateWriteError before a byte is written', () => {
    let deep: Value = 0;
    for (let i = 0; i < 3000; i++) deep = [deep];
    expect(() => encodeRecord({ t: 'tool-done', seq: 1, result: deep })).toThrow(StateWriteError);
    expect(() => encodeRecord({ t: 'tool-done', seq: 1, result: deep })).toThrow(/^cannot journal a 'tool-done' record: /);
  });

  it('a snapshot holding a value too deep to decode is a FormatError, not a stack overflow', () => {
    const m = new Machine(program('Ask user for $a'));
    m.run();
    const s = captureMachine(m);
    let deep: Value = 0;
    for (let i = 0; i < 20000; i++) deep = [deep];
    s.state.Limits = { x: deep };
    expect(() => restoreMachine(m.program, s)).toThrow(FormatError);
  });
});

describe('compile-time nesting', () => {
  it('metadata lists split at top-level commas and nest; deeper than 64 is a diagnostic', () => {
    expect(parseScalar('[[1, 2], ["a, b", c], []]')).toEqual([[1, 2], ['a, b', 'c'], []]);
    expect(parseScalar('[Alice, Bob]')).toEqual(['Alice', 'Bob']);
    expect(parseScalar("[it's, fine]")).toEqual(["it's", 'fine']);
    const problems: unknown[] = [];
    parseScalar(`  ${'['.repeat(70)}${']'.repeat(70)}`, (p) => problems.push(p));
    expect(problems).toEqual([{ message: 'metadata list nested more than 64 deep', offset: 66, length: 12 }]);
  });

  it('pb check and pb compile agree on a metadata list 1,500 and 2,470 deep: a diagnostic (exit 1), no stack trace', async () => {
    const dir = tmp('meta');
    for (const depth of [1500, 2470]) {
      const file = join(dir, `meta${depth}.pb`);
      writeFileSync(file, `# A\n\n## Main\nmeta: ${'['.repeat(depth)}${']'.repeat(depth)}\n### Steps\n- Say "hi"\n`);
      const check = await runCli(['check', file]);
      const comp = await runCli(['compile', file, '-o', join(dir, `meta${depth}.pbasm`)]);
      for (const r of [check, comp]) {
        expect(r.code, describeRun(r)).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`meta${depth}\\.pb:4:71: error: metadata list nested more than 64 deep\\n 4 \\| `));
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
      expect(existsSync(join(dir, `meta${depth}.pbasm`))).toBe(false);
    }
  });

  it('the data-literal fast path builds exactly what the parser builds, and leaves anything else to it', () => {
    const at = (offset: number, length: number) => ({ line: 1, col: offset + 1, length });
    const fast = (t: string) => dataLiteral(t, at, (x) => unescape(x, 0));
    const same = (t: string) => {
      const f = fast(t);
      expect(f, t).toBeDefined();
      expect(f, t).toEqual(toExprByParser(t, at));
    };
    for (const t of ['[]', '{}', ' [1, 2 ,3] ', '[1,,2]', '[1,]', '{a: 1, "b": [2], 3: None}', '[- - 1, +2, -0, 1.5e-3, -  7]', '["a\\"b", \'\\u0041\\n\', "x\ry"]', '[$x, y, True, true, False, None, null, none, Truex, _a1]', '[\t1,\r\n2\n]', '{"k": {"j": [[], {}]},}', '[1e999]', '[1e+5, 2E-3, 0.5e10, 007]']) same(t);
    // Random rows of data, as a program would paste them.
    const rnd = seededRandom(0x11a7);
    const atom = (): string => {
      const r = rnd();
      if (r < 0.2) return String(Math.floor(rnd() * 1e6));
      if (r < 0.3) return `-${(rnd() * 100).toFixed(2)}`;
      if (r < 0.5) return JSON.stringify(`t${Math.floor(rnd() * 1e4)}${rnd() < 0.2 ? '\n"q"' : ''}`);
      if (r < 0.6) return ['True', 'False', 'None', 'null', '$v', 'name'][Math.floor(rnd() * 6)]!;
      return '';
    };
    const val = (depth: number): string => {
      const a = atom();
      if (a && (depth > 3 || rnd() < 0.6)) return a;
      if (rnd() < 0.5) return `[${Array.from({ length: Math.floor(rnd() * 5) }, () => val(depth + 1)).join(rnd() < 0.5 ? ', ' : ',\n ')}]`;
      return `{${Array.from({ length: Math.floor(rnd() * 4) }, (_, i) => `${rnd() < 0.5 ? `k${i}` : `"k${i}"`}: ${val(depth + 1)}`).join(', ')}}`;
    };
    for (let i = 0; i < 300; i++) same(`[${val(0)}, ${val(0)}]`);
    // Not data: the parser reads these (or reports them).
    for (const t of ['[1] + [2]', '[f(1)]', '[x.y]', '[x[0]]', '[f"a{1}"]', '[1 2]', '[not x]', '[-x]', '[1, 2', '[1.]', '[1e]', '[1.e5]', '[1.5.3]', '[1e5x]', '{a: 1}.a', '[a in b]', '[$1]', '["a\nb"]', '(1)', '[1]\f']) {
      expect(fast(t), t).toBeUndefined();
    }
    expect(() => toExprByParser('[1 2]', at)).toThrow(ExprError);
  });

  it('a list literal of 100,000 items compiles and runs (literal parsing is linear)', async () => {
    const items = Array.from({ length: 100_000 }, (_, i) => (i % 3 === 0 ? `"s${i}"` : i % 3 === 1 ? String(i) : `-${i}.5`));
    const r = await run(program(`x = [${items.join(', ')}]`, 'Say len(x)', 'Say x[99999]', 'Say x[2]'));
    expect(r.out).toEqual(['100000', 's99999', '-2.5']);
  });
});

describe('runtime errors', () => {
  it('mutual recursion past the depth limit shows 10 frames at each end and a count, not 1,000 lines', async () => {
    const p = compile('# P\n\n## Ping($n)\n### Steps\n- Pong($n + 1)\n\n## Pong($n)\n### Steps\n- Ping($n + 1)\n\n## Main\n### Triggers\n- At the beginning\n### Steps\n- Ping(0)\n');
    const f = await failure(p);
    const lines = f.text.split('\n');
    expect(lines.length).toBeLessThan(30);
    expect(lines.filter((l) => l.startsWith('  in ')).length).toBe(20);
    expect(f.text).toContain('\n  ... 980 more frames ...\n');
    expect(lines[lines.length - 1]).toMatch(/^ {2}in P\.Main step 01 /);
  });

  it('repr and toPlain of ordinary values are unchanged', () => {
    const v = { a: [1, 'two', null, true], b: { c: 1.5 } };
    expect(repr(v)).toBe('{"a": [1, "two", None, True], "b": {"c": 1.5}}');
    expect(toPlain(v)).toEqual(v);
  });
});
