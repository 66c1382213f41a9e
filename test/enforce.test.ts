// Enforced procedures (step tool contracts, the Locus model): compiler/contracts.ts,
// compiler/locus.ts, vm/plan.ts, the PLAN_BEGIN / PLAN_END / PLAN_CHECK ops and the
// tool-call checks in vm/machine.ts (toolEffect, judgeTool, closePlanStep), the
// driver's finish checks (vm/model/driver.ts: checkFinish, skip_step, planIteration),
// `pb audit` (src/cli/audit-commands.ts, auditRun in src/run.ts).
//
// The model is the REAL @anthropic-ai/sdk (through AnthropicModel, or the built CLI with
// ANTHROPIC_BASE_URL) talking to the fake Messages API on loopback, scripted per plan step
// (the step's contract id is in its instruction: "This step is '<id>' of an enforced
// procedure"). The host tools (test/fixtures/enforce/tools.ts) append every call that runs
// to a log file, so the TOOL SIDE shows what ran; CloseAccount and DeleteLogs are in no
// step's contract and must never appear there.
//
// 1. fixtures: incident-triage.yaml and refund-flow.yaml (Locus) compile to the expected plans.
// 2. the model misbehaves (CLI runs with --state, checked with `pb audit --json`): tools out of
//    order, extra tools, over max_tool_calls → rejected, never run, the model gets the
//    rejection JSON and its step goes on; a result missing required keywords gets one repair
//    turn (fixed → completed; not fixed → failed, step-failed for a required step, the run
//    goes on for an optional one); skip_step on an optional step (skipped) and on a required
//    one (refused, the step goes on).
// 3. strict_sequence false: a later step's tool called early completes that step, which is
//    then skipped (no model call); a required step never reached → plan-incomplete.
// 4. deterministic calls: a call over max_tool_calls (or past timeout_seconds) in a loop is a
//    contract-violation and never runs, and the run it ends leaves no plan "running";
//    allow_extra_tools lets extra calls run, recorded as extra; provable violations and bad
//    contract values are compile errors with exact text and positions.
// 5. max_iterations: a model that never finishes its step → the step fails (max-iterations),
//    recorded once, with the turns actually made.
// 6. SIGKILL in the middle of a tool of step 4, then `pb resume`: nothing repeats except the
//    in-flight call (same call id), the audit is complete, and the times of the steps done
//    before the crash do not change.
// 7. examples/refund-flow.pb and .yaml: same code objects and disasm (minus positions); offline
//    replay runs of both give the same stdout and the same audit.
// 8. Locus loader errors: exit 1 and exact `file:line:col: error: field: reason` lines.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectingIO } from './support/in-process.js';
import { REPO, describeRun, runCli, tempRoot, type CliRun } from './support/cli.js';
import { compileSource } from '../compiler/compile.js';
import { compileLocus } from '../compiler/locus.js';
import { formatDiagnostics } from '../compiler/diagnostics.js';
import { compileFile } from '../src/load-program.js';
import { AnthropicModel } from '../src/providers/anthropic.js';
import { runProgram, type AuditReport } from '../src/run.js';
import type { CodeObject, Program } from '../vm/pbasm/program.js';
import { startFakeAnthropic, type FakeAnthropic } from './support/fake-anthropic.js';
import { promptText, turnOf } from './support/model-script.js';
import { call, callsOf, callTool, conversations, finish, scriptedModel, setVar, skip, statuses, step, use, violationsOf } from './support/plan-script.js';

const FIX = join(REPO, 'test/fixtures/enforce');
const fix = (name: string) => join(FIX, name);
const TOOLS = fix('tools.ts');
const TRIAGE = fix('incident-triage.yaml');
const REFUND = fix('refund-flow.yaml');

const EXIT_OK = 0;
const EXIT_COMPILE = 1;
const EXIT_RUNTIME = 3;

// ---------------------------------------------------------------------------------------
// Helpers

const tmp = tempRoot('pb-enforce-');

/** Per test: a fake Messages API, a working directory (the CLI's cwd) and the tool log. */
let fake: FakeAnthropic;
let work = '';
let files: { calls: string; mark: string };
beforeEach(async () => {
  fake = await startFakeAnthropic();
  work = tmp('work');
  files = { calls: join(work, 'calls.log'), mark: join(work, 'slow.mark') };
  // In-process runs load the tools module into this process; it reads these at call time.
  process.env.ENF_CALLS = files.calls;
  delete process.env.ENF_SLOW;
  delete process.env.ENF_SLOW_MS;
  process.env.ENF_SLOW_MARK = files.mark;
});
afterEach(async () => {
  delete process.env.ENF_SLOW;
  delete process.env.ENF_SLOW_MS;
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
  return read(files.calls)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [name, callId, ...rest] = l.split(' ');
      return { name: name!, callId: callId!, args: JSON.parse(rest.join(' ')) as unknown[] };
    });
}
const toolNames = () => toolLog().map((c) => c.name);
const FORBIDDEN = ['CloseAccount', 'DeleteLogs'];

/** First 16 hex digits of sha256 over canonical JSON (sorted keys): the audit's argsDigest, computed independently. */
function digest(v: unknown): string {
  const canon = (x: unknown): string =>
    x === null || typeof x !== 'object'
      ? JSON.stringify(x)
      : Array.isArray(x)
        ? `[${x.map(canon).join(',')}]`
        : `{${Object.keys(x)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canon((x as Record<string, unknown>)[k])}`)
            .join(',')}}`;
  return createHash('sha256').update(canon(v)).digest('hex').slice(0, 16);
}

// --- the CLI -------------------------------------------------------------------------------

interface PbOptions {
  input?: string;
  env?: Record<string, string>;
  /** No model configured at all (no API key, no base URL). */
  offline?: boolean;
  killWhen?: () => boolean;
  killAfterMs?: number;
}

function pb(args: string[], options: PbOptions = {}): Promise<CliRun> {
  const model: Record<string, string> = options.offline ? {} : { ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: fake.url, PB_MODEL_RETRIES: '0', PB_MODEL_TIMEOUT_MS: '5000' };
  const env = { ...model, ENF_CALLS: files.calls, ENF_SLOW_MARK: files.mark, ...(options.env ?? {}) };
  const kill = options.killWhen ? { killWhen: options.killWhen, killAfterMs: options.killAfterMs ?? 0 } : {};
  return runCli(args, { input: options.input, cwd: work, env, isolateModel: true, ...kill });
}

/** `pb audit DIR --json`, parsed. */
async function audit(state: string): Promise<AuditReport> {
  const r = await pb(['audit', state, '--json']);
  expect(r.code, describeRun(r)).toBe(EXIT_OK);
  return JSON.parse(r.stdout) as AuditReport;
}

const { requestsFor, requestLog, answersTo, rejectionAt } = conversations(() => fake);

// --- in-process runs ---------------------------------------------------------------------------


function compileOk(text: string, path: string): Program {
  const r = compileSource(text, path);
  if (!r.program) throw new Error(`${path} does not compile:\n${formatDiagnostics(r.diagnostics, r.sources)}`);
  return r.program;
}

async function runInProcess(program: Program) {
  const { io, out } = collectingIO();
  const model = { model: new AnthropicModel({ apiKey: 'test', baseURL: fake.url, maxRetries: 0, timeoutMs: 5_000 }), phraseAsks: false };
  const { outcome, machine } = await runProgram(program, { io, model, tools: TOOLS });
  return { outcome, machine, out };
}

const errorsOf = (text: string, path = 'inline.pb') =>
  compileSource(text, path).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.col}+${d.length} ${d.code}: ${d.message}`);

beforeAll(async () => {
  // The CLI runs from dist/; make sure it exists (npm test builds it first).
  expect(existsSync(join(REPO, 'dist/src/cli/main.js')), 'build first: npx tsc -p tsconfig.json').toBe(true);
});

// ---------------------------------------------------------------------------------------
// 1. Fixtures

describe('fixtures: Locus playbooks compile to their plans', () => {
  it('incident-triage.yaml: rules, five steps with their contracts, metadata as written', () => {
    const r = compileFile(TRIAGE);
    expect(r.errorCount, formatDiagnostics(r.diagnostics, r.sources)).toBe(0);
    const code = r.program!.agents[0]!.playbooks[0]!;
    expect(code.name).toBe('IncidentTriage');
    expect(code.metadata).toEqual({ id: 'incident-triage', version: '3.1', tags: ['oncall', 'incidents'], strict_sequence: true, allow_extra_tools: false, max_iterations: 20, metadata: { owner: 'sre-team' } });
    const plan = code.plan!;
    expect({ strict: plan.strictSequence, extra: plan.allowExtraTools, max: plan.maxIterations }).toEqual({ strict: true, extra: false, max: 20 });
    expect(
      plan.steps.map((s) => ({ id: s.id, tools: s.expectedTools, required: s.required, max: s.maxToolCalls, min: s.minToolCalls, keywords: s.requiredResultKeywords, hints: s.hints, predicate: s.predicateText ?? null })),
    ).toEqual([
      { id: 'acknowledge_alert', tools: ['AckAlert'], required: true, max: 1, min: 0, keywords: [], hints: [], predicate: null },
      { id: 'gather_signals', tools: ['QueryMetrics', 'FetchLogs'], required: true, max: 3, min: 2, keywords: [], hints: ['Query the metrics before you fetch the logs.'], predicate: null },
      {
        id: 'assess_severity',
        tools: [],
        required: true,
        max: null,
        min: 0,
        keywords: [],
        hints: ['Use sev1 only when customers cannot check out at all.'],
        predicate: 'result["severity"] == "sev1" or result["severity"] == "sev2" or result["severity"] == "sev3"',
      },
      { id: 'page_oncall', tools: ['PageOncall'], required: false, max: 1, min: 0, keywords: ['page_id'], hints: [], predicate: null },
      { id: 'open_ticket', tools: ['OpenTicket'], required: true, max: 1, min: 0, keywords: ['ticket_id'], hints: ['Give the ticket id in the result.'], predicate: null },
    ]);
  });

  it('refund-flow.yaml (the Locus copy of the example) compiles; pb check of both fixtures exits 0', async () => {
    const r = compileFile(REFUND);
    expect(r.errorCount, formatDiagnostics(r.diagnostics, r.sources)).toBe(0);
    expect(r.program!.agents[0]!.playbooks[0]!.plan!.steps.map((s) => s.id)).toEqual(['collect_request', 'verify_order', 'check_eligibility', 'issue_refund', 'notify_customer']);
    const check = await pb(['check', TRIAGE, REFUND]);
    expect(check.code, describeRun(check)).toBe(EXIT_OK);
  });
});

// ---------------------------------------------------------------------------------------
// 2. A model that does not follow the procedure (CLI, --state, pb audit --json)

describe('the model breaks the contract: rejected calls never run, the audit records them', () => {
  it('out of order, extra tools, over max_tool_calls: rejections with the contract, nothing forbidden runs, the steps go on', async () => {
    fake.setResponder(
      scriptedModel({
        acknowledge_alert: [
          callTool('OpenTicket', { title: 'ALERT-7', severity: 'sev1' }), // a later step's tool
          callTool('DeleteLogs', { service: 'checkout-api' }), // in no contract
          callTool('AckAlert', { alert_id: 'ALERT-7' }),
          callTool('AckAlert', { alert_id: 'ALERT-7' }), // over max_tool_calls: 1
          finish(),
        ],
        gather_signals: [use(call('QueryMetrics', { service: 'checkout-api' }), call('FetchLogs', { service: 'checkout-api' })), finish()],
        assess_severity: [callTool('PageOncall', { team: 'checkout', summary: 'errors' }), finish({ severity: 'sev2' })],
        page_oncall: [skip('sev2 does not page anyone')],
        // keyword arguments in another order than the tool's parameters (title, severity)
        open_ticket: [callTool('CloseAccount', { customer: 'checkout-api' }), callTool('OpenTicket', { severity: 'sev2', title: 'checkout-api errors at 17%' }), finish()],
      }),
    );
    const state = join(work, 'state');
    const r = await pb(['run', TRIAGE, '--tools', TOOLS, '--state', state]);
    expect(r.code, describeRun(r)).toBe(EXIT_OK);

    // Tool side: exactly the allowed calls ran, in order; nothing rejected ran.
    expect(toolLog().map((c) => `${c.name} ${JSON.stringify(c.args)}`)).toEqual([
      'AckAlert ["ALERT-7"]',
      'QueryMetrics ["checkout-api",30]',
      'FetchLogs ["checkout-api","ERROR"]',
      'OpenTicket ["checkout-api errors at 17%","sev2"]',
    ]);
    for (const f of FORBIDDEN) expect(toolNames()).not.toContain(f);

    // What the model got back for each rejected call.
    expect(rejectionAt('acknowledge_alert', 0)).toEqual({
      rejected: 'OpenTicket',
      reason: "'OpenTicket' belongs to step 'open_ticket', which strict_sequence does not let start while step 'acknowledge_alert' is in progress",
      expected_tools: ['AckAlert'],
      hints: [],
    });
    expect(rejectionAt('acknowledge_alert', 1)).toEqual({
      rejected: 'DeleteLogs',
      reason: "'DeleteLogs' is not in the tool contract of step 'acknowledge_alert' (expected tools: AckAlert); allow_extra_tools is off",
      expected_tools: ['AckAlert'],
      hints: [],
    });
    expect(answersTo('acknowledge_alert', 2)).toEqual([expect.objectContaining({ content: expect.stringContaining('"acknowledged":true') })]);
    expect(answersTo('acknowledge_alert', 2)[0]!.is_error).toBeUndefined();
    expect(rejectionAt('acknowledge_alert', 3)).toEqual({ rejected: 'AckAlert', reason: "step 'acknowledge_alert' allows at most 1 tool call, and 1 ran", expected_tools: ['AckAlert'], hints: [] });
    expect(rejectionAt('assess_severity', 0)).toEqual({
      rejected: 'PageOncall',
      reason: "'PageOncall' belongs to step 'page_oncall', which strict_sequence does not let start while step 'assess_severity' is in progress",
      expected_tools: [],
      hints: ['Use sev1 only when customers cannot check out at all.'],
    });
    expect(rejectionAt('open_ticket', 0)).toEqual({
      rejected: 'CloseAccount',
      reason: "'CloseAccount' is not in the tool contract of step 'open_ticket' (expected tools: OpenTicket); allow_extra_tools is off",
      expected_tools: ['OpenTicket'],
      hints: ['Give the ticket id in the result.'],
    });
    // The steps went on after each rejection, and the optional step was declined in one turn.
    expect(requestLog()).toEqual([
      'acknowledge_alert#0',
      'acknowledge_alert#1',
      'acknowledge_alert#2',
      'acknowledge_alert#3',
      'acknowledge_alert#4',
      'gather_signals#0',
      'gather_signals#1',
      'assess_severity#0',
      'assess_severity#1',
      'page_oncall#0',
      'open_ticket#0',
      'open_ticket#1',
      'open_ticket#2',
    ]);
    // The instruction states the contract.
    expect(promptText(requestsFor('open_ticket')[0]!)).toMatch(
      /Perform step 05: Open an incident ticket with the severity and a one-line summary\n\nThis step is 'open_ticket' of an enforced procedure \(steps run in order\)\.\nCall these tools for it: OpenTicket; calls to any other tool are rejected\.\nAt most 1 tool call\.\nHint: Give the ticket id in the result\.\nIt is complete with a result that mentions "ticket_id"; give the result with finish_step\.\nIt is required\.$/,
    );
    expect(promptText(requestsFor('page_oncall')[0]!)).toMatch(/\nIt is optional: if it does not apply, call skip_step with the reason\.$/);

    // The audit.
    const a = await audit(state);
    expect(a.status).toBe('finished');
    expect(a.plans).toHaveLength(1);
    const p = a.plans[0]!;
    expect({ planId: p.planId, version: p.version, agent: p.agent, playbook: p.playbook, status: p.status, iterations: p.iterations, current: p.current }).toEqual({
      planId: 'incident-triage',
      version: '3.1',
      agent: 'IncidentTriage',
      playbook: 'IncidentTriage',
      status: 'completed',
      iterations: 13,
      current: -1,
    });
    expect(statuses(p)).toEqual(['acknowledge_alert completed', 'gather_signals completed', 'assess_severity completed', 'page_oncall skipped', 'open_ticket completed']);
    expect(p.steps.map(callsOf)).toEqual([
      ['OpenTicket rejected', 'DeleteLogs rejected', 'AckAlert ok', 'AckAlert rejected'],
      ['QueryMetrics ok', 'FetchLogs ok'],
      ['PageOncall rejected'],
      [],
      ['CloseAccount rejected', 'OpenTicket ok'],
    ]);
    expect(p.steps.map(violationsOf)).toEqual([
      [
        { kind: 'out-of-sequence', tool: 'OpenTicket', message: "'OpenTicket' belongs to step 'open_ticket', which strict_sequence does not let start while step 'acknowledge_alert' is in progress" },
        { kind: 'extra-tool', tool: 'DeleteLogs', message: "'DeleteLogs' is not in the tool contract of step 'acknowledge_alert' (expected tools: AckAlert); allow_extra_tools is off" },
        { kind: 'max-tool-calls', tool: 'AckAlert', message: "step 'acknowledge_alert' allows at most 1 tool call, and 1 ran" },
      ],
      [],
      [{ kind: 'out-of-sequence', tool: 'PageOncall', message: "'PageOncall' belongs to step 'page_oncall', which strict_sequence does not let start while step 'assess_severity' is in progress" }],
      [],
      [{ kind: 'extra-tool', tool: 'CloseAccount', message: "'CloseAccount' is not in the tool contract of step 'open_ticket' (expected tools: OpenTicket); allow_extra_tools is off" }],
    ]);
    // A rejected call keeps its reason; the argument digest is sha256 of the canonical arguments.
    const ack = step(p, 'acknowledge_alert');
    expect(ack.toolCalls.map((c) => c.reason ?? null)).toEqual([
      "'OpenTicket' belongs to step 'open_ticket', which strict_sequence does not let start while step 'acknowledge_alert' is in progress",
      "'DeleteLogs' is not in the tool contract of step 'acknowledge_alert' (expected tools: AckAlert); allow_extra_tools is off",
      null,
      "step 'acknowledge_alert' allows at most 1 tool call, and 1 ran",
    ]);
    expect(ack.toolCalls.map((c) => c.argsDigest)).toEqual([
      digest({ title: 'ALERT-7', severity: 'sev1' }),
      digest({ service: 'checkout-api' }),
      digest({ alert_id: 'ALERT-7' }),
      digest({ alert_id: 'ALERT-7' }),
    ]);
    expect(p.steps.flatMap((s) => s.toolCalls.map((c) => c.by))).toEqual(Array(9).fill('model'));
    // Results: the last tool result, or what finish_step gave.
    expect(step(p, 'acknowledge_alert').result).toEqual({ acknowledged: true, alert_id: 'ALERT-7', service: 'checkout-api' });
    expect(step(p, 'assess_severity').result).toEqual({ severity: 'sev2' });
    expect(step(p, 'open_ticket').result).toEqual({ ticket_id: 'INC-4711', title: 'checkout-api errors at 17%', severity: 'sev2' });
    expect(step(p, 'page_oncall').errors).toEqual(['skipped: sev2 does not page anyone']);
    expect(p.steps.map((s) => s.repairs)).toEqual([0, 0, 0, 0, 0]);
    expect(p.outside).toEqual([]);
    expect(p.violations).toEqual([]);
    // Every step has its times, in order.
    const times = p.steps.flatMap((s) => [s.startedAt, s.completedAt]);
    expect(times.every((t) => typeof t === 'string' && !Number.isNaN(Date.parse(t)))).toBe(true);
    expect([...times].sort()).toEqual(times);

    // The table form shows the same.
    const table = await pb(['audit', state]);
    expect(table.code, describeRun(table)).toBe(EXIT_OK);
    expect(table.stdout).toContain('plan incident-triage v3.1 (IncidentTriage.IncidentTriage): completed; ');
    expect(table.stdout).toContain('; strict_sequence on, extra tools rejected, 13/20 model turns');
    expect(table.stdout).toMatch(/\n {2}4 {2}page_oncall {8}skipped {4}\d\d:\d\d:\d\d {2}\d\d:\d\d:\d\d {3}-\n/);
    expect(table.stdout).toContain("     violation (extra-tool): 'DeleteLogs' is not in the tool contract of step 'acknowledge_alert' (expected tools: AckAlert); allow_extra_tools is off\n");
    expect(table.stdout).toContain('     note: skipped: sev2 does not page anyone\n');
  });

  it('a result that fails validation gets one repair turn; fixed there, the step completes', async () => {
    fake.setResponder(
      scriptedModel({
        acknowledge_alert: [callTool('AckAlert', { alert_id: 'ALERT-7' }), finish()],
        gather_signals: [use(call('QueryMetrics', { service: 'checkout-api' }), call('FetchLogs', { service: 'checkout-api' })), finish()],
        // No tool runs in this step, so the model's result is the step's result.
        assess_severity: [finish({ severity: 'critical' }), finish({ severity: 'sev1' })],
        page_oncall: [callTool('PageOncall', { team: 'checkout', summary: 'checkout-api errors' }), finish()],
        open_ticket: [callTool('OpenTicket', { title: 'checkout-api errors', severity: 'sev1' }), finish('Opened the ticket.')],
      }),
    );
    const state = join(work, 'state');
    const r = await pb(['run', TRIAGE, '--tools', TOOLS, '--state', state]);
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    expect(toolNames()).toEqual(['AckAlert', 'QueryMetrics', 'FetchLogs', 'PageOncall', 'OpenTicket']);

    // The repair: finish_step answered with an error that says what is missing, with the hints.
    const repair = answersTo('assess_severity', 0);
    expect(repair).toHaveLength(1);
    expect(repair[0]!.is_error).toBe(true);
    expect(repair[0]!.content).toBe(
      'Step \'assess_severity\' is not complete: predicate result["severity"] == "sev1" or result["severity"] == "sev2" or result["severity"] == "sev3" is false for the result {"severity":"critical"}.\nHint: Use sev1 only when customers cannot check out at all.\nFix this now (call the missing tools, then finish_step with the result). This is the only retry.',
    );
    expect(requestsFor('assess_severity').map(turnOf)).toEqual([0, 1]);

    const p = (await audit(state)).plans[0]!;
    expect(statuses(p)).toEqual(['acknowledge_alert completed', 'gather_signals completed', 'assess_severity completed', 'page_oncall completed', 'open_ticket completed']);
    const sev = step(p, 'assess_severity');
    expect(sev.repairs).toBe(1);
    expect(sev.result).toEqual({ severity: 'sev1' });
    expect(sev.violations).toEqual([]);
    // A tool ran in open_ticket: its answer is the result the keywords are checked on; the model's words are kept as reported.
    const t = step(p, 'open_ticket');
    expect(t.result).toEqual({ ticket_id: 'INC-4711', title: 'checkout-api errors', severity: 'sev1' });
    expect(t.reported).toBe('Opened the ticket.');
    expect(t.repairs).toBe(0);
    expect(callsOf(t)).toEqual(['OpenTicket ok']);
    expect(step(p, 'page_oncall').result).toEqual({ page_id: 'PG-checkout', paged: true, idempotency_key: toolLog()[3]!.callId });
    expect(p.status).toBe('completed');
  });

  it("the model's claim never stands in for a tool's answer: a result the tool did not give fails the predicate", async () => {
    fake.setResponder(
      scriptedModel({
        collect_request: [
          { toolUse: { name: 'ask_user', input: { question: 'Which order, and why a refund?' } } },
          use(setVar('$order_id', 'A-1002'), setVar('$reason', 'changed my mind'), { name: 'finish_step', input: {} }),
        ],
        verify_order: [callTool('LookupOrder', { order_id: 'A-1002' }), finish()],
        // The policy says no (64 days); the model claims yes, twice.
        check_eligibility: [callTool('CheckRefundPolicy', { order_id: 'A-1002' }), finish({ eligible: true }), finish({ eligible: true })],
        issue_refund: [callTool('IssueRefund', { order_id: 'A-1002', amount: 59 }), finish()],
      }),
    );
    const state = join(work, 'state');
    const r = await pb(['run', REFUND, '--tools', TOOLS, '--state', state], { input: 'A-1002, changed my mind\n' });
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    expect(r.stderr).toContain(`error: required step 'check_eligibility' of RefundFlow failed: predicate result["eligible"] == True is false for the result {"eligible":false`);
    // Tool side: no refund was issued.
    expect(toolNames()).toEqual(['LookupOrder', 'CheckRefundPolicy']);
    const p = (await audit(state)).plans[0]!;
    const c = step(p, 'check_eligibility');
    expect(c.status).toBe('failed');
    expect(c.reported).toEqual({ eligible: true });
    expect((c.result as { eligible: boolean }).eligible).toBe(false);
  });

  it('a required step whose result still lacks the keyword after the repair fails: step-failed, later steps never run', async () => {
    fake.setResponder(
      scriptedModel({
        collect_request: [
          { toolUse: { name: 'ask_user', input: { question: 'Which order, and why a refund?' } } },
          use(setVar('$order_id', 'A-9999'), setVar('$reason', 'it broke'), { name: 'finish_step', input: {} }),
        ],
        // A-9999 does not exist: the result has no "customer"; the model does not fix it.
        verify_order: [callTool('LookupOrder', { order_id: 'A-9999' }), finish(), finish()],
        check_eligibility: [callTool('CheckRefundPolicy', { order_id: 'A-9999' }), finish()],
        issue_refund: [callTool('IssueRefund', { order_id: 'A-9999', amount: 10 }), finish()],
      }),
    );
    const state = join(work, 'state');
    const r = await pb(['run', REFUND, '--tools', TOOLS, '--state', state], { input: 'A-9999, it broke\n' });
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    expect(r.stderr).toContain("error: required step 'verify_order' of RefundFlow failed: the result lacks required keyword: customer");
    expect(toolLog().map((c) => `${c.name} ${JSON.stringify(c.args)}`)).toEqual(['LookupOrder ["A-9999"]']);
    expect(requestLog()).toEqual(['collect_request#0', 'collect_request#1', 'verify_order#0', 'verify_order#1', 'verify_order#2']);
    expect(answersTo('verify_order', 1)).toEqual([
      {
        type: 'tool_result',
        tool_use_id: expect.any(String),
        is_error: true,
        content: "Step 'verify_order' is not complete: the result lacks required keyword: customer.\nFix this now (call the missing tools, then finish_step with the result). This is the only retry.",
      },
    ]);

    const a = await audit(state);
    expect(a.status).toBe('failed');
    const p = a.plans[0]!;
    expect(p.status).toBe('failed');
    expect(statuses(p)).toEqual(['collect_request completed', 'verify_order failed', 'check_eligibility pending', 'issue_refund pending', 'notify_customer pending']);
    const v = step(p, 'verify_order');
    expect(v.repairs).toBe(1);
    expect(violationsOf(v)).toEqual([{ kind: 'validation', tool: null, message: 'the result lacks required keyword: customer' }]);
    expect(v.result).toEqual({ found: false, order_id: 'A-9999' });
    expect(callsOf(v)).toEqual(['LookupOrder ok']);
    expect(p.steps.slice(2).every((s) => s.startedAt === null && s.toolCalls.length === 0)).toBe(true);
  });

  it('an optional step that fails validation after its repair turn (text replies) is failed, and the run goes on', async () => {
    fake.setResponder(
      scriptedModel({
        acknowledge_alert: [callTool('AckAlert', { alert_id: 'ALERT-7' }), finish()],
        gather_signals: [use(call('QueryMetrics', { service: 'checkout-api' }), call('FetchLogs', { service: 'checkout-api' })), finish()],
        assess_severity: [finish({ severity: 'sev1' })],
        // A text reply finishes the step; its text is the result, which lacks "page_id".
        // The tool pages nobody (no page_id); the model's text does not change the tool's answer.
        page_oncall: [callTool('PageOncall', { team: 'nobody', summary: 'checkout-api errors' }), { text: 'Paged the checkout team.' }, { text: 'Done, they are paged.' }],
        open_ticket: [callTool('OpenTicket', { title: 'checkout-api errors', severity: 'sev1' }), finish()],
      }),
    );
    const state = join(work, 'state');
    const r = await pb(['run', TRIAGE, '--tools', TOOLS, '--state', state]);
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    expect(toolNames()).toEqual(['AckAlert', 'QueryMetrics', 'FetchLogs', 'PageOncall', 'OpenTicket']);

    // The repair after a text reply is a text message.
    const second = requestsFor('page_oncall').find((q) => turnOf(q) === 2)!;
    const msgs = second.body.messages;
    expect(msgs[msgs.length - 1]).toEqual({
      role: 'user',
      content: [
        {
          type: 'text',
          text: "Step 'page_oncall' is not complete: the result lacks required keyword: page_id.\nFix this now (call the missing tools, then finish_step with the result), or call skip_step if the step does not apply. This is the only retry.",
        },
      ],
    });
    expect(requestLog().filter((x) => x.startsWith('page_oncall'))).toEqual(['page_oncall#0', 'page_oncall#1', 'page_oncall#2']);

    const a = await audit(state);
    expect(a.status).toBe('finished');
    const p = a.plans[0]!;
    expect(p.status).toBe('completed');
    expect(statuses(p)).toEqual(['acknowledge_alert completed', 'gather_signals completed', 'assess_severity completed', 'page_oncall failed', 'open_ticket completed']);
    const pg = step(p, 'page_oncall');
    expect(pg.repairs).toBe(1);
    expect(pg.result).toEqual({ paged: false, reason: 'no such team' });
    expect(pg.reported).toBe('Done, they are paged.');
    expect(violationsOf(pg)).toEqual([{ kind: 'validation', tool: null, message: 'the result lacks required keyword: page_id' }]);
  });

  it('skip_step: refused on a required step (the step goes on); an optional step is skipped without a tool call', async () => {
    fake.setResponder(
      scriptedModel({
        acknowledge_alert: [callTool('AckAlert', { alert_id: 'ALERT-7' }), finish()],
        gather_signals: [skip('metrics are down'), use(call('QueryMetrics', { service: 'checkout-api' }), call('FetchLogs', { service: 'checkout-api' })), finish()],
        assess_severity: [finish({ severity: 'sev3' })],
        page_oncall: [skip('sev3: nobody is paged')],
        open_ticket: [callTool('OpenTicket', { title: 'checkout-api errors', severity: 'sev3' }), finish()],
      }),
    );
    const state = join(work, 'state');
    const r = await pb(['run', TRIAGE, '--tools', TOOLS, '--state', state]);
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    expect(answersTo('gather_signals', 0)).toEqual([{ type: 'tool_result', tool_use_id: expect.any(String), is_error: true, content: "step 'gather_signals' is required; it cannot be skipped" }]);
    expect(toolNames()).toEqual(['AckAlert', 'QueryMetrics', 'FetchLogs', 'OpenTicket']);
    expect(requestsFor('page_oncall')).toHaveLength(1);

    const p = (await audit(state)).plans[0]!;
    expect(statuses(p)).toEqual(['acknowledge_alert completed', 'gather_signals completed', 'assess_severity completed', 'page_oncall skipped', 'open_ticket completed']);
    expect(step(p, 'gather_signals').violations).toEqual([]);
    expect(step(p, 'page_oncall')).toMatchObject({ status: 'skipped', toolCalls: [], errors: ['skipped: sev3: nobody is paged'], violations: [], result: null });
    expect(typeof step(p, 'page_oncall').completedAt).toBe('string');
    expect(p.status).toBe('completed');
  });
});

// ---------------------------------------------------------------------------------------
// 3. strict_sequence: false

describe('strict_sequence false', () => {
  const LOOSE = fix('loose.pb');

  // LANGUAGE.md 12.2: "That step can then complete before the machine reaches it, and the
  // machine then skips it without running it again."
  it("a later step's tools called early count for it: it completes, and is skipped without a model call when reached", async () => {
    fake.setResponder(
      scriptedModel({
        ack: [use(call('AckAlert', { alert_id: 'ALERT-7' }), call('QueryMetrics', { service: 'checkout-api' }), call('FetchLogs', { service: 'checkout-api' }), setVar('$false_alarm', false)), finish()],
        gather: [finish()],
        ticket: [callTool('OpenTicket', { title: 'checkout-api errors', severity: 'sev2' }), finish()],
      }),
    );
    const state = join(work, 'state');
    const r = await pb(['run', LOOSE, '--tools', TOOLS, '--state', state]);
    expect(r.code, describeRun(r)).toBe(EXIT_OK);
    // No call was rejected: every answer to the first turn of ack is a success.
    expect(answersTo('ack', 0).map((x) => x.is_error ?? false)).toEqual([false, false, false, false]);
    expect(toolNames()).toEqual(['AckAlert', 'QueryMetrics', 'FetchLogs', 'OpenTicket']);

    const p = (await audit(state)).plans[0]!;
    expect(p.strictSequence).toBe(false);
    expect(statuses(p)).toEqual(['ack completed', 'gather completed', 'ticket completed']);
    expect(p.steps.map(callsOf)).toEqual([['AckAlert ok'], ['QueryMetrics ok', 'FetchLogs ok'], ['OpenTicket ok']]);
    const gather = step(p, 'gather');
    expect(gather.startedAt).toBe(gather.toolCalls[0]!.at);
    expect(gather.result).toEqual({ service: 'checkout-api', level: 'ERROR', lines: ['db timeout after 5000 ms', 'db timeout after 5000 ms'] });
    // The step was done before the machine reached it: it must not be run (asked) again.
    expect(requestLog(), 'the completed step was run again: the model was asked to perform gather').toEqual(['ack#0', 'ack#1', 'ticket#0', 'ticket#1']);
    expect(gather.completedAt! <= step(p, 'ack').completedAt!, 'gather should have completed by the time ack did').toBe(true);
  });

  it('a Return before a required step: plan-incomplete, the step stays pending and its tool never runs', async () => {
    fake.setResponder(
      scriptedModel({
        ack: [use(call('AckAlert', { alert_id: 'ALERT-7' }), setVar('$false_alarm', true)), finish()],
        gather: [use(call('QueryMetrics', { service: 'checkout-api' }), call('FetchLogs', { service: 'checkout-api' })), finish()],
        ticket: [callTool('OpenTicket', { title: 'x', severity: 'sev3' }), finish()],
      }),
    );
    const state = join(work, 'state');
    const r = await pb(['run', LOOSE, '--tools', TOOLS, '--state', state]);
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    expect(r.stderr).toContain("error: LooseTriage: required step not completed before the playbook returned: 'ticket' (pending)");
    expect(toolNames()).toEqual(['AckAlert', 'QueryMetrics', 'FetchLogs']);
    expect(requestsFor('ticket')).toEqual([]);

    const a = await audit(state);
    expect(a.status).toBe('failed');
    const p = a.plans[0]!;
    expect(p.status).toBe('failed');
    expect(statuses(p)).toEqual(['ack completed', 'gather completed', 'ticket pending']);
    expect(violationsOf(p)).toEqual([{ kind: 'incomplete', tool: null, message: "required step not completed before the playbook returned: 'ticket' (pending)" }]);
    expect(typeof p.finishedAt).toBe('string');
  });
});

// ---------------------------------------------------------------------------------------
// 4. Deterministic calls

describe('deterministic tool calls', () => {
  it('a loop over max_tool_calls: contract-violation (exit 3); the third call never runs; the audit shows it', async () => {
    const state = join(work, 'state');
    const r = await pb(['run', fix('ping-loop.pb'), '--tools', TOOLS, '--state', state]);
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    expect(r.stderr).toContain("ping-loop.pb:16:5: error: call to 'Ping' rejected: step 'ping' allows at most 2 tool calls, and 2 ran\n");
    expect(r.stdout).toBe('');
    expect(toolLog().map((c) => `${c.name} ${JSON.stringify(c.args)}`)).toEqual(['Ping [0]', 'Ping [1]']);

    const a = await audit(state);
    expect(a.status).toBe('failed');
    const s = a.plans[0]!.steps[0]!;
    expect(callsOf(s)).toEqual(['Ping ok [code]', 'Ping ok [code]', 'Ping rejected [code]']);
    expect(s.toolCalls.map((c) => c.argsDigest)).toEqual([digest([0]), digest([1]), digest([2])]);
    expect(violationsOf(s)).toEqual([{ kind: 'max-tool-calls', tool: 'Ping', message: "step 'ping' allows at most 2 tool calls, and 2 ran" }]);
    expect(s.result).toBe('pong 1');
  });

  it('in process: the error code is contract-violation, and the run cannot be resumed past it', async () => {
    const program = compileFile(fix('ping-loop.pb')).program!;
    const { outcome, machine, out } = await runInProcess(program);
    expect(outcome.status).toBe('failed');
    if (outcome.status !== 'failed') return;
    expect(outcome.error.code).toBe('contract-violation');
    expect(outcome.error.message).toBe("call to 'Ping' rejected: step 'ping' allows at most 2 tool calls, and 2 ran");
    expect(outcome.resumable).toBe(false);
    expect(out).toEqual([]);
    expect(toolNames()).toEqual(['Ping', 'Ping']);
    expect(callsOf(machine.plans[0]!.steps[0]!)).toEqual(['Ping ok [code]', 'Ping ok [code]', 'Ping rejected [code]']);
  });

  it('after a final contract-violation the plan and its step are not left "running" / "in_progress"', async () => {
    // The run is over for good (contract-violation is not resumable), like after step-failed,
    // which marks the plan failed; the audit must not show this plan as still running.
    const { outcome, machine } = await runInProcess(compileFile(fix('ping-loop.pb')).program!);
    expect(outcome.status === 'failed' && outcome.error.code).toBe('contract-violation');
    const p = machine.plans[0]!;
    expect.soft(p.status, 'plan status after a final contract-violation').toBe('failed');
    expect.soft(typeof p.finishedAt, 'plan finishedAt after a final contract-violation').toBe('string');
    expect.soft(p.steps[0]!.status, 'step status after a final contract-violation').toBe('failed');
  });

  it('a call after the step ran past timeout_seconds is rejected (timeout) and never runs', async () => {
    process.env.ENF_SLOW = 'Ping';
    process.env.ENF_SLOW_MS = '1100';
    const program = compileOk(
      `# Health check

## Health check
### Triggers
- At the beginning
### Steps
- For each n in range(2)
  id: ping
  expected_tools: Ping
  timeout_seconds: 1
  - $last = Ping(n)
`,
      join(FIX, 'inline.pb'),
    );
    const { outcome, machine } = await runInProcess(program);
    expect(outcome.status).toBe('failed');
    if (outcome.status !== 'failed') return;
    expect(outcome.error.code).toBe('contract-violation');
    expect(outcome.error.message).toMatch(/^call to 'Ping' rejected: step 'ping' ran \d+\.\d s, over its timeout_seconds of 1$/);
    expect(toolLog().map((c) => `${c.name} ${JSON.stringify(c.args)}`)).toEqual(['Ping [0]']);
    const s = machine.plans[0]!.steps[0]!;
    expect(callsOf(s)).toEqual(['Ping ok [code]', 'Ping rejected [code]']);
    expect(s.violations.map((v) => v.kind)).toEqual(['timeout']);
  });

  it('allow_extra_tools: an extra call runs and is recorded as extra, in its step or outside every step', async () => {
    const program = compileOk(
      `# Health check

## Health check
allow_extra_tools: true
### Triggers
- At the beginning
### Steps
- For each n in range(1)
  id: ack
  expected_tools: AckAlert
  - $a = AckAlert("ALERT-7")
  - $p = Ping(n)
- $q = Ping(9)
- Say f"{$p} {$q}"
`,
      join(FIX, 'inline.pb'),
    );
    const { outcome, machine, out } = await runInProcess(program);
    expect(outcome.status, outcome.status === 'failed' ? outcome.error.message : '').toBe('finished');
    expect(out).toEqual(['pong 0 pong 9']);
    expect(toolLog().map((c) => `${c.name} ${JSON.stringify(c.args)}`)).toEqual(['AckAlert ["ALERT-7"]', 'Ping [0]', 'Ping [9]']);
    const p = machine.plans[0]!;
    expect(p.status).toBe('completed');
    expect(statuses(p)).toEqual(['ack completed']);
    expect(callsOf(p.steps[0]!)).toEqual(['AckAlert ok [code]', 'Ping ok [code] (extra)']);
    expect(p.steps[0]!.violations).toEqual([]);
    expect(p.outside.map((c) => `${c.tool} ${c.outcome} ${c.by} ${c.extra === true}`)).toEqual(['Ping ok code true']);
    expect(p.violations).toEqual([]);
  });

  describe('provable violations are compile errors (code contract), at the call', () => {
    const HEAD = '# Health check\n\n## Health check\n### Triggers\n- At the beginning\n### Steps\n';

    it('a tool outside the current step contract', () => {
      const text = `${HEAD}- $a = AckAlert("ALERT-7")\n  id: ack\n  expected_tools: AckAlert\n- $t = OpenTicket("x", "sev2")\n  id: ticket\n  expected_tools: QueryMetrics\n`;
      expect(errorsOf(text)).toEqual(["10:8+23 contract: call to 'OpenTicket' is outside the tool contract of step 'ticket' (expected tools: QueryMetrics); allow_extra_tools is false"]);
      // With allow_extra_tools it compiles.
      expect(errorsOf(text.replace('## Health check\n', '## Health check\nallow_extra_tools: true\n'))).toEqual([]);
    });

    it("a later step's tool under strict_sequence", () => {
      const text = `${HEAD}- $a = OpenTicket("x", "sev2")\n  id: ack\n  expected_tools: AckAlert\n- Open the ticket\n  id: ticket\n  expected_tools: OpenTicket\n`;
      expect(errorsOf(text)).toEqual(["7:8+23 contract: call to 'OpenTicket' skips ahead from step 'ack'; it belongs to step 'ticket', and strict_sequence is on"]);
      // Without strict order the call counts for the step that expects it.
      expect(errorsOf(text.replace('## Health check\n', '## Health check\nstrict_sequence: false\n'))).toEqual([]);
    });

    it('a tool in a step without a contract, outside every contract', () => {
      const text = `${HEAD}- $a = DeleteLogs("checkout-api")\n- Acknowledge the alert\n  id: ack\n  expected_tools: AckAlert\n`;
      expect(errorsOf(text)).toEqual(["7:8+26 contract: call to 'DeleteLogs' is outside every step's tool contract; allow_extra_tools is false"]);
    });

    it('pb check prints them with file:line:col and exits 1', async () => {
      const path = join(work, 'ahead.pb');
      writeFileSync(path, `${HEAD}- $a = OpenTicket("x", "sev2")\n  id: ack\n  expected_tools: AckAlert\n- Open the ticket\n  id: ticket\n  expected_tools: OpenTicket\n`);
      const r = await pb(['check', 'ahead.pb']);
      expect(r.code, describeRun(r)).toBe(EXIT_COMPILE);
      expect(r.stderr).toContain(
        "ahead.pb:7:8: error: call to 'OpenTicket' skips ahead from step 'ack'; it belongs to step 'ticket', and strict_sequence is on\n 7 | - $a = OpenTicket(\"x\", \"sev2\")\n   |        ^^^^^^^^^^^^^^^^^^^^^^^\n",
      );
    });
  });

  describe('bad contracts are compile errors naming the key', () => {
    const HEAD = '# Health check\n\n## Health check\n### Triggers\n- At the beginning\n### Steps\n';

    it('each bad value, at the value', () => {
      const text = `${HEAD}- Acknowledge the alert\n  id: ack\n  max_tool_calls: two\n  required: maybe\n  timeout_seconds: 0\n  metadata: [1]\n  predicate: outcome == 1\n  expected_tools: Ack-Alert\n`;
      expect(errorsOf(text)).toEqual([
        '9:19+3 contract: max_tool_calls: expected a whole number of calls, got "two"',
        '10:13+5 contract: required: expected true or false, got "maybe"',
        '11:20+1 contract: timeout_seconds: expected a number of seconds above 0, got "0"',
        '12:13+3 contract: metadata: expected a JSON object, e.g. {"owner": "billing"}',
        "13:14+7 contract: predicate: 'outcome' is not known here; a predicate reads `result` (the step's result) and $state",
        '14:19+9 contract: expected_tools: "Ack-Alert" is not a tool name',
      ]);
    });

    it('a contract on a nested step; a step id used twice; min above max; bad plan rules', () => {
      expect(errorsOf(`${HEAD}- Do things\n  id: ack\n  - Nested step\n    expected_tools: AckAlert\n`)).toEqual(['10:5+14 contract: a tool contract (expected_tools: ...) belongs on a top-level step of the playbook']);
      expect(errorsOf(`${HEAD}- Acknowledge\n  id: ack\n- Acknowledge again\n  id: ack\n`)).toEqual(["9:3+17 contract: step id 'ack' is used by two steps of this playbook"]);
      expect(errorsOf(`${HEAD}- Gather\n  id: gather\n  expected_tools: QueryMetrics\n  max_tool_calls: 1\n  min_tool_calls: 3\n`)).toEqual(['7:3+6 contract: min_tool_calls (3) is above max_tool_calls (1)']);
      const rules = HEAD.replace('## Health check\n', '## Health check\nstrict_sequence: maybe\nallow_extra_tools: 1\nmax_iterations: 0\n');
      expect(errorsOf(`${rules}- Acknowledge\n  id: ack\n`)).toEqual([
        '3:4+12 contract: strict_sequence: expected true or false, got "maybe"',
        '3:4+12 contract: allow_extra_tools: expected true or false, got 1',
        '3:4+12 contract: max_iterations: expected a whole number of at least 1, got 0',
      ]);
    });
  });
});

// ---------------------------------------------------------------------------------------
// 5. max_iterations

describe('max_iterations', () => {
  it('a model that never finishes its step: the step fails with max-iterations after the allowed turns', async () => {
    // Busy forever: sets a variable every turn and never finishes.
    fake.setResponder(scriptedModel({ ack: (_req, turn) => use(setVar('$note', `turn ${turn}`)) }));
    const state = join(work, 'state');
    const r = await pb(['run', fix('stuck.pb'), '--tools', TOOLS, '--state', state]);
    expect(r.code, describeRun(r)).toBe(EXIT_RUNTIME);
    expect(r.stderr).toContain("error: required step 'ack' of Stuck failed: the plan used its 3 model turns (max_iterations)");
    expect(r.stdout).toBe('');
    expect(requestLog()).toEqual(['ack#0', 'ack#1', 'ack#2']);
    expect(toolLog()).toEqual([]);

    const a = await audit(state);
    expect(a.status).toBe('failed');
    const p = a.plans[0]!;
    expect(p.status).toBe('failed');
    expect(statuses(p)).toEqual(['ack failed']);
    expect(violationsOf(step(p, 'ack')).map((v) => v.kind)).toContain('max-iterations');
    expect(step(p, 'ack').violations.every((v) => v.message === 'the plan used its 3 model turns (max_iterations)')).toBe(true);
  });

  it('the max-iterations event is recorded once, and the plan counts only the turns it made', async () => {
    fake.setResponder(scriptedModel({ ack: (_req, turn) => use(setVar('$note', `turn ${turn}`)) }));
    const { outcome, machine } = await runInProcess(compileFile(fix('stuck.pb')).program!);
    expect(outcome.status === 'failed' && outcome.error.code).toBe('step-failed');
    expect(fake.messageRequests()).toHaveLength(3);
    const p = machine.plans[0]!;
    expect.soft(violationsOf(p.steps[0]!), 'the max-iterations violation is recorded twice').toEqual([{ kind: 'max-iterations', tool: null, message: 'the plan used its 3 model turns (max_iterations)' }]);
    expect.soft(p.iterations, 'iterations counts a 4th turn that was never made (the audit prints 4/3 model turns)').toBe(3);
  });
});

// ---------------------------------------------------------------------------------------
// 6. SIGKILL and resume

describe('durability', () => {
  it('SIGKILL during a tool of step 4, then pb resume: the plan continues, only the in-flight call is re-issued (same call id), earlier times unchanged', async () => {
    fake.setResponder(
      scriptedModel({
        acknowledge_alert: [callTool('AckAlert', { alert_id: 'ALERT-7' }), finish()],
        gather_signals: [use(call('QueryMetrics', { service: 'checkout-api' }), call('FetchLogs', { service: 'checkout-api' })), finish()],
        assess_severity: [finish({ severity: 'sev1' })],
        page_oncall: [callTool('PageOncall', { team: 'checkout', summary: 'checkout-api is down' }), finish()],
        open_ticket: [callTool('OpenTicket', { title: 'checkout-api is down', severity: 'sev1' }), finish()],
      }),
    );
    const state = join(work, 'state');
    const marks = () => read(files.mark).split('\n').filter((l) => l !== '').length;
    const first = await pb(['run', TRIAGE, '--tools', TOOLS, '--state', state], { env: { ENF_SLOW: 'PageOncall', ENF_SLOW_MS: '5000' }, killWhen: () => marks() >= 1, killAfterMs: 150 });
    expect(first.killed, `not killed: ${describeRun(first)}`).toBe(true);
    expect(first.signal).toBe('SIGKILL');
    expect(toolNames()).toEqual(['AckAlert', 'QueryMetrics', 'FetchLogs', 'PageOncall']);
    expect(requestLog()).toEqual(['acknowledge_alert#0', 'acknowledge_alert#1', 'gather_signals#0', 'gather_signals#1', 'assess_severity#0', 'page_oncall#0']);

    // The audit of the killed run: three steps done, the fourth waiting on its tool call.
    const before = await audit(state);
    expect(before.status).toBe('incomplete');
    expect(before.waitingOn).toMatch(/^tool PageOncall \(call [0-9a-f]+:\d+\) at step /);
    const pb1 = before.plans[0]!;
    expect(pb1.status).toBe('running');
    expect(statuses(pb1)).toEqual(['acknowledge_alert completed', 'gather_signals completed', 'assess_severity completed', 'page_oncall in_progress', 'open_ticket pending']);
    expect(callsOf(step(pb1, 'page_oncall'))).toEqual(['PageOncall running']);

    // Resume, the tool no longer slow.
    const n = fake.messageRequests().length;
    const second = await pb(['resume', state]);
    expect(second.code, describeRun(second)).toBe(EXIT_OK);
    // Nothing was asked again: only the turns after the interrupted call.
    expect(requestLog(fake.messageRequests().slice(n))).toEqual(['page_oncall#1', 'open_ticket#0', 'open_ticket#1']);
    // Tool side: every call once, except the in-flight one, re-issued with the same call id.
    const log = toolLog();
    expect(log.map((c) => c.name)).toEqual(['AckAlert', 'QueryMetrics', 'FetchLogs', 'PageOncall', 'PageOncall', 'OpenTicket']);
    expect(log[4]!.callId).toBe(log[3]!.callId);
    expect(new Set(log.map((c) => c.callId)).size).toBe(5);
    for (const f of FORBIDDEN) expect(toolNames()).not.toContain(f);

    const after = await audit(state);
    expect(after.status).toBe('finished');
    expect(after.runId).toBe(before.runId);
    const p = after.plans[0]!;
    expect(p.status).toBe('completed');
    expect(statuses(p)).toEqual(['acknowledge_alert completed', 'gather_signals completed', 'assess_severity completed', 'page_oncall completed', 'open_ticket completed']);
    expect(p.steps.map(callsOf)).toEqual([['AckAlert ok'], ['QueryMetrics ok', 'FetchLogs ok'], [], ['PageOncall ok'], ['OpenTicket ok']]);
    expect(step(p, 'page_oncall').toolCalls[0]!.seq).toBe(step(pb1, 'page_oncall').toolCalls[0]!.seq);
    expect(step(p, 'page_oncall').result).toEqual({ page_id: 'PG-checkout', paged: true, idempotency_key: log[3]!.callId });
    expect(p.iterations).toBe(9);
    // Steps done before the crash are exactly as they were, timestamps included.
    expect(p.steps.slice(0, 3)).toEqual(pb1.steps.slice(0, 3));
    expect(p.startedAt).toBe(pb1.startedAt);
    expect(step(p, 'page_oncall').startedAt).toBe(step(pb1, 'page_oncall').startedAt);
    expect(step(p, 'page_oncall').toolCalls[0]!.at).toBe(step(pb1, 'page_oncall').toolCalls[0]!.at);
    const times = p.steps.flatMap((s) => [s.startedAt, s.completedAt]);
    expect(times.every((t) => typeof t === 'string')).toBe(true);
    expect([...times].sort()).toEqual(times);
  });
});

// ---------------------------------------------------------------------------------------
// 7. The refund example: .pb and Locus YAML

describe('examples/refund-flow.pb and refund-flow.yaml', () => {
  const PB = join(REPO, 'examples/refund-flow.pb');
  const YAML = join(REPO, 'examples/refund-flow.yaml');

  /** A value without its source positions (file, line, col). */
  function positionless(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(positionless);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'file' && k !== 'line' && k !== 'col').map(([k, x]) => [k, positionless(x)]));
    return v;
  }

  it('compile to the same code objects, minus positions (and the same pb disasm, minus source lines and paths)', async () => {
    const a = compileFile(PB);
    const b = compileFile(YAML);
    expect(a.errorCount + b.errorCount).toBe(0);
    const pa = a.program!.agents[0]!.playbooks[0]! as CodeObject;
    const pbk = b.program!.agents[0]!.playbooks[0]! as CodeObject;
    expect(pbk.code).toEqual(pa.code);
    expect(pbk.consts).toEqual(pa.consts);
    expect(positionless(pbk.plan)).toEqual(positionless(pa.plan));
    expect(positionless(pbk)).toEqual(positionless(pa));
    expect(positionless(b.program!.agents)).toEqual(positionless(a.program!.agents));
    // The same through compileLocus directly.
    const direct = compileLocus(readFileSync(YAML, 'utf8'), YAML);
    expect(positionless(direct.program!.agents)).toEqual(positionless(a.program!.agents));

    const norm = (s: string) =>
      s
        .split('\n')
        .filter((l) => !l.startsWith('; source '))
        .map((l) => l.replace(/\(line \d+\)/g, '(line _)'))
        .join('\n');
    const [da, db] = await Promise.all([pb(['disasm', PB], { offline: true }), pb(['disasm', YAML], { offline: true })]);
    expect(da.code, describeRun(da)).toBe(EXIT_OK);
    expect(db.code, describeRun(db)).toBe(EXIT_OK);
    expect(norm(db.stdout)).toBe(norm(da.stdout));
    expect(da.stdout).toContain('PLAN_BEGIN');
  });

  it('offline replay runs of both (no API key) print the same and audit the same', async () => {
    const input = readFileSync(join(REPO, 'examples/refund-flow.input'), 'utf8');
    const replay = join(REPO, 'examples/refund-flow.replay.json');
    const tools = join(REPO, 'examples/refund-tools.ts');
    const run = async (file: string, name: string) => {
      const state = join(work, name);
      const r = await pb(['run', file, '--tools', tools, '--replay', replay, '--state', state], { input, offline: true });
      expect(r.code, describeRun(r)).toBe(EXIT_OK);
      const report = await audit(state);
      // Normalized: run ids (also inside idempotency keys), times and the state directory.
      const text = JSON.stringify(report)
        .split(report.runId)
        .join('<run>')
        .replace(/"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/g, '"<time>"')
        .split(JSON.stringify(state).slice(1, -1))
        .join('<dir>');
      return { stdout: r.stdout, audit: JSON.parse(text) as AuditReport };
    };
    const a = await run(PB, 'pb-state');
    const b = await run(YAML, 'yaml-state');
    expect(fake.messageRequests()).toEqual([]);
    expect(a.stdout).toBe('Which order is this about, and why would you like a refund?\nYour refund of $129 for order A-1001 is on its way (RF-A-1001).\n');
    expect(b.stdout).toBe(a.stdout);
    expect(b.audit).toEqual(a.audit);
    const p = a.audit.plans[0]!;
    expect(a.audit.status).toBe('finished');
    expect(statuses(p)).toEqual(['collect_request completed', 'verify_order completed', 'check_eligibility completed', 'issue_refund completed', 'notify_customer completed']);
    expect(p.steps.map(callsOf)).toEqual([[], ['IssueRefund rejected', 'LookupOrder ok'], ['CheckRefundPolicy ok'], ['IssueRefund ok'], ['SendEmail ok']]);
    expect(violationsOf(step(p, 'verify_order'))).toEqual([
      { kind: 'out-of-sequence', tool: 'IssueRefund', message: "'IssueRefund' belongs to step 'issue_refund', which strict_sequence does not let start while step 'verify_order' is in progress" },
    ]);
    expect(step(p, 'issue_refund').result).toEqual({ refund_id: 'RF-A-1001', amount: 129, status: 'issued', idempotency_key: expect.stringMatching(/^<run>:\d+$/) });
  });
});

// ---------------------------------------------------------------------------------------
// 8. Locus loader errors

describe('Locus loader errors', () => {
  /** Writes `name` in the work directory and runs `pb check` on it (a relative path). */
  async function check(name: string, text: string): Promise<CliRun> {
    writeFileSync(join(work, name), text);
    return pb(['check', name], { offline: true });
  }

  it('an unknown field: a close name is suggested, with a code frame', async () => {
    const r = await check('typo.yaml', 'id: triage\nname: Triage\nstrict_sequense: true\nsteps:\n  - id: ack\n    description: Acknowledge the alert\n');
    expect(r.code, describeRun(r)).toBe(EXIT_COMPILE);
    expect(r.stderr.split('\n').slice(0, 3)).toEqual([
      "typo.yaml:3:1: error: strict_sequense: unknown field (did you mean 'strict_sequence'?); a Locus playbook has id, name, description, version, strict_sequence, allow_extra_tools, max_iterations, tags, metadata, steps",
      ' 3 | strict_sequense: true',
      '   | ^^^^^^^^^^^^^^^',
    ]);
  });

  it('types are checked with field paths (YAML and JSON)', async () => {
    const y = await check('types.yaml', 'id: triage\nname: Triage\nsteps:\n  - id: ack\n    description: Acknowledge the alert\n    expected_tools: [AckAlert]\n    max_tool_calls: three\n');
    expect(y.code, describeRun(y)).toBe(EXIT_COMPILE);
    expect(y.stderr.split('\n')[0]).toBe('types.yaml:7:21: error: steps[0].max_tool_calls: expected a whole number (0 or more), got "three"');

    const j = await check(
      'bad.json',
      '{\n  "id": "triage",\n  "name": "Triage",\n  "steps": [\n    {"id": "ack", "description": "Acknowledge the alert"},\n    {"id": "page", "description": "Page on-call", "required": "yes"}\n  ]\n}\n',
    );
    expect(j.code, describeRun(j)).toBe(EXIT_COMPILE);
    expect(j.stderr.split('\n')[0]).toBe('bad.json:6:63: error: steps[1].required: expected true or false, got "yes"');

    const m = await check('missing.yaml', 'id: triage\nname: Triage\nmax_iterations: 0\nsteps:\n  - id: ack\n    expected_tools: AckAlert\n  - id: ack\n    description: Again\n    expected_tools: [Ack-Alert]\n');
    expect(m.code, describeRun(m)).toBe(EXIT_COMPILE);
    expect(m.stderr.split('\n').filter((l) => /: error: /.test(l))).toEqual([
      'missing.yaml:3:17: error: max_iterations: expected a whole number of at least 1, got 0',
      'missing.yaml:5:5: error: steps[0].description: is required',
      "missing.yaml:7:9: error: steps[1].id: 'ack' is also the id of steps[0]",
      'missing.yaml:9:22: error: steps[1].expected_tools[0]: "Ack-Alert" is not allowed here (a tool name)',
    ]);
  });

  it('not YAML at all; pb run of a bad file also exits 1', async () => {
    const r = await check('syntax.yml', 'id: triage\nname: Triage\nsteps:\n  - id: ack\n     description: Acknowledge the alert\n');
    expect(r.code, describeRun(r)).toBe(EXIT_COMPILE);
    expect(r.stderr.split('\n').slice(0, 3)).toEqual(['syntax.yml:4:9: error: not valid YAML/JSON: Nested mappings are not allowed in compact mappings', ' 4 |   - id: ack', '   |         ^']);
    const run = await pb(['run', 'syntax.yml'], { offline: true });
    expect(run.code, describeRun(run)).toBe(EXIT_COMPILE);
    expect(run.stderr.split('\n')[0]).toBe('syntax.yml:4:9: error: not valid YAML/JSON: Nested mappings are not allowed in compact mappings');
  });

  it('errors inside validation: the field path, and the predicate checked by the compiler at its YAML position', async () => {
    const v = await check('validation.yaml', 'id: triage\nname: Triage\nsteps:\n  - id: ack\n    description: Acknowledge the alert\n    validation:\n      min_calls: 2\n');
    expect(v.code, describeRun(v)).toBe(EXIT_COMPILE);
    expect(v.stderr.split('\n').slice(0, 3)).toEqual([
      'validation.yaml:7:7: error: steps[0].validation.min_calls: unknown field; validation has min_tool_calls, required_result_keywords, predicate',
      ' 7 |       min_calls: 2',
      '   |       ^^^^^^^^^',
    ]);

    const p = await check('predicate.yaml', 'id: triage\nname: Triage\nsteps:\n  - id: assess\n    description: Assess the severity\n    validation:\n      predicate: severity == "sev1"\n');
    expect(p.code, describeRun(p)).toBe(EXIT_COMPILE);
    expect(p.stderr.split('\n').slice(0, 3)).toEqual([
      "predicate.yaml:7:18: error: predicate: 'severity' is not known here; a predicate reads `result` (the step's result) and $state",
      ' 7 |       predicate: severity == "sev1"',
      '   |                  ^^^^^^^^',
    ]);
  });
});
