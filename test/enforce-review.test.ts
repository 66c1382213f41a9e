// Regression tests for the code review of enforced procedures (step tool contracts,
// grammar/LANGUAGE.md §12): the tests reproduce the bugs the review found, now fixed, in
// vm/machine.ts (judgeTool, finishPlansOnHalt, abandonPlans, unwindTo, completedEarly),
// vm/model/driver.ts (converse, checkFinish, skip_step), vm/plan.ts, vm/runner.ts
// (toolCall, tool-failed), compiler/contracts.ts, compiler/lower.ts (planSpec),
// compiler/locus.ts and src/generate.ts (compileGenerated). All of them but 3b and 10 fail on
// the code before the review fixes; 10 fails before the earlier completedEarly fix, and 3b
// guards that a generated playbook never widens the contract of the step that calls it.
//
// The model is the REAL @anthropic-ai/sdk (the built CLI with ANTHROPIC_BASE_URL, or
// AnthropicModel in process) talking to the fake Messages API on loopback, scripted per plan
// step ("This step is '<id>' of an enforced procedure" in the instruction), per nested step
// ("Perform step 01.02: ...") or per depth of the call stack. The host tools
// (test/fixtures/enforce-review/tools.ts) append every call that RUNS to the file named by
// ER_CALLS, so the TOOL SIDE shows what ran; Forbidden is in no contract and must never
// appear there. Plans are checked with `pb audit --json` of runs started with --state.
//
//  1. nested procedures: a playbook called from a contracted step, itself an enforced
//     procedure with allow_extra_tools, cannot widen the caller's contract (code call:
//     contract-violation; model call from its natural-language step: rejected to the model).
//  2. recursion: a playbook calling itself cannot reset max_tool_calls; the rejection is on
//     the OUTER plan's step.
//  3. GeneratePlaybook: generated playbooks may not declare step contracts or plan rules; one
//     called from a contracted step is judged by its contract; one regenerated after a failure
//     abandons the enforced procedure it called (its plan is failed, not left running).
//  4. Locus: '<!--' in descriptions is refused; a description that reads as a plan rule is
//     only a description; parentheses in the name are kept in the title.
//  5. nested natural-language steps under a contracted step: their finish_step does not close
//     it early, and skip_step from them is refused; 5b: max_iterations bounds their turns too
//     (FAILS: a product bug, see the comment there).
//  6. a predicate gates on the tool's answer, never on the model's claim.
//  7. `End program` between two contracted steps, or inside one: the plan fails (incomplete).
//  8. a final run-time error fails the plan (aborted); a resumable one (tool-error, from code
//     or from the model) leaves it running, and `pb resume` after the fix completes it.
//  9. compile errors: a predicate that calls a tool or playbook; a playbook in expected_tools.
// 10. strict_sequence false: a step completed early makes no model request when reached.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectingIO } from './support/in-process.js';
import { REPO, describeRun, runCli, tempRoot, type CliRun } from './support/cli.js';
import { compileSource } from '../compiler/compile.js';
import { formatDiagnostics } from '../compiler/diagnostics.js';
import { compileLocus } from '../compiler/locus.js';
import { compileFile } from '../src/load-program.js';
import { AnthropicModel } from '../src/providers/anthropic.js';
import { runProgram, type AuditReport } from '../src/run.js';
import { nodeSourceHost } from '../src/source-host.js';
import { decodeJournal } from '../vm/durable/journal.js';
import type { PlanExecution } from '../vm/plan.js';
import type { Program } from '../vm/pbasm/program.js';
import type { RunOutcome } from '../vm/runner.js';
import { startFakeAnthropic, type FakeAnthropic, type RecordedRequest, type Reply, type Responder } from './support/fake-anthropic.js';
import { lastToolResults, promptText, stepOf, turnOf } from './support/model-script.js';
import { call, callsOf, callTool, conversations, finish, finishBlock, planStepOf, scriptedModel, skip, statuses, step, use, violationsOf, type ConversationKey, type Turns } from './support/plan-script.js';

const FIX = join(REPO, 'test/fixtures/enforce-review');
const fix = (name: string) => join(FIX, name);
const TOOLS = fix('tools.ts');

const EXIT_OK = 0;
const EXIT_COMPILE = 1;
const EXIT_RUNTIME = 3;

// ---------------------------------------------------------------------------------------
// Helpers

const tmp = tempRoot('pb-enforce-review-');

/** Per test: a fake Messages API, a working directory (the CLI's cwd) and the tool log. */
let fake: FakeAnthropic;
let work = '';
let calls = '';
beforeEach(async () => {
  fake = await startFakeAnthropic();
  work = tmp('work');
  calls = join(work, 'calls.log');
  // In-process runs load the tools module into this process; it reads these at call time.
  process.env.ER_CALLS = calls;
  delete process.env.ER_BOOM_FAIL;
  keyOf = planStepOf;
});
afterEach(async () => {
  delete process.env.ER_BOOM_FAIL;
  await fake.close();
});

const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

interface LoggedCall {
  name: string;
  callId: string;
  args: unknown[];
}

/** The tool side: every call that ran, in order. */
function toolLog(): LoggedCall[] {
  return read(calls)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [name, callId, ...rest] = l.split(' ');
      return { name: name!, callId: callId!, args: JSON.parse(rest.join(' ')) as unknown[] };
    });
}
const toolLines = () => toolLog().map((c) => `${c.name} ${JSON.stringify(c.args)}`);

// --- the CLI -------------------------------------------------------------------------------

interface PbOptions {
  input?: string;
  env?: Record<string, string>;
  /** No model configured at all (no API key, no base URL). */
  offline?: boolean;
}

function pb(args: string[], options: PbOptions = {}): Promise<CliRun> {
  const model: Record<string, string> = options.offline ? {} : { ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: fake.url, PB_MODEL_RETRIES: '0', PB_MODEL_TIMEOUT_MS: '5000' };
  const env = { ...model, ER_CALLS: calls, ...(options.env ?? {}) };
  return runCli(args, { input: options.input, cwd: work, env, isolateModel: true });
}

/** `pb audit DIR --json`, parsed. */
async function audit(state: string): Promise<AuditReport> {
  const r = await pb(['audit', state, '--json'], { offline: true });
  expect(r.code, describeRun(r)).toBe(EXIT_OK);
  return JSON.parse(r.stdout) as AuditReport;
}

/** `pb run FILE --tools TOOLS --state DIR` in the work directory; returns the run and DIR. */
async function runWithState(file: string, options: PbOptions = {}): Promise<{ r: CliRun; state: string }> {
  const state = join(work, 'state');
  const r = await pb(['run', file, '--tools', TOOLS, '--state', state], options);
  return { r, state };
}


// --- the scripted model --------------------------------------------------------------------

/** How each test names the conversation a request belongs to (the plan step by default). */
let keyOf: ConversationKey = planStepOf;
/** A model scripted per conversation, named by the test's current `keyOf`. */
const model = (script: Record<string, Turns>): Responder => scriptedModel(script, (req) => keyOf(req));
const { requestsFor, requestLog, answersTo, errorAnswerTo, rejectionAt } = conversations(() => fake, () => keyOf);

// --- in-process runs ---------------------------------------------------------------------------


function compiled(path: string): Program {
  const r = compileFile(path);
  if (!r.program || r.errorCount) throw new Error(`${path} does not compile:\n${formatDiagnostics(r.diagnostics, r.sources)}`);
  return r.program;
}

async function runInProcess(program: Program, extra: { library?: string } = {}) {
  const { io, out } = collectingIO();
  const model = { model: new AnthropicModel({ apiKey: 'test', baseURL: fake.url, maxRetries: 0, timeoutMs: 5_000 }), phraseAsks: false };
  const { outcome, machine } = await runProgram(program, { io, model, tools: TOOLS, ...extra });
  return { outcome, machine, out };
}

const failure = (o: RunOutcome) => (o.status === 'failed' ? `${o.error.code}: ${o.error.message}` : '');

/** Error diagnostics of a .pb file as "line:col+length code: message". */
function errorsOf(path: string): string[] {
  return compileSource(readFileSync(path, 'utf8'), path, { host: nodeSourceHost })
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.line}:${d.col}+${d.length} ${d.code}: ${d.message}`);
}

beforeAll(() => {
  // The CLI runs from dist/; make sure it exists (npm test builds it first).
  expect(existsSync(join(REPO, 'dist/src/cli/main.js')), 'build first: npx tsc -p tsconfig.json').toBe(true);
});

const FORBIDDEN_VERIFY = "'Forbidden' is not in the tool contract of step 'verify' (expected tools: A); allow_extra_tools is off";

// ---------------------------------------------------------------------------------------
// 1. Nested enforced procedures

describe('1. a nested enforced procedure cannot widen the contract of the step that called it', () => {
  it("the model calls Helper (allow_extra_tools: true) from step 'verify': Helper's Forbidden(99) is rejected by Main's contract, never runs; contract-violation", async () => {
    fake.setResponder(model({ verify: [callTool('Helper'), callTool('A', { x: 'A-1001' }), finish()], pay: [callTool('B', { x: 129 }), finish()] }));
    const { r, state } = await runWithState(fix('nested.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    expect(r.stderr).toContain(`nested.pb:26:3: error: call to 'Forbidden' rejected: ${FORBIDDEN_VERIFY}\n`);
    expect(r.stdout).toBe('');
    // Tool side: nothing ran, Forbidden least of all.
    expect(toolLines()).toEqual([]);
    expect(requestLog()).toEqual(['verify#0']);

    const a = await audit(state);
    expect(a.status).toBe('failed');
    expect(a.plans.map((p) => `${p.playbook} ${p.status}`)).toEqual(['Main failed', 'Helper failed']);
    const [main, helper] = a.plans as [PlanExecution, PlanExecution];
    expect(statuses(main)).toEqual(['verify failed', 'pay pending']);
    expect(callsOf(step(main, 'verify'))).toEqual(['Forbidden rejected [code]']);
    expect(step(main, 'verify').toolCalls[0]!.reason).toBe(FORBIDDEN_VERIFY);
    expect(violationsOf(step(main, 'verify'))).toEqual([{ kind: 'extra-tool', tool: 'Forbidden', message: FORBIDDEN_VERIFY }]);
    expect(main.outside).toEqual([]);
    // Helper allowed the call, but a call rejected by any plan is recorded only where it was rejected.
    expect(helper.allowExtraTools).toBe(true);
    expect(helper.steps).toEqual([]);
    expect(helper.outside).toEqual([]);
    expect(violationsOf(helper)).toEqual([{ kind: 'aborted', tool: null, message: `the run stopped: call to 'Forbidden' rejected: ${FORBIDDEN_VERIFY}` }]);

    // In process: the error is contract-violation, which no resume gets past.
    const { outcome } = await runInProcess(compiled(fix('nested.pb')));
    expect(outcome.status).toBe('failed');
    if (outcome.status !== 'failed') return;
    expect({ code: outcome.error.code, message: outcome.error.message, resumable: outcome.resumable }).toEqual({
      code: 'contract-violation',
      message: `call to 'Forbidden' rejected: ${FORBIDDEN_VERIFY}`,
      resumable: false,
    });
    expect(toolLines()).toEqual([]);
  });

  it("the model calls Forbidden from Diagnose's natural-language step (Diagnose allows extra tools): rejected with the caller's contract, the run goes on", async () => {
    keyOf = (req) => planStepOf(req) ?? (/^Perform step 01: Run the diagnostics/m.test(promptText(req)) ? 'diagnose' : undefined);
    fake.setResponder(
      model({
        verify: [callTool('Diagnose'), callTool('A', { x: 'A-1001' }), finish()],
        diagnose: [callTool('Forbidden', { x: 1 }), finish('diagnosed')],
        pay: [callTool('B', { x: 129 }), finish()],
      }),
    );
    const { r, state } = await runWithState(fix('nested.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    expect(toolLines()).toEqual(['A ["A-1001"]', 'B [129]']);
    expect(requestLog()).toEqual(['verify#0', 'diagnose#0', 'diagnose#1', 'verify#1', 'verify#2', 'pay#0', 'pay#1']);
    // The model got the rejection with the contract of the step that rejected it (Main's verify).
    expect(rejectionAt('diagnose', 0)).toEqual({ rejected: 'Forbidden', reason: FORBIDDEN_VERIFY, expected_tools: ['A'], hints: [] });

    const a = await audit(state);
    expect(a.status).toBe('finished');
    expect(a.plans.map((p) => `${p.playbook} ${p.status}`)).toEqual(['Main completed', 'Diagnose completed']);
    const [main, diagnose] = a.plans as [PlanExecution, PlanExecution];
    expect(statuses(main)).toEqual(['verify completed', 'pay completed']);
    expect(main.steps.map(callsOf)).toEqual([['Forbidden rejected', 'A ok'], ['B ok']]);
    expect(violationsOf(step(main, 'verify'))).toEqual([{ kind: 'extra-tool', tool: 'Forbidden', message: FORBIDDEN_VERIFY }]);
    expect(diagnose.outside).toEqual([]);
    expect(diagnose.violations).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// 2. Recursion

describe('2. a recursive call cannot reset the limits of the outer call', () => {
  it("max_tool_calls 1: B, then Main calls itself; the inner B is rejected on the OUTER plan's step 'pay' and never runs", async () => {
    // Conversations by depth: "pay@1" is the outer call's step, "pay@2" the recursive call's.
    keyOf = (req) => {
      const id = planStepOf(req);
      const stack = /^Call stack: (.*)$/m.exec(promptText(req))?.[1] ?? '';
      return id ? `${id}@${stack.split(' > ').length}` : undefined;
    };
    fake.setResponder(
      model({
        'pay@1': [callTool('B', { x: 'outer' }), callTool('Main'), finish()],
        'pay@2': [callTool('B', { x: 'inner' }), skip('the refund was already paid')],
      }),
    );
    const { r, state } = await runWithState(fix('recursion.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    // Tool side: B ran once, for the outer call.
    expect(toolLines()).toEqual(['B ["outer"]']);
    expect(requestLog()).toEqual(['pay@1#0', 'pay@1#1', 'pay@2#0', 'pay@2#1', 'pay@1#2']);
    const reason = "step 'pay' allows at most 1 tool call, and 1 ran";
    expect(rejectionAt('pay@2', 0)).toEqual({ rejected: 'B', reason, expected_tools: ['B'], hints: [] });

    const a = await audit(state);
    expect(a.status).toBe('finished');
    expect(a.plans).toHaveLength(2);
    const [outer, inner] = a.plans as [PlanExecution, PlanExecution];
    expect(statuses(outer)).toEqual(['pay completed']);
    expect(callsOf(step(outer, 'pay'))).toEqual(['B ok', 'B rejected']);
    expect(violationsOf(step(outer, 'pay'))).toEqual([{ kind: 'max-tool-calls', tool: 'B', message: reason }]);
    expect(step(outer, 'pay').result).toEqual({ ok: true, paid: 'outer' });
    expect(outer.status).toBe('completed');
    // The inner plan saw no accepted call; the rejection is not on it.
    expect(statuses(inner)).toEqual(['pay skipped']);
    expect(step(inner, 'pay').toolCalls).toEqual([]);
    expect(step(inner, 'pay').violations).toEqual([]);
    expect(inner.status).toBe('completed');
  });
});

// ---------------------------------------------------------------------------------------
// 3. GeneratePlaybook

const forcedName = (r: RecordedRequest) => (r.body.tool_choice?.type === 'tool' ? r.body.tool_choice.name : undefined);
const write = (source: string): Reply => ({ toolUse: { name: 'write_playbook', input: { source } } });
const SAFE = '## Task\nDoes the task safely.\n### Steps\n- Return "safe"\n';

describe('3. GeneratePlaybook: a generated playbook may not declare step contracts or plan rules', () => {
  const RULE = "generated playbooks may not declare step contracts or plan rules (strict_sequence, allow_extra_tools, max_iterations); 'Task' does";
  const ATTEMPTS: Array<[string, string]> = [
    ['allow_extra_tools: true (and a call of Forbidden)', '## Task\nallow_extra_tools: true\nDoes the task.\n### Steps\n- $r = Forbidden(1)\n- Return "done"\n'],
    ['a step contract', '## Task\nDoes the task.\n### Steps\n- $r = Forbidden(1)\n  id: sneak\n  expected_tools: Forbidden\n- Return "done"\n'],
    ['strict_sequence: false', '## Task\nstrict_sequence: false\nDoes the task.\n### Steps\n- Return "done"\n'],
    ['max_iterations: 3', '## Task\nmax_iterations: 3\nDoes the task.\n### Steps\n- Return "done"\n'],
  ];

  it.each(ATTEMPTS)('%s: rejected, the reason goes back to the model, Forbidden never runs', async (_what, source) => {
    let attempt = 0;
    fake.setResponder((req) => {
      if (forcedName(req) === 'write_playbook') return write(attempt++ === 0 ? source : SAFE);
      return finish();
    });
    const library = join(work, 'library');
    const { outcome, machine, out } = await runInProcess(compiled(fix('gen-caller.pb')), { library });
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(out).toEqual(['before', 'got: safe']);
    const gens = fake.messageRequests().filter((r) => forcedName(r) === 'write_playbook');
    expect(gens).toHaveLength(2);
    const results = lastToolResults(gens[1]!);
    expect(results).toHaveLength(1);
    expect(results[0]!.is_error).toBe(true);
    expect(results[0]!.content).toBe(`The playbook was rejected:\n<generated>/playbook.pb: error: ${RULE}\nFix it and submit the whole playbook again with write_playbook.`);
    // Only the safe version was linked, and it has no plan.
    expect(machine.linked.map((c) => [c.name, c.plan === undefined])).toEqual([['Task', true]]);
    expect(machine.plans).toEqual([]);
    expect(toolLines()).toEqual([]);
  });
});

describe('3b. a generated playbook called from a contracted step is judged by its contract', () => {
  it("the generated Task calls Forbidden inside step 'run' (expects A): contract-violation, Forbidden never runs", async () => {
    fake.setResponder((req) => {
      if (forcedName(req) === 'write_playbook') return write('## Task\nDoes the task.\n### Steps\n- $x = Forbidden(1)\n- $y = A(2)\n- Return "done"\n');
      return finish();
    });
    const state = join(work, 'state');
    const r = await pb(['run', fix('gen-enforced.pb'), '--tools', TOOLS, '--state', state, '--library', join(work, 'library')]);
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    const reason = "'Forbidden' is not in the tool contract of step 'run' (expected tools: A); allow_extra_tools is off";
    expect(r.stderr).toContain(`<generated>/Task.pb:4:3: error: call to 'Forbidden' rejected: ${reason}\n`);
    expect(r.stdout).toBe('');
    expect(toolLines()).toEqual([]);

    const p = (await audit(state)).plans[0]!;
    expect(p.status).toBe('failed');
    expect(statuses(p)).toEqual(['run failed']);
    expect(callsOf(step(p, 'run'))).toEqual(['Forbidden rejected [code]']);
    expect(violationsOf(step(p, 'run'))).toEqual([{ kind: 'extra-tool', tool: 'Forbidden', message: reason }]);
  });
});

describe('3c. a generated playbook that fails is regenerated: the enforced procedure it called is abandoned, failed', () => {
  it("Pay (contracted) fails with key-error inside the generated Task; Task is rewritten; Pay's plan is not left running", async () => {
    const calling = '## Task\nPays for the order.\n### Steps\n- $v = Pay("A-1001")\n- Return $v\n';
    let attempt = 0;
    fake.setResponder((req) => {
      if (forcedName(req) === 'write_playbook') return write(attempt++ === 0 ? calling : SAFE);
      return finish();
    });
    const state = join(work, 'state');
    const r = await pb(['run', fix('gen-caller.pb'), '--tools', TOOLS, '--state', state, '--library', join(work, 'library')]);
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    expect(r.stdout).toBe('before\ngot: safe\n');
    expect(toolLines()).toEqual(['A ["A-1001"]']);
    // Two write_playbook requests: the first version, then the repair after Pay's key-error.
    const gens = fake.messageRequests().filter((x) => forcedName(x) === 'write_playbook');
    expect(gens).toHaveLength(2);
    expect(promptText(gens[1]!)).toContain('key "nope" not found');

    const a = await audit(state);
    expect(a.status).toBe('finished');
    expect(a.plans).toHaveLength(1);
    const p = a.plans[0]!;
    expect(p.playbook).toBe('Pay');
    expect(p.status).toBe('failed');
    expect(typeof p.finishedAt).toBe('string');
    expect(statuses(p)).toEqual(['lookup completed', 'charge failed']);
    expect(violationsOf(step(p, 'charge'))).toEqual([{ kind: 'aborted', tool: null, message: 'the call of Pay was abandoned (its playbook failed)' }]);
  });
});

// ---------------------------------------------------------------------------------------
// 4. Locus descriptions and names

describe('4. Locus: descriptions and names are text, never structure', () => {
  it("'<!--' in a step description or in the playbook description: exit 1, with the field", async () => {
    const step = await pb(['check', fix('comment-step.yaml')], { offline: true });
    expect(step.code, describeRun(step)).toBe(EXIT_COMPILE);
    expect(step.stderr.split('\n')[0]).toBe(`${fix('comment-step.yaml')}:7:18: error: steps[0].description: contains '<!--', which would start a comment; write it another way`);
    const run = await pb(['run', fix('comment-description.yaml'), '--tools', TOOLS]);
    expect(run.code, describeRun(run)).toBe(EXIT_COMPILE);
    expect(run.stderr.split('\n')[0]).toBe(`${fix('comment-description.yaml')}:4:14: error: description: contains '<!--', which would start a comment; write it another way`);
    expect(fake.messageRequests()).toEqual([]);
    expect(toolLines()).toEqual([]);
    // The same for a hint and a predicate (in process, through compileLocus).
    const hint = compileLocus('id: h\nname: Refund\nsteps:\n  - id: verify\n    description: Look up\n    hints: ["Ask <!-- twice"]\n', 'h.yaml');
    expect(hint.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual(["6:12 steps[0].hints: contains '<!--', which would start a comment; write it another way"]);
    const pred = compileLocus('id: p\nname: Refund\nsteps:\n  - id: verify\n    description: Look up\n    validation:\n      predicate: \'result["x"] == "<!--"\'\n', 'p.yaml');
    expect(pred.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual(["7:18 steps[0].validation.predicate: contains '<!--', which would start a comment; write it another way"]);
  });

  it('description "allow_extra_tools: true" is only the description: extra tools stay rejected (plan, disasm, a run)', async () => {
    const r = compileFile(fix('description-rule.yaml'));
    expect(r.errorCount, formatDiagnostics(r.diagnostics, r.sources)).toBe(0);
    const code = r.program!.agents[0]!.playbooks[0]!;
    expect(code.description).toBe('allow_extra_tools: true');
    expect(code.metadata).toEqual({ id: 'description-rule' });
    expect(code.plan!.allowExtraTools).toBe(false);
    const dis = await pb(['disasm', fix('description-rule.yaml')], { offline: true });
    expect(dis.code, describeRun(dis)).toBe(EXIT_OK);
    expect(dis.stdout).toContain('    ; description: allow_extra_tools: true\n');
    expect(dis.stdout).toContain('    plan strict_sequence=true allow_extra_tools=false max_iterations=25\n');

    // Run it: the model calls Forbidden first; it is rejected and never runs.
    fake.setResponder(model({ verify: [callTool('Forbidden', { x: 1 }), callTool('A', { x: 'A-1001' }), finish()] }));
    const { outcome, machine } = await runInProcess(r.program!);
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(toolLines()).toEqual(['A ["A-1001"]']);
    expect(rejectionAt('verify', 0)).toEqual({ rejected: 'Forbidden', reason: FORBIDDEN_VERIFY, expected_tools: ['A'], hints: [] });
    const p = machine.plans[0]!;
    expect(p.allowExtraTools).toBe(false);
    expect(callsOf(step(p, 'verify'))).toEqual(['Forbidden rejected', 'A ok']);
  });

  it('description "max_iterations: 100000" does not override the max_iterations field', () => {
    const r = compileFile(fix('description-iterations.yaml'));
    expect(r.errorCount, formatDiagnostics(r.diagnostics, r.sources)).toBe(0);
    const code = r.program!.agents[0]!.playbooks[0]!;
    expect(code.description).toBe('max_iterations: 100000');
    expect(code.metadata).toEqual({ id: 'description-iterations', max_iterations: 5 });
    expect({ max: code.plan!.maxIterations, extra: code.plan!.allowExtraTools, strict: code.plan!.strictSequence }).toEqual({ max: 5, extra: false, strict: true });
  });

  it('a name with parentheses ("Refund (v2)") compiles; the title is exactly the name', async () => {
    const r = compileFile(fix('parens.yaml'));
    expect(r.errorCount, formatDiagnostics(r.diagnostics, r.sources)).toBe(0);
    const agent = r.program!.agents[0]!;
    const code = agent.playbooks[0]!;
    expect(agent.title).toBe('Refund (v2)');
    expect(code.title).toBe('Refund (v2)');
    expect(code.params).toEqual([]);
    expect(code.description).toBe('Refunds, second version.');
    expect(code.plan!.steps.map((s) => s.id)).toEqual(['verify']);
    const check = await pb(['check', fix('parens.yaml')], { offline: true });
    expect(check.code, describeRun(check)).toBe(EXIT_OK);
  });
});

// ---------------------------------------------------------------------------------------
// 5. Nested natural-language steps under a contracted step

describe('5. natural-language steps nested under a contracted step are part of it', () => {
  /** "handle/01" is the block itself, "handle/01.01" and "handle/01.02" its nested steps. */
  const byNestedStep = (req: RecordedRequest) => {
    const id = planStepOf(req);
    return id ? `${id}/${stepOf(req) ?? '?'}` : undefined;
  };

  it("a nested step's finish_step does not close 'handle' early: the second nested step's call is accepted; 'handle' completes at its end", async () => {
    keyOf = byNestedStep;
    fake.setResponder(
      model({
        'handle/01': [finishBlock(true)],
        'handle/01.01': [callTool('A', { x: 'A-1001' }), finish('looked up')],
        'handle/01.02': [callTool('B', { x: 129 }), finish('paid')],
      }),
    );
    const { r, state } = await runWithState(fix('block.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    expect(r.stdout).toBe('handled\n');
    expect(toolLines()).toEqual(['A ["A-1001"]', 'B [129]']);
    expect(requestLog()).toEqual(['handle/01#0', 'handle/01.01#0', 'handle/01.01#1', 'handle/01.02#0', 'handle/01.02#1']);
    // The second nested step's call was not rejected.
    expect(answersTo('handle/01.02', 0)).toEqual([expect.objectContaining({ content: '{"ok":true,"paid":129}' })]);
    expect(answersTo('handle/01.02', 0)[0]!.is_error).toBeUndefined();

    const a = await audit(state);
    expect(a.status).toBe('finished');
    const p = a.plans[0]!;
    expect(p.status).toBe('completed');
    expect(statuses(p)).toEqual(['handle completed']);
    expect(callsOf(step(p, 'handle'))).toEqual(['A ok', 'B ok']);
    expect(step(p, 'handle').violations).toEqual([]);
    expect(p.outside).toEqual([]);
    expect(step(p, 'handle').result).toEqual({ ok: true, paid: 129 });
    // The nested steps' turns count for the plan (the block's one and two per nested step).
    expect(p.iterations).toBe(5);
    // Closed at its end, after the last call.
    expect(step(p, 'handle').completedAt! >= step(p, 'handle').toolCalls[1]!.at).toBe(true);
  });

  it('skip_step from a nested step is refused (even for an optional step); the step goes on and completes', async () => {
    keyOf = byNestedStep;
    writeFileSync(join(work, 'optional.pb'), readFileSync(fix('block.pb'), 'utf8').replace('  expected_tools: A, B\n', '  expected_tools: A, B\n  required: false\n'));
    fake.setResponder(
      model({
        'handle/01': [finishBlock(true)],
        'handle/01.01': [skip('nothing to look up'), callTool('A', { x: 'A-1001' }), finish()],
        'handle/01.02': [callTool('B', { x: 129 }), finish()],
      }),
    );
    const { r, state } = await runWithState('optional.pb');
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    expect(errorAnswerTo('handle/01.01', 0)).toBe('skip_step applies only to an optional step of an enforced procedure, from that step itself; this is not one');
    expect(toolLines()).toEqual(['A ["A-1001"]', 'B [129]']);
    expect(requestLog()).toEqual(['handle/01#0', 'handle/01.01#0', 'handle/01.01#1', 'handle/01.01#2', 'handle/01.02#0', 'handle/01.02#1']);

    const p = (await audit(state)).plans[0]!;
    expect(p.steps[0]!.required).toBe(false);
    expect(statuses(p)).toEqual(['handle completed']);
    expect(callsOf(step(p, 'handle'))).toEqual(['A ok', 'B ok']);
    expect(step(p, 'handle').errors).toEqual([]);
    expect(p.status).toBe('completed');
  });
});

describe('5b. max_iterations bounds the model turns of the nested steps of a contracted step', () => {
  // The plan's turns are all its steps' turns together (LANGUAGE.md 12.1, 12.3). When a nested
  // step reaches max_iterations, the contracted step fails; the steps nested after it must not
  // go on asking the model, uncounted and without the contract.
  //
  // PRODUCT BUG (these two tests fail): vm/model/driver.ts converse() (lines 146-151) closes
  // the contracted step (planClose 'failed', max-iterations) from a NESTED conversation too,
  // which sets plan.current to -1 (vm/plan.ts closeStep, line 286) while the machine is still
  // inside the step's body; the failure only surfaces at PLAN_END (vm/machine.ts
  // closePlanStep, line 1089). Meanwhile machine.planStepOf() returns undefined (line 1043),
  // so every later nested conversation gets no contract in its instruction and is not counted
  // by planIteration (max_iterations 1 here: 7 model requests, audit "1/1 model turns"), and
  // its tool calls are judged with no current step: recorded in plan.outside with
  // "called outside every step of the plan" extra-tool violations.
  it('a loop over a nested step (max_iterations 1): one model request in all; no call recorded outside the steps', async () => {
    keyOf = (req) => (planStepOf(req) ? `handle/${stepOf(req)}` : `no-contract/${stepOf(req) ?? '?'}`);
    fake.setResponder((req) => (turnOf(req) === 0 ? callTool('A', { x: 'A-1001' }) : finish()));
    const { r, state } = await runWithState(fix('loop-max.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    expect(r.stderr).toContain("error: required step 'handle' of Main failed: the plan used its 1 model turns (max_iterations)");
    expect(r.stdout).toBe('');
    expect(toolLines()).toEqual(['A ["A-1001"]']);

    const p = (await audit(state)).plans[0]!;
    expect(p.status).toBe('failed');
    expect(statuses(p)).toEqual(['handle failed']);
    expect(violationsOf(step(p, 'handle')).map((v) => v.kind)).toEqual(['max-iterations']);
    expect(p.iterations).toBe(1);
    // Every model request was a counted turn of the plan, with the contract in its instruction.
    expect.soft(requestLog(), 'model requests after max_iterations was reached').toEqual(['handle/01.01#0']);
    expect.soft(p.outside, 'calls of the nested steps recorded as outside every step').toEqual([]);
    expect.soft(p.violations).toEqual([]);
  });

  it('a block with two nested steps (max_iterations 2): the second nested step makes no model request', async () => {
    keyOf = (req) => (planStepOf(req) ? `handle/${stepOf(req)}` : `no-contract/${stepOf(req) ?? '?'}`);
    writeFileSync(join(work, 'block-max.pb'), readFileSync(fix('block.pb'), 'utf8').replace('## Main\n', '## Main\nmax_iterations: 2\n'));
    fake.setResponder(
      model({
        'handle/01': [finishBlock(true)],
        // Busy: never finishes.
        'handle/01.01': (_req, turn) => use({ name: 'set_variable', input: { name: '$note', value: `turn ${turn}` } }),
        'handle/01.02': [callTool('B', { x: 129 }), finish()],
        'no-contract/01.02': [callTool('B', { x: 129 }), finish()],
      }),
    );
    const { r, state } = await runWithState('block-max.pb');
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    expect(r.stderr).toContain("error: required step 'handle' of Main failed: the plan used its 2 model turns (max_iterations)");
    expect(toolLines()).toEqual([]);

    const p = (await audit(state)).plans[0]!;
    expect(statuses(p)).toEqual(['handle failed']);
    expect(violationsOf(step(p, 'handle')).map((v) => v.kind)).toEqual(['max-iterations']);
    expect(p.iterations).toBe(2);
    expect.soft(requestLog(), 'model requests after max_iterations was reached').toEqual(['handle/01#0', 'handle/01.01#0']);
    expect.soft(p.outside, 'calls of the nested steps recorded as outside every step').toEqual([]);
    expect.soft(p.violations).toEqual([]);
  });
});

describe('5c. max_iterations counts the turns of playbooks a contracted step calls', () => {
  it("Check (no plan of its own) keeps taking turns: they count against Main's budget of 3, then the procedure stops", async () => {
    keyOf = (req) => planStepOf(req) ?? (/^Perform step 01: Think about the checks/m.test(promptText(req)) ? 'check' : undefined);
    fake.setResponder(
      model({
        handle: [callTool('Check'), finish()],
        // Busy: never finishes.
        check: (_req, turn) => use({ name: 'set_variable', input: { name: '$note', value: `turn ${turn}` } }),
      }),
    );
    const { r, state } = await runWithState(fix('callee-turns.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    expect(r.stderr).toContain("error: required step 'handle' of Main failed: the plan used its 3 model turns (max_iterations)");
    expect(requestLog()).toEqual(['handle#0', 'check#0', 'check#1']);
    const p = (await audit(state)).plans[0]!;
    expect(p.iterations).toBe(3);
    expect(statuses(p)).toEqual(['handle failed']);
    expect(violationsOf(step(p, 'handle')).map((v) => v.kind)).toEqual(['max-iterations']);
  });
});

// ---------------------------------------------------------------------------------------
// 6. Predicates gate on the tool's answer

describe("6. a predicate gates on the tool's answer, not on the model's claim", () => {
  it('Policy says eligible false, the model claims true (twice): check fails, Refund never runs; the audit keeps both', async () => {
    fake.setResponder(
      model({
        check: [callTool('Policy', { order_id: 'A-1002' }), finish({ eligible: true }), finish({ eligible: true })],
        refund: [callTool('Refund', { order_id: 'A-1002', amount: 59 }), finish()],
      }),
    );
    const { r, state } = await runWithState(fix('predicate.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    const policy = { eligible: false, max_amount: 0, policy: 'RP-7' };
    const why = `predicate result["eligible"] == True is false for the result ${JSON.stringify(policy)}`;
    expect(r.stderr).toContain(`error: required step 'check' of Main failed: ${why}`);
    expect(toolLines()).toEqual(['Policy ["A-1002"]']);
    expect(requestLog()).toEqual(['check#0', 'check#1', 'check#2']);
    expect(errorAnswerTo('check', 1)).toBe(`Step 'check' is not complete: ${why}.\nFix this now (call the missing tools, then finish_step with the result). This is the only retry.`);

    const a = await audit(state);
    expect(a.status).toBe('failed');
    const p = a.plans[0]!;
    expect(p.status).toBe('failed');
    expect(statuses(p)).toEqual(['check failed', 'refund pending']);
    const c = step(p, 'check');
    expect(c.result).toEqual(policy);
    expect(c.reported).toEqual({ eligible: true });
    expect(c.repairs).toBe(1);
    expect(callsOf(c)).toEqual(['Policy ok']);
    expect(violationsOf(c)).toEqual([{ kind: 'validation', tool: null, message: why }]);
  });
});

// ---------------------------------------------------------------------------------------
// 7. End program

describe('7. End program ends the plans it interrupts', () => {
  it("between two contracted steps: run halted, plan failed (incomplete, naming 'second'), 'first' completed", async () => {
    const { r, state } = await runWithState(fix('end.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    expect(r.stdout).toBe('');
    expect(toolLines()).toEqual(['A [1]']);

    const a = await audit(state);
    expect(a.status).toBe('halted');
    const p = a.plans[0]!;
    expect(p.status).toBe('failed');
    expect(typeof p.finishedAt).toBe('string');
    expect(p.current).toBe(-1);
    expect(statuses(p)).toEqual(['first completed', 'second pending']);
    expect(callsOf(step(p, 'first'))).toEqual(['A ok [code]']);
    expect(step(p, 'first').violations).toEqual([]);
    expect(violationsOf(p)).toEqual([{ kind: 'incomplete', tool: null, message: "required step not completed before the playbook returned: 'second' (pending)" }]);
  });
});

describe('7b. End program inside a contracted step', () => {
  it("the open step is judged as at its end: 'first' (B never called) failed, the plan failed (incomplete, naming 'first')", async () => {
    const { r, state } = await runWithState(fix('end-open.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    expect(toolLines()).toEqual(['A [0]']);

    const a = await audit(state);
    expect(a.status).toBe('halted');
    const p = a.plans[0]!;
    expect(p.status).toBe('failed');
    expect(statuses(p)).toEqual(['first failed', 'second pending']);
    expect(callsOf(step(p, 'first'))).toEqual(['A ok [code]']);
    expect(violationsOf(step(p, 'first'))).toEqual([{ kind: 'validation', tool: null, message: 'expected tool not called successfully: B' }]);
    // 'second' is optional: only 'first' makes the plan incomplete.
    expect(violationsOf(p)).toEqual([{ kind: 'incomplete', tool: null, message: "required step not completed before the playbook returned: 'first' (failed)" }]);
  });
});

// ---------------------------------------------------------------------------------------
// 8. Run-time errors inside a contracted step

describe('8. run-time errors inside a contracted step', () => {
  it("a final error (key-error): the plan is failed, the step failed with an 'aborted' violation", async () => {
    const { r, state } = await runWithState(fix('key-error.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    expect(toolLines()).toEqual(['A [1]']);
    const message = 'key "nope" not found';
    expect(r.stderr).toContain(`key-error.pb:15:3: error: ${message}\n`);
    expect(r.stderr).toContain('(this error is in the program itself; resuming would fail the same way)');

    const a = await audit(state);
    expect(a.status).toBe('failed');
    const p = a.plans[0]!;
    expect(p.status).toBe('failed');
    expect(typeof p.finishedAt).toBe('string');
    expect(statuses(p)).toEqual(['first completed', 'second failed']);
    expect(violationsOf(step(p, 'second'))).toEqual([{ kind: 'aborted', tool: null, message: `the run stopped: ${message}` }]);
    expect(p.violations).toEqual([]);
    // It cannot be resumed past the error: resuming fails the same way, and nothing runs again.
    const records = decodeJournal(readFileSync(join(state, 'journal.pbj'))).records;
    expect(records.at(-1)).toMatchObject({ t: 'end', status: 'failed', final: true, message });
    const again = await pb(['resume', state]);
    expect(again.code, describeRun(again)).toBe(4);
    expect(again.stderr).toContain(`error: the run has already ended (failed: ${message}); there is nothing to resume`);
    expect(toolLines()).toEqual(['A [1]']);
  });

  it('a resumable error (the tool throws: tool-error): the plan stays running with the call as error; pb resume after the fix completes it', async () => {
    const first = await runWithState(fix('boom.pb'), { env: { ER_BOOM_FAIL: '1' } });
    expect(first.r.code, describeRun(first.r)).toBe(EXIT_RUNTIME);
    expect(first.r.stderr).toMatch(/error: tool 'Boom' failed \(call [0-9a-f]+:\d+\): payment gateway down\n/);
    expect(first.r.stderr).toContain(`fix the cause, then continue with: pb resume ${first.state}`);
    expect(toolLines()).toEqual(['A ["A-1001"]', 'Boom [129]']);
    // The failure is journaled (tool-failed), so the audit (a replay of the journal) knows the call threw.
    const failedRecords = decodeJournal(readFileSync(join(first.state, 'journal.pbj'))).records.filter((x) => x.t === 'tool-failed');
    expect(failedRecords.map((x) => (x as { error: string }).error)).toEqual(['payment gateway down']);

    const before = await audit(first.state);
    expect(before.status).toBe('failed');
    const pb1 = before.plans[0]!;
    expect(pb1.status).toBe('running');
    expect(pb1.finishedAt).toBeNull();
    expect(statuses(pb1)).toEqual(['verify completed', 'charge in_progress']);
    expect(callsOf(step(pb1, 'charge'))).toEqual(['Boom error [code]']);
    expect(step(pb1, 'charge').errors).toEqual(['Boom: payment gateway down']);
    expect(step(pb1, 'charge').violations).toEqual([]);
    expect(pb1.violations).toEqual([]);

    const second = await pb(['resume', first.state], { env: { ER_BOOM_FAIL: '0' } });
    expect(second.code, describeRun(second)).toBe(EXIT_OK);
    expect(second.stdout).toBe('charged 129\n');
    // Tool side: A is not repeated; Boom ran again with the same call id.
    const log = toolLog();
    expect(log.map((c) => `${c.name} ${JSON.stringify(c.args)}`)).toEqual(['A ["A-1001"]', 'Boom [129]', 'Boom [129]']);
    expect(log[2]!.callId).toBe(log[1]!.callId);

    const after = await audit(first.state);
    expect(after.status).toBe('finished');
    const p = after.plans[0]!;
    expect(p.status).toBe('completed');
    expect(statuses(p)).toEqual(['verify completed', 'charge completed']);
    expect(callsOf(step(p, 'charge'))).toEqual(['Boom ok [code]']);
    expect(step(p, 'charge').result).toEqual({ charged: 129 });
    expect(step(p, 'charge').violations).toEqual([]);
  });
});

describe('8b. a tool the model calls throws (tool-error) in a contracted step', () => {
  it('the plan stays running with the call as error; pb resume after the fix re-issues it (same call id) and completes the plan', async () => {
    fake.setResponder(model({ charge: [callTool('Boom', { x: 129 }), finish()] }));
    const first = await runWithState(fix('model-boom.pb'), { env: { ER_BOOM_FAIL: '1' } });
    expect(first.r.code, describeRun(first.r)).toBe(EXIT_RUNTIME);
    expect(first.r.stderr).toMatch(/model-boom\.pb:13:3: error: tool 'Boom' failed \(call [0-9a-f]+:\d+\): payment gateway down\n/);
    expect(requestLog()).toEqual(['charge#0']);

    const before = (await audit(first.state)).plans[0]!;
    expect(before.status).toBe('running');
    expect(statuses(before)).toEqual(['charge in_progress']);
    expect(callsOf(step(before, 'charge'))).toEqual(['Boom error']);
    expect(step(before, 'charge').errors).toEqual(['Boom: payment gateway down']);

    const second = await pb(['resume', first.state], { env: { ER_BOOM_FAIL: '0' } });
    expect(second.code, describeRun(second)).toBe(EXIT_OK);
    expect(second.stdout).toBe('charged\n');
    // The model was not asked again for its first turn (it is replayed from the journal).
    expect(requestLog()).toEqual(['charge#0', 'charge#1']);
    const log = toolLog();
    expect(log.map((c) => `${c.name} ${JSON.stringify(c.args)}`)).toEqual(['Boom [129]', 'Boom [129]']);
    expect(log[1]!.callId).toBe(log[0]!.callId);

    const a = await audit(first.state);
    expect(a.status).toBe('finished');
    const p = a.plans[0]!;
    expect(p.status).toBe('completed');
    expect(statuses(p)).toEqual(['charge completed']);
    expect(callsOf(step(p, 'charge'))).toEqual(['Boom ok']);
    expect(step(p, 'charge').result).toEqual({ charged: 129 });
  });
});

// ---------------------------------------------------------------------------------------
// 9. Compile errors

describe('9. compile errors, with their positions', () => {
  const BAD = fix('bad-contracts.pb');

  it('a predicate that calls a tool or a playbook; a markdown playbook in expected_tools', () => {
    expect(errorsOf(BAD)).toEqual([
      "16:14+17 contract: predicate: 'Forbidden' cannot be called here; a predicate may call only builtin functions such as len() (it must have no side effects)",
      "20:14+5 contract: predicate: 'Sub' cannot be called here; a predicate may call only builtin functions such as len() (it must have no side effects)",
      "21:3+13 contract: expected_tools: 'Helper' is a playbook of this agent, not a tool; list the tools it calls (calls inside it count for this step)",
    ]);
  });

  it('pb check prints them with file:line:col and a code frame, and exits 1; nothing runs', async () => {
    const r = await pb(['check', BAD], { offline: true });
    expect(r.code, describeRun(r)).toBe(EXIT_COMPILE);
    expect(r.stderr).toContain(
      `${BAD}:16:14: error: predicate: 'Forbidden' cannot be called here; a predicate may call only builtin functions such as len() (it must have no side effects)\n 16 |   predicate: Forbidden(result) == 1\n    |              ^^^^^^^^^^^^^^^^^\n`,
    );
    expect(r.stderr).toContain(`${BAD}:20:14: error: predicate: 'Sub' cannot be called here; a predicate may call only builtin functions such as len() (it must have no side effects)\n`);
    expect(r.stderr).toContain(
      `${BAD}:21:3: error: expected_tools: 'Helper' is a playbook of this agent, not a tool; list the tools it calls (calls inside it count for this step)\n 21 | - $h = Helper()\n    |   ^^^^^^^^^^^^^\n`,
    );
    expect(r.stderr).toContain('1 file checked: 3 errors, ');
    const run = await pb(['run', BAD, '--tools', TOOLS]);
    expect(run.code, describeRun(run)).toBe(EXIT_COMPILE);
    expect(toolLines()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// 10. strict_sequence false

describe('10. strict_sequence false: a step completed early is not run again', () => {
  it("B (step 'pay') called during 'verify': 'pay' completes, and when reached makes no model request", async () => {
    fake.setResponder(model({ verify: [use(call('A', { x: 'A-1001' }), call('B', { x: 129 })), finish()], pay: [callTool('B', { x: 129 }), finish()] }));
    const { r, state } = await runWithState(fix('loose.pb'));
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    expect(r.stdout).toBe('done\n');
    // No call was rejected.
    expect(answersTo('verify', 0).map((x) => x.is_error ?? false)).toEqual([false, false]);
    // The model was never asked to perform 'pay', and B ran once.
    expect(requestLog()).toEqual(['verify#0', 'verify#1']);
    expect(requestsFor('pay')).toEqual([]);
    expect(toolLines()).toEqual(['A ["A-1001"]', 'B [129]']);

    const a = await audit(state);
    expect(a.status).toBe('finished');
    const p = a.plans[0]!;
    expect(p.strictSequence).toBe(false);
    expect(p.status).toBe('completed');
    expect(statuses(p)).toEqual(['verify completed', 'pay completed']);
    expect(p.steps.map(callsOf)).toEqual([['A ok'], ['B ok']]);
    expect(p.steps.flatMap((s) => s.violations)).toEqual([]);
    expect(step(p, 'pay').result).toEqual({ ok: true, paid: 129 });
    expect(p.iterations).toBe(2);
  });
});
