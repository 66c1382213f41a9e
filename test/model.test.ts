// Natural-language steps on a model: the REAL @anthropic-ai/sdk (through AnthropicModel)
// against the fake Messages API (test/support/fake-anthropic.ts) on loopback. Covers the
// driver's tools and NL kinds, fusion, the prompt's shape (cache breakpoints, stable prefix,
// fixed overhead, stack-shaped and bounded context, artifacts), fault injection, call budgets
// and permanent failures, record/replay, kill -9 during model calls, the Playbooks AI corpus
// and --stats. In-process runs use runProgram with a collecting io; CLI tests spawn the built
// CLI (dist/src/cli/main.js; `npm test` builds it first) with ANTHROPIC_BASE_URL at the fake.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileFile, collectingIO } from './support/in-process.js';
import { runCli, tempRoot, type CliRun } from './support/cli.js';
import { AnthropicModel } from '../src/providers/anthropic.js';
import { runProgram } from '../src/run.js';
import { PbRuntimeError } from '../vm/errors.js';
import type { ModelHost, RunOutcome } from '../vm/runner.js';
import { faultInjector, minimalResponder, startFakeAnthropic, type FakeAnthropic, type RecordedRequest, type Reply, type Responder } from './support/fake-anthropic.js';
import { CORPUS, corpusPresent } from './support/corpus.js';
import { byInstruction, contextOf, instructionOf, lastToolResults, promptText, sayingModel, stepOf, turnOf } from './support/model-script.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIX = join(REPO, 'test/fixtures/model');
const fix = (name: string) => join(FIX, name);

const EXIT_OK = 0;
const EXIT_RUNTIME = 3;

// ---------------------------------------------------------------------------------------
// Helpers

const tmp = tempRoot('pb-model-');

let fake: FakeAnthropic;
beforeEach(async () => {
  fake = await startFakeAnthropic();
});
afterEach(async () => {
  await fake.close();
});



interface InProcess {
  inputs?: string[];
  maxRetries?: number;
  timeoutMs?: number;
  maxSteps?: number;
  host?: Partial<ModelHost>;
}

function modelHost(opts: InProcess = {}): ModelHost {
  return {
    model: new AnthropicModel({ apiKey: 'test', baseURL: fake.url, maxRetries: opts.maxRetries ?? 2, timeoutMs: opts.timeoutMs ?? 5_000 }),
    ...opts.host,
  };
}

async function runFile(path: string, opts: InProcess = {}): Promise<{ outcome: RunOutcome; out: string[] }> {
  const { io, out } = collectingIO(opts.inputs);
  const { outcome } = await runProgram(compileFile(path), { io, model: modelHost(opts), ...(opts.maxSteps ? { maxSteps: opts.maxSteps } : {}) });
  return { outcome, out };
}

const failure = (o: RunOutcome) => (o.status === 'failed' ? `${o.error.code}: ${o.error.message}` : '');

/** Valid /v1/messages requests (what the SDK actually got answered or tried). */
const calls = () => fake.messageRequests();

/** Requests whose instruction matches. */
const callsFor = (re: RegExp) => calls().filter((r) => re.test(instructionOf(r)));

const forcedName = (r: RecordedRequest) => (r.body.tool_choice?.type === 'tool' ? r.body.tool_choice.name : undefined);

/** A reply that says one line per step listed in a fused instruction (or the single step). */
function sayEachStep(prefix: string): Responder {
  return (req) => {
    const ins = instructionOf(req);
    const steps = [...ins.matchAll(/^- (\S+): /gm)].map((m) => m[1]!);
    const ids = steps.length ? steps : [stepOf(req) ?? '?'];
    return { toolUses: [...ids.map((id) => ({ name: 'say', input: { message: `${prefix} ${id}` } })), { name: 'finish_step', input: {} }] };
  };
}

type Proc = CliRun;

interface PbOptions {
  input?: string;
  /** Replaces every ANTHROPIC_* / PB_MODEL* variable of this process's environment. */
  env?: Record<string, string>;
  /** SIGKILL this long after `killAnchor` appears (or after spawn). */
  killAfterMs?: number;
  killAnchor?: string;
  hangMs?: number;
}

function pb(args: string[], options: PbOptions = {}): Promise<Proc> {
  const { killAnchor, ...rest } = options;
  const anchored = killAnchor !== undefined ? { killWhen: () => existsSync(killAnchor) } : {};
  return runCli(args, { ...rest, ...anchored, isolateModel: true });
}

const fakeEnv = (extra: Record<string, string> = {}) => ({ ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: fake.url, PB_MODEL_RETRIES: '2', PB_MODEL_TIMEOUT_MS: '5000', ...extra });
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

// ---------------------------------------------------------------------------------------
// 1. NL steps through tools

describe('NL steps performed through tools', () => {
  it('say, set_variable, ask_user, call_playbook and finish_step; a text reply completes the step', async () => {
    fake.setResponder(
      byInstruction([
        [/^Perform step \S+: Welcome the user/, [{ toolUse: { name: 'say', input: { message: 'Welcome to the Acme shop!' } } }, { toolUse: { name: 'finish_step', input: {} } }]],
        [/favourite color/, { toolUses: [{ name: 'set_variable', input: { name: '$color', value: 'blue' } }, { name: 'finish_step', input: {} }] }],
        [
          /user's name/,
          (req, turn) =>
            turn === 0
              ? { toolUse: { name: 'ask_user', input: { question: 'What is your name?' } } }
              : { toolUses: [{ name: 'set_variable', input: { name: '$name', value: lastToolResults(req)[0]!.content } }, { name: 'finish_step', input: {} }] },
        ],
        [
          /order total/,
          (req, turn) =>
            turn === 0
              ? { toolUse: { name: 'call_playbook', input: { name: 'AddTax', args: { amount: 100 } } } }
              : {
                  toolUses: [
                    { name: 'set_variable', input: { name: '$total', value: JSON.parse(lastToolResults(req)[0]!.content) } },
                    { name: 'finish_step', input: { result: 'total computed' } },
                  ],
                },
        ],
        [/Think about/, { text: 'The user may need gift wrapping.' }],
        [/short joke/, { text: 'Why did the robot cross the road? To recharge.' }],
      ]),
    );
    const { outcome, out } = await runFile(fix('tools.pb'), { inputs: ['Ann'] });
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(out).toEqual([
      'Welcome to the Acme shop!',
      '--- welcomed',
      'Color: blue',
      'What is your name?',
      'Name: Ann',
      'Total: 120',
      '--- thought',
      'Why did the robot cross the road? To recharge.',
      '--- end',
    ]);
    // One conversation per step; the turns each step needed.
    expect(callsFor(/Welcome the user/)).toHaveLength(2);
    expect(callsFor(/favourite color/)).toHaveLength(1);
    expect(callsFor(/user's name/)).toHaveLength(2);
    expect(callsFor(/order total/)).toHaveLength(2);
    expect(callsFor(/Think about/)).toHaveLength(1);
    expect(callsFor(/short joke/)).toHaveLength(1);
    expect(calls()).toHaveLength(9);
    // The tool results the model saw.
    expect(lastToolResults(callsFor(/Welcome the user/)[1]!)).toMatchObject([{ content: 'said' }]);
    expect(lastToolResults(callsFor(/user's name/)[1]!)).toMatchObject([{ content: 'Ann' }]);
    const taxResult = lastToolResults(callsFor(/order total/)[1]!);
    expect(taxResult).toHaveLength(1);
    expect(taxResult[0]!.is_error).toBeFalsy();
    expect(JSON.parse(taxResult[0]!.content)).toBe(120);
    // The deterministic callee made no model call; no tool use was rejected.
    expect(calls().some((r) => /Return \$amount/.test(instructionOf(r)))).toBe(false);
    for (const r of calls()) for (const t of lastToolResults(r)) expect(t.is_error, `${instructionOf(r)}: ${t.content}`).toBeFalsy();
    // A text reply is the step's result (not said for a plain step), visible in the frame's history.
    expect(out.join('\n')).not.toContain('gift wrapping');
    expect(contextOf(callsFor(/short joke/)[0]!)).toContain('"The user may need gift wrapping."');
    // finish_step's result is the step's result.
    expect(contextOf(callsFor(/Think about/)[0]!)).toMatch(/step 07 \(Work out the order total[^\n]*called AddTax -> 120[^\n]*-> "total computed"/);
    // set_variable reached agent state: later requests show it.
    expect(contextOf(callsFor(/Think about/)[0]!)).toMatch(/\$color = "blue"[\s\S]*\$name = "Ann"[\s\S]*\$total = 120/);
  });
});

// ---------------------------------------------------------------------------------------
// 2. Every kind of NL work

describe('NL conditions, values, lists, Say/Tell, Ask, blocks, triggers, phrased asks', () => {
  it('forces decide / provide_value / provide_list / phrase_question and runs blocks by finish_block', async () => {
    const forced = minimalResponder({
      tools: {
        decide: { answer: true },
        provide_value: (r: RecordedRequest) => ({ value: /capital/.test(instructionOf(r)) ? 'Paris' : 'x' }),
        provide_list: { items: ['food', 'museums'] },
        phrase_question: { question: 'Which city are you in?' },
      },
    });
    fake.setResponder(
      byInstruction(
        [
          [/fun fact/, { toolUses: [{ name: 'say', input: { message: 'Paris has 6,100 streets.' } }, { name: 'finish_step', input: {} }] }],
          [
            /favourite food/,
            (req, turn) =>
              turn === 0
                ? { toolUse: { name: 'ask_user', input: { question: 'What food do you love?' } } }
                : { toolUses: [{ name: 'set_variable', input: { name: '$food', value: lastToolResults(req)[0]!.content } }, { name: 'finish_step', input: {} }] },
          ],
          [/a member/, { toolUse: { name: 'finish_block', input: { run_nested: true } } }],
          [/brochure/, { toolUse: { name: 'finish_block', input: { run_nested: false } } }],
        ],
        forced,
      ),
    );
    const { outcome, out } = await runFile(fix('kinds.pb'), { inputs: ['crepes', 'Lyon'], host: { phraseAsks: true } });
    expect(outcome.status, failure(outcome)).toBe('halted');
    expect(out).toEqual([
      'Happy path',
      'Capital: Paris',
      'Aspect: food',
      'Aspect: museums',
      'Paris has 6,100 streets.',
      '--- fact told',
      'What food do you love?',
      'Food: crepes',
      'Member perks apply',
      'Which city are you in?',
      'City: Lyon',
    ]);
    const cond = callsFor(/needs a decision/);
    expect(cond).toHaveLength(1);
    expect(forcedName(cond[0]!)).toBe('decide');
    expect(instructionOf(cond[0]!)).toContain('the user seems happy');

    const value = callsFor(/needs a value/);
    expect(value).toHaveLength(1);
    expect(forcedName(value[0]!)).toBe('provide_value');
    expect(instructionOf(value[0]!)).toContain('the capital of $country');
    expect(contextOf(value[0]!)).toContain('$country = "France"');

    const list = callsFor(/loops:/);
    expect(list).toHaveLength(1);
    expect(forcedName(list[0]!)).toBe('provide_list');

    const phrase = callsFor(/asks the user for \$city/);
    expect(phrase).toHaveLength(1);
    expect(forcedName(phrase[0]!)).toBe('phrase_question');

    // Steps, Say/Tell, Ask and blocks are not forced: the model picks its tools.
    for (const re of [/fun fact/, /favourite food/, /a member/, /brochure/]) for (const r of callsFor(re)) expect(forcedName(r), re.source).toBeUndefined();
    expect(callsFor(/a member/)[0]!.body.messages[0]!.content[0].text).toContain('finish_block');
    // The condition and value results reached the context of later steps.
    expect(contextOf(callsFor(/fun fact/)[0]!)).toContain('$capital = "Paris"');
  });

  it('an NL trigger fires after user input when the model lists its id; asks are phrased by the model', async () => {
    let judged = 0;
    fake.setResponder(
      minimalResponder({
        tools: {
          phrase_question: (r: RecordedRequest) => ({ question: /\$message/.test(instructionOf(r)) ? 'How can I help you?' : 'Anything more I can do?' }),
          fire_triggers: (r: RecordedRequest) => {
            judged++;
            // The model judges only what just happened: the latest answer.
            return { ids: judged === 1 && /refund/.test(contextOf(r)) ? ['T1'] : [] };
          },
        },
      }),
    );
    const { outcome, out } = await runFile(fix('trigger.pb'), { inputs: ['I want a refund', 'no thanks'], host: { phraseAsks: true } });
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(out).toEqual(['How can I help you?', 'Refunds take 5 days.', 'You said: I want a refund', 'Anything else?', 'Anything more I can do?', 'Bye']);
    const judges = calls().filter((r) => forcedName(r) === 'fire_triggers');
    expect(judges.length).toBeGreaterThanOrEqual(2);
    expect(instructionOf(judges[0]!)).toMatch(/T1 \(playbook Refund\):.*refund/);
    expect(contextOf(judges[0]!)).toContain('I want a refund');
    // The trigger's playbook is deterministic: no model call for its step.
    expect(calls().filter((r) => /Refunds take/.test(instructionOf(r)))).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------
// 3. Fusion

describe('fusion of consecutive NL steps', () => {
  it('three consecutive NL Say steps take exactly one model call', async () => {
    fake.setResponder(sayEachStep('hello from'));
    const { outcome, out } = await runFile(fix('hello.pb'));
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(calls()).toHaveLength(1);
    expect(instructionOf(calls()[0]!)).toMatch(/consecutive steps[\s\S]*- 01: Greet[\s\S]*- 02: Tell[\s\S]*- 03: Say goodbye/);
    expect(out).toEqual(['hello from 01', 'hello from 02', 'hello from 03']);
  });

  it('with a deterministic step between them, two calls', async () => {
    fake.setResponder(sayEachStep('hello from'));
    const { outcome, out } = await runFile(fix('hello-split.pb'));
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(calls()).toHaveLength(2);
    expect(instructionOf(calls()[0]!)).toMatch(/^Perform step 01: Greet/);
    expect(instructionOf(calls()[1]!)).toMatch(/consecutive steps[\s\S]*- 03: [\s\S]*- 04: /);
    expect(out).toEqual(['hello from 01', 'hello from 03', 'hello from 04']);
  });
});

// ---------------------------------------------------------------------------------------
// 4. Prompt shape

describe('prompt shape', () => {
  /** stack.pb: the model calls Prepare from step 04 through call_playbook. */
  function stackResponder(): Responder {
    return byInstruction([
      [/Decide what to do next/, (req, turn) => (turn === 0 ? { toolUse: { name: 'call_playbook', input: { name: 'Prepare', args: { n: 3 } } } } : { toolUse: { name: 'finish_step', input: {} } })],
      [/zebra/, { toolUses: [{ name: 'say', input: { message: 'The zebra widget shines.' } }, { name: 'finish_step', input: {} }] }],
    ]);
  }

  it('≤ 4 cache breakpoints, a byte-identical prefix per playbook, and ≤ 1,500 tokens of fixed overhead', async () => {
    fake.setResponder(stackResponder());
    const { outcome, out } = await runFile(fix('stack.pb'));
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(out).toContain('zebra polished');
    const reqs = calls();
    expect(reqs.length).toBeGreaterThanOrEqual(6);
    for (const r of reqs) expect(r.cacheControls.length, JSON.stringify(r.cacheControls)).toBeLessThanOrEqual(4);

    // Group by the playbook the request is about (innermost frame of the rendered call stack).
    const byPlaybook = new Map<string, string[]>();
    for (const r of reqs) {
      const stack = /^Call stack: (.*)$/m.exec(contextOf(r))?.[1] ?? '';
      const top = stack.split(' > ').pop()!.replace(/ \(step .*\)$/, '');
      const prefix = JSON.stringify({ tools: r.body.tools, system: r.body.system });
      byPlaybook.set(top, [...(byPlaybook.get(top) ?? []), prefix]);
    }
    expect([...byPlaybook.keys()].sort()).toEqual(['Planner.Main', 'Planner.Prepare']);
    for (const [pbName, prefixes] of byPlaybook) expect(new Set(prefixes).size, `${pbName}: ${prefixes.length} requests`).toBe(1);
    // The tool list (the first cached block) is the same for every playbook.
    expect(new Set(reqs.map((r) => JSON.stringify(r.body.tools))).size).toBe(1);
    // The cached prefix is actually read back by later calls of the same playbook.
    expect(reqs.slice(1).some((r) => (r.usage?.cache_read_input_tokens ?? 0) > 0)).toBe(true);

    const r0 = reqs[0]!;
    const system = r0.body.system as Array<{ text: string }>;
    const rulesChars = system[0]!.text.length;
    const toolsChars = JSON.stringify(r0.body.tools).length;
    const overheadTokens = Math.ceil((rulesChars + toolsChars) / 4);
    console.log(`fixed prompt overhead: system rules ${rulesChars} chars + tool definitions ${toolsChars} chars = ${overheadTokens} tokens (4 chars/token; budget 1,500)`);
    expect(overheadTokens).toBeLessThanOrEqual(1500);
  });

  it('context is stack-shaped: after a return the caller sees one summary line, none of the callee', async () => {
    fake.setResponder(stackResponder());
    const { outcome } = await runFile(fix('stack.pb'));
    expect(outcome.status, failure(outcome)).toBe('finished');
    // The callee did run on the model (so there was something to leak).
    expect(callsFor(/zebra/).length).toBe(2);
    const historyLines = (r: RecordedRequest) => contextOf(r).split('\n').filter((l) => l.startsWith('  - '));

    // After the deterministic call $r = Prepare(2).
    const explain = callsFor(/Explain \$r/)[0]!;
    expect(historyLines(explain).filter((l) => /Prepare/.test(l))).toEqual(['  - called Prepare(2) -> 20']);
    expect(JSON.stringify(explain.body).toLowerCase()).not.toContain('zebra');

    // After the model's own call_playbook: the step's conversation gets the result only ...
    const decide = callsFor(/Decide what to do next/);
    expect(decide).toHaveLength(2);
    expect(lastToolResults(decide[1]!)).toMatchObject([{ content: '30' }]);
    expect(JSON.stringify(decide[1]!.body).toLowerCase()).not.toContain('zebra');
    // ... and the caller's next request one summary line of the step and its call.
    const wrap = callsFor(/Wrap up/)[0]!;
    const lines4 = historyLines(wrap).filter((l) => /Prepare/.test(l));
    expect(lines4, historyLines(wrap).join('\n')).toHaveLength(2); // the $r = Prepare(2) call and step 05's call
    expect(lines4[1]).toMatch(/^  - step 05 \(Decide what to do next[^)]*\): called Prepare -> 30$/);
    expect(JSON.stringify(wrap.body).toLowerCase()).not.toContain('zebra');
  });

  it('the call stack in the context names the step being performed', async () => {
    fake.setResponder(stackResponder());
    await runFile(fix('stack.pb'));
    const wrong: string[] = [];
    for (const r of calls()) {
      const step = stepOf(r);
      if (!step) continue;
      const stack = /^Call stack: (.*)$/m.exec(contextOf(r))?.[1] ?? '';
      if (!stack.endsWith(`(step ${step})`)) wrong.push(`instruction is about step ${step}, context says: Call stack: ${stack}`);
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
  });

  it('a large value becomes an artifact with a summary, loaded on demand with load_artifact', async () => {
    const doc = 'abcdefghij'.repeat(200);
    fake.setResponder(
      byInstruction([
        [
          /Summarize/,
          (req, turn) => {
            if (turn === 0) {
              const name = /\$doc = Artifact\[([^\]]+)\]/.exec(contextOf(req))?.[1] ?? 'missing';
              return { toolUse: { name: 'load_artifact', input: { name } } };
            }
            const content = lastToolResults(req)[0]?.content ?? '';
            return { toolUses: [{ name: 'say', input: { message: `The document has ${content.length} characters.` } }, { name: 'finish_step', input: {} }] };
          },
        ],
      ]),
    );
    const { outcome, out } = await runFile(fix('artifact.pb'));
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(out).toEqual(['The document has 2000 characters.', 'done']);
    const [first, second] = callsFor(/Summarize/);
    expect(contextOf(first!)).toMatch(/\$doc = Artifact\[[^\]]+\]: text, 2002 chars, starts "abcdefghij/);
    expect(first!.rawBody).not.toContain(doc.slice(0, 400));
    expect(lastToolResults(second!)).toEqual([expect.objectContaining({ content: doc })]);
    expect(lastToolResults(second!)[0]!.is_error).toBeFalsy();
  });

  it('context stays bounded: iteration 200 of a loop is ≤ 1.2× iteration 10', async () => {
    const { outcome, out } = await runFile(fix('loop.pb'));
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(out).toEqual(['done']);
    const reqs = callsFor(/Note down item/);
    expect(reqs).toHaveLength(200);
    const at = (n: number) => reqs[n - 1]!;
    const size = (r: RecordedRequest) => r.rawBody.length;
    const msgs = (r: RecordedRequest) => promptText(r).length;
    console.log(
      `loop context: iteration 10 = ${size(at(10))} chars (${at(10).usage?.input_tokens} input tokens; messages ${msgs(at(10))} chars), ` +
        `iteration 200 = ${size(at(200))} chars (${at(200).usage?.input_tokens} input tokens; messages ${msgs(at(200))} chars), ` +
        `ratio ${(size(at(200)) / size(at(10))).toFixed(2)}`,
    );
    expect(size(at(200))).toBeLessThanOrEqual(1.2 * size(at(10)));
  });
});

// ---------------------------------------------------------------------------------------
// 5. Fault injection

const STORY = [
  'line 01',
  'A',
  'line 03',
  'B',
  'continuing',
  'mood: calm',
  'character: Ann',
  'character: Bob',
  'line 10',
  'C',
  'moral follows',
  'line 12.02',
  'D',
  'line 14',
  'E',
  'line 16',
  'F',
  'line 18',
];

/** story.pb's model: says one line per step, decides yes, mood calm, characters Ann and Bob, runs the moral block. */
function storyModel(): Responder {
  const forced = minimalResponder({ tools: { decide: { answer: true }, provide_value: { value: 'calm' }, provide_list: { items: ['Ann', 'Bob'] } } });
  const saying = sayingModel((step) => `line ${step}`, forced);
  return (req, index) => {
    if (/has nested steps/.test(instructionOf(req))) return { toolUse: { name: 'finish_block', input: { run_nested: true } } };
    return saying(req, index);
  };
}

describe('fault injection', () => {
  it('at 20% faults (429, 500, 529, timeouts, malformed input, unknown tools) the run completes, complete and without repeats', async () => {
    // Sanity: without faults.
    fake.setResponder(storyModel());
    const clean = await runFile(fix('story.pb'));
    expect(clean.outcome.status, failure(clean.outcome)).toBe('finished');
    expect(clean.out).toEqual(STORY);
    const cleanCalls = calls().length;
    expect(cleanCalls).toBe(11);

    // One seed in-process, one through the CLI (exit code, PB_MODEL_RETRIES / PB_MODEL_TIMEOUT_MS);
    // between them every fault kind occurs.
    for (const [seed, via] of [
      [7, 'api'],
      [42, 'cli'],
    ] as const) {
      fake.reset();
      const inj = faultInjector(storyModel(), { rate: 0.2, seed, timeoutDelayMs: 700 });
      fake.setResponder(inj);
      let out: string[];
      if (via === 'api') {
        const r = await runFile(fix('story.pb'), { maxRetries: 3, timeoutMs: 300 });
        expect(r.outcome.status, failure(r.outcome)).toBe('finished');
        out = r.out;
      } else {
        const p = await pb(['run', fix('story.pb')], { env: fakeEnv({ PB_MODEL_RETRIES: '3', PB_MODEL_TIMEOUT_MS: '300' }) });
        expect(p.code, p.stderr).toBe(EXIT_OK);
        out = lines(p.stdout);
      }
      const kinds = inj.injected.map((f) => f.kind);
      console.log(`fault injection seed ${seed} (${via}): ${fake.requests.length} HTTP requests for ${cleanCalls} clean calls; ${kinds.length} faults: ${[...new Set(kinds)].map((k) => `${k} ×${kinds.filter((x) => x === k).length}`).join(', ')}`);
      expect(out).toEqual(STORY);
      expect(kinds.length).toBeGreaterThan(0);
      // Every malformed / unknown tool use was answered with an error tool_result (and the
      // conversation went on: the driver asked again).
      for (const f of inj.injected.filter((x) => x.kind === 'malformed_tool_input' || x.kind === 'unknown_tool')) {
        const reply = fake.requests[f.requestIndex]!.response?.body as { content?: Array<{ type: string; id?: string }> } | undefined;
        const ids = (reply?.content ?? []).filter((b) => b.type === 'tool_use').map((b) => b.id!);
        expect(ids.length, `${f.kind} at request #${f.requestIndex}`).toBeGreaterThan(0);
        for (const id of ids) {
          const answer = fake.requests.slice(f.requestIndex + 1).flatMap((r) => lastToolResults(r)).find((t) => t.tool_use_id === id);
          expect(answer, `${f.kind} at request #${f.requestIndex}: tool_use ${id} was never answered`).toBeDefined();
          expect(answer!.is_error, `${f.kind} at request #${f.requestIndex}: ${answer!.content}`).toBe(true);
        }
      }
    }
  });
});

describe('fault injection on trigger judging', () => {
  it('a malformed or unknown-tool reply to fire_triggers is answered with an error and asked again, not read as "no trigger"', async () => {
    for (const fault of [{ malformedToolInput: 'fire_triggers' }, { unknownTool: true }] as Reply[]) {
      fake.reset();
      let judged = 0;
      const inner = minimalResponder({
        tools: {
          phrase_question: { question: 'How can I help?' },
          fire_triggers: (r: RecordedRequest) => ({ ids: /refund/.test(contextOf(r)) && judged++ === 0 ? ['T1'] : [] }),
        },
      });
      // The first judging request gets the fault; everything else is well-formed.
      let faulted = false;
      fake.setResponder((req, index) => {
        if (!faulted && forcedName(req) === 'fire_triggers') {
          faulted = true;
          return fault;
        }
        return inner(req, index);
      });
      const { outcome, out } = await runFile(fix('trigger.pb'), { inputs: ['I want a refund', 'no thanks'], host: { phraseAsks: true } });
      const what = JSON.stringify(fault);
      expect(outcome.status, `${what}: ${failure(outcome)}`).toBe('finished');
      const judges = calls().filter((r) => forcedName(r) === 'fire_triggers');
      expect(faulted).toBe(true);
      // The faulty reply got an error tool_result in a follow-up turn of the same judging conversation.
      expect.soft(judges.some((r) => turnOf(r) > 0 && lastToolResults(r).some((t) => t.is_error)), `${what}: judging requests:\n${judges.map((r) => `turn ${turnOf(r)}`).join('\n')}`).toBe(true);
      expect.soft(out, what).toEqual(['How can I help?', 'Refunds take 5 days.', 'You said: I want a refund', 'Anything else?', 'How can I help?', 'Bye']);
    }
  });
});

// ---------------------------------------------------------------------------------------
// 6. Guards

const STEPS = ['line 01', 'after 1', 'line 03', 'after 2', 'line 05', 'after 3', 'line 07', 'after 4', 'line 09', 'after 5', 'line 11', 'after 6'];

/** Answered requests per step conversation turn, e.g. "01#0" -> 1. */
function answeredPerStep(reqs: RecordedRequest[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of reqs) {
    if (r.outcome !== 'message' || r.path !== '/v1/messages') continue;
    const key = `${stepOf(r) ?? instructionOf(r).slice(0, 40)}#${turnOf(r)}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

describe('guards', () => {
  it('--max-model-calls stops with a clear error; the run stays resumable with a higher budget', async () => {
    fake.setResponder(sayingModel((s) => `line ${s}`));
    const state = join(tmp('budget'), 'state');
    const a = await pb(['run', fix('steps.pb'), '--state', state, '--max-model-calls', '2'], { env: fakeEnv() });
    expect(a.code, a.stderr).toBe(EXIT_RUNTIME);
    expect(a.stderr).toContain('model call budget of 2 calls used up (raise --max-model-calls)');
    // The diagnostic points at the step whose model call was refused (step 05, line 13).
    expect.soft(a.stderr).toMatch(/steps\.pb:13:\d+: error: model call budget/);
    expect.soft(a.stderr).toContain('in Steps.Main step 05 ');
    expect(a.stderr).toContain(`pb resume ${state}`);
    expect(lines(a.stdout)).toEqual(STEPS.slice(0, 4));
    expect(calls()).toHaveLength(2);

    const b = await pb(['resume', state, '--max-model-calls', '10'], { env: fakeEnv() });
    expect(b.code, b.stderr).toBe(EXIT_OK);
    expect([...lines(a.stdout), ...lines(b.stdout)]).toEqual(STEPS);
    expect(calls()).toHaveLength(6);
    for (const [k, n] of answeredPerStep(fake.requests)) expect(n, k).toBe(1);
  });

  it('a model that fails permanently stops with a clear error naming the step (exit 3); resume succeeds once it recovers', async () => {
    fake.setResponder(() => ({ status: 500, retryAfter: 0.01 }));
    const state = join(tmp('down'), 'state');
    const a = await pb(['run', fix('steps.pb'), '--state', state], { env: fakeEnv({ PB_MODEL_RETRIES: '1' }) });
    expect(a.code, a.stderr).toBe(EXIT_RUNTIME);
    expect(a.stderr).toMatch(/error: model call for step 01 \(say\) failed: InternalServerError \(HTTP 500\)/);
    // The diagnostic points at the failing step (line 9), not at the step after it.
    expect.soft(a.stderr).toMatch(/steps\.pb:9:\d+: error: model call for step 01/);
    expect.soft(a.stderr).toContain('in Steps.Main step 01 ');
    expect(a.stderr).toContain(`run state kept in ${state}`);
    expect(a.stdout).toBe('');
    expect(fake.requests).toHaveLength(2); // the first attempt and the SDK's one retry
    expect(existsSync(join(state, 'journal.pbj'))).toBe(true);

    fake.setResponder(sayingModel((s) => `line ${s}`));
    const b = await pb(['resume', state], { env: fakeEnv() });
    expect(b.code, b.stderr).toBe(EXIT_OK);
    expect(lines(b.stdout)).toEqual(STEPS);
  });
});

// ---------------------------------------------------------------------------------------
// 7. Record / replay

describe('record and replay', () => {
  it('--replay makes zero model calls with no API key and prints the same stdout; a miss names the step', async () => {
    fake.setResponder(storyModel());
    const dir = tmp('replay');
    const rec = join(dir, 'story.replay.json');
    const a = await pb(['run', fix('story.pb'), '--record', rec], { env: fakeEnv() });
    expect(a.code, a.stderr).toBe(EXIT_OK);
    expect(lines(a.stdout)).toEqual(STORY);
    const recorded = fake.requests.length;
    expect(recorded).toBe(11);

    await fake.close(); // no server at all
    const b = await pb(['run', fix('story.pb'), '--replay', rec]);
    expect(b.code, b.stderr).toBe(EXIT_OK);
    expect(b.stdout).toBe(a.stdout);
    expect(b.stderr).toContain('replaying recorded model replies');
    expect(fake.requests).toHaveLength(recorded);

    // A new NL step (after a deterministic one, so no existing step changes) has no recorded reply.
    const edited = join(dir, 'story-edited.pb');
    writeFileSync(edited, `${readFileSync(fix('story.pb'), 'utf8').trimEnd()}\n- Say "G"\n- Wish the user a pleasant evening\n`);
    const c = await pb(['run', edited, '--replay', rec]);
    expect(c.code, c.stderr).toBe(EXIT_RUNTIME);
    expect(c.stderr).toMatch(/replay miss: .*story\.replay\.json has no recorded reply for Narrator\.Main step 20 \(step, .*story-edited\.pb:\d+\)/);
    expect(c.stderr).toMatch(/story-edited\.pb:\d+:\d+: error: model call for step 20/);
    // The diagnostic points at the new step (line 33), not at the playbook's heading.
    expect.soft(c.stderr).toMatch(/story-edited\.pb:33:\d+: error: model call for step 20/);
    expect.soft(c.stderr).toContain('in Narrator.Main step 20 ');
    expect(lines(c.stdout)).toEqual([...STORY, 'G']);
  });
});

// ---------------------------------------------------------------------------------------
// 8. Durability with a model

describe('durability with a model', () => {
  it(`kill -9 during model calls, then resume: no answered call is repeated, every line printed once (${process.env.MODEL_KILL_TRIALS ?? 5} trials)`, async () => {
    const DELAY = 300;
    // (vitest.config.ts runs fewer in its every-safe-point project.)
    const TRIALS = Number(process.env.MODEL_KILL_TRIALS ?? 5);
    const inner = sayingModel((s) => `line ${s}`);
    /** request index -> Date.now() when its reply was written. */
    const answeredAt = new Map<number, number>();
    fake.setResponder(() => ({
      delayMs: DELAY,
      after: (req, index) => {
        answeredAt.set(req.index, Date.now());
        return inner(req, index);
      },
    }));
    let seed = 0x5eed;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const report: string[] = [];
    let inTransit = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      fake.reset();
      answeredAt.clear();
      const procs: Proc[] = [];
      const state = join(tmp(`kill${trial}`), 'state');
      const anchor = join(state, 'journal.pbj');
      let stdout = '';
      let kills = 0;
      let done = false;
      const timeline: string[] = [];
      const t0 = Date.now();
      for (let attempt = 0; attempt < 10 && !done; attempt++) {
        const mayKill = attempt < 3;
        const killAfterMs = mayKill ? Math.floor(50 + rnd() * (6 * DELAY)) : undefined;
        const args = existsSync(anchor) ? ['resume', state] : ['run', fix('steps.pb'), '--state', state];
        const p = await pb(args, { env: fakeEnv(), ...(killAfterMs !== undefined ? { killAfterMs, killAnchor: anchor } : {}) });
        stdout += p.stdout;
        procs.push(p);
        timeline.push(`+${p.startedAt - t0} ms: pb ${args[0]}${p.killedAt ? `, SIGKILL at +${p.killedAt - t0} ms` : `, exit ${p.code}`}`);
        const what = `trial ${trial}, attempt ${attempt}: pb ${args.join(' ')} (kill after ${killAfterMs} ms): exit ${p.code}, signal ${p.signal}\nstdout so far:\n${stdout}\nstderr:\n${p.stderr}`;
        expect(p.hung, what).toBe(false);
        if (p.killed) {
          kills++;
          continue;
        }
        // A kill that landed after the run had ended (the process was exiting) leaves nothing to resume.
        if (p.code === 4 && /the run has already ended \(finished/.test(p.stderr)) {
          done = true;
          break;
        }
        expect(p.code, what).toBe(EXIT_OK);
        done = true;
      }
      expect(done).toBe(true);
      for (const r of fake.requests) {
        const at = answeredAt.get(r.index);
        timeline.push(`  request #${r.index} step ${stepOf(r)} turn ${turnOf(r)}: received +${r.receivedAt - t0} ms, ${r.outcome}${at !== undefined && r.outcome === 'message' ? ` (reply written +${at - t0} ms)` : ''}`);
      }
      timeline.sort((a, b) => Number(/\+(\d+)/.exec(a)![1]) - Number(/\+(\d+)/.exec(b)![1]));
      // A reply the process may not have journaled may legitimately be asked again: the
      // process was killed after sending the request and before it asked anything else (the
      // reply is journaled before the run goes on). No wall-clock window is assumed: on a
      // loaded machine the SDK can take tens of ms between the reply and the journal write.
      // Any other repeat is a repeated model call.
      const killTimes = procs.filter((p) => p.killedAt !== undefined).map((p) => p.killedAt!);
      const answered = fake.requests.filter((r) => r.outcome === 'message');
      const keyOf = (r: RecordedRequest) => `${stepOf(r)}#${turnOf(r)}`;
      const repeats: string[] = [];
      for (const [k, n] of answeredPerStep(fake.requests)) {
        if (n === 1) continue;
        const earlier = answered.filter((r) => keyOf(r) === k).slice(0, -1);
        for (const r of earlier) {
          const at = answeredAt.get(r.index)!;
          // The process that sent it died before the reply arrived, or while it was in transit.
          const death = killTimes.filter((t) => t >= r.receivedAt).sort((a, b) => a - b)[0];
          const progressed = fake.requests.some((q) => q.receivedAt > r.receivedAt && death !== undefined && q.receivedAt < death);
          const lostInTransit = death !== undefined && !progressed;
          if (lostInTransit) inTransit++;
          else repeats.push(`step ${k}: request #${r.index} was answered at +${at - t0} ms and asked again later`);
        }
      }
      const per = answeredPerStep(fake.requests);
      report.push(`trial ${trial}: ${kills} kill(s), ${fake.requests.length} requests, answered per step ${[...per].map(([k, n]) => `${k}:${n}`).join(' ')}`);
      expect(lines(stdout), `trial ${trial}`).toEqual(STEPS);
      expect([...per.keys()].sort()).toEqual(['01#0', '03#0', '05#0', '07#0', '09#0', '11#0']);
      expect(repeats, `trial ${trial}: repeated model calls; timeline:\n${timeline.join('\n')}`).toEqual([]);
    }
    console.log(`durability with a model (${inTransit} repeat(s) of a reply in transit at the kill, allowed):\n${report.join('\n')}`);
  });
});

// ---------------------------------------------------------------------------------------
// 9. Corpus

function findPb(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...findPb(full));
    else if (e.isFile() && e.name.endsWith('.pb')) out.push(full);
  }
  return out.sort();
}

describe.skipIf(!corpusPresent('test/model.test.ts'))('Playbooks AI corpus on a minimal model', () => {
  it('at least 45 of the 50 programs without python blocks finish; none crashes or hangs', async () => {
    expect(existsSync(CORPUS), `corpus not found: ${CORPUS}`).toBe(true);
    const files = findPb(CORPUS).filter((f) => !/```python/.test(readFileSync(f, 'utf8')));
    expect(files).toHaveLength(50);
    let ok = 0;
    const failures: string[] = [];
    const crashes: string[] = [];
    const hangs: string[] = [];
    const started = performance.now();
    for (const file of files) {
      fake.reset();
      fake.setResponder(minimalResponder());
      const name = relative(CORPUS, file);
      const { io } = collectingIO(['yes', 'yes', 'no']);
      let timer: NodeJS.Timeout | undefined;
      const guard = new Promise<'hang'>((r) => (timer = setTimeout(() => r('hang'), 8_000)));
      try {
        const program = compileFile(file);
        const r = await Promise.race([runProgram(program, { io, model: modelHost({ maxRetries: 0, timeoutMs: 5_000 }), maxSteps: 2000 }), guard]);
        if (r === 'hang') hangs.push(`${name}: no result after 8 s (${fake.requests.length} model requests)`);
        else if (r.outcome.status === 'failed') failures.push(`${name}: ${r.outcome.error.code}: ${r.outcome.error.message}`);
        else ok++;
      } catch (err) {
        if (err instanceof PbRuntimeError) failures.push(`${name}: thrown ${err.code}: ${err.message}`);
        else crashes.push(`${name}: CRASH ${(err as Error)?.stack ?? String(err)}`);
      } finally {
        clearTimeout(timer);
      }
    }
    const ms = performance.now() - started;
    console.log(
      `corpus on minimalResponder: ${ok}/${files.length} finished or halted (${ms.toFixed(0)} ms); ${failures.length} failed, ${crashes.length} crashed, ${hangs.length} hung` +
        [...failures, ...crashes, ...hangs].map((f) => `\n  ${f}`).join(''),
    );
    expect(crashes, crashes.join('\n')).toEqual([]);
    expect(hangs, hangs.join('\n')).toEqual([]);
    expect(ok).toBeGreaterThanOrEqual(45);
  });
});

// ---------------------------------------------------------------------------------------
// 10. Accounting

describe('--stats', () => {
  it('prints calls, tokens, cache reads/writes and a cost estimate to stderr; stdout stays clean', async () => {
    fake.setResponder(sayingModel((s) => `line ${s}`));
    const p = await pb(['run', fix('steps.pb'), '--stats'], { env: fakeEnv() });
    expect(p.code, p.stderr).toBe(EXIT_OK);
    expect(p.stdout).toBe(`${STEPS.join('\n')}\n`);
    const stats = p.stderr.split('\n').filter((l) => l.startsWith('pb: '));
    const text = stats.join('\n');
    expect(text).toMatch(/pb: model \S+: 6 calls/);
    const tokens = /pb: tokens: (\d+) input, (\d+) output, (\d+) cache read, (\d+) cache write/.exec(text);
    expect(tokens, p.stderr).not.toBeNull();
    const [input, output, cacheRead, cacheWrite] = tokens!.slice(1).map(Number) as [number, number, number, number];
    // The fake's usage, summed.
    const sum = (f: (r: RecordedRequest) => number) => calls().reduce((a, r) => a + f(r), 0);
    expect(input).toBe(sum((r) => r.usage?.input_tokens ?? 0));
    expect(output).toBe(sum((r) => r.usage?.output_tokens ?? 0));
    expect(cacheRead).toBe(sum((r) => r.usage?.cache_read_input_tokens ?? 0));
    expect(cacheWrite).toBe(sum((r) => r.usage?.cache_creation_input_tokens ?? 0));
    expect(cacheRead).toBeGreaterThan(0);
    expect(cacheWrite).toBeGreaterThan(0);
    const cost = /pb: estimated cost: \$(\d+\.\d{4})/.exec(text);
    expect(cost, p.stderr).not.toBeNull();
    const expected = (input * 3 + output * 15 + cacheWrite * 3.75 + cacheRead * 0.3) / 1e6; // the default model is a Sonnet
    expect(Number(cost![1])).toBeCloseTo(expected, 4);
  });
});

