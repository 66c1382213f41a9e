// Enforced procedures at run time: the plan of one call of a playbook with step tool
// contracts (Locus's PlaybookPlan of StepExecutions), and the rules that judge every tool
// call against it (current step's expected tools, strict sequence, max calls, timeout) and
// decide how a step ends (expected tools seen, validation). The plan is plain data: it lives
// in the machine (Machine.plans), in every snapshot, and is what `pb audit` prints.
import { createHash } from 'node:crypto';
import type { PlanSpec, PlanStepSpec, Value } from './pbasm/program.js';

export type StepStatus = 'pending' | 'in_progress' | 'completed' | 'skipped' | 'failed';

export type ViolationKind = 'extra-tool' | 'out-of-sequence' | 'max-tool-calls' | 'timeout' | 'validation' | 'max-iterations' | 'incomplete' | 'aborted';

export interface Violation {
  kind: ViolationKind;
  message: string;
  at: string;
  tool?: string;
}

export interface ToolCallRecord {
  /** Effect number of the call (its identity in the journal). */
  seq: number;
  tool: string;
  /** First 16 hex digits of sha256 over the arguments as canonical JSON. */
  argsDigest: string;
  at: string;
  /** Who made the call: deterministic code, or the model from a natural-language step. */
  by: 'code' | 'model';
  /** 'rejected' calls never ran; the others ran and returned ('ok') or threw ('error'). */
  outcome: 'running' | 'ok' | 'error' | 'rejected';
  /** Allowed only because allow_extra_tools is on. */
  extra?: boolean;
  reason?: string;
}

export interface StepExecution {
  id: string;
  description: string;
  required: boolean;
  status: StepStatus;
  startedAt: string | null;
  completedAt: string | null;
  toolCalls: ToolCallRecord[];
  /**
   * What the step's validation judges: the value its last successful tool call returned, or,
   * when it called no tool, the result the model gave. A model's claim never stands in for a
   * tool's answer (a predicate such as `result["eligible"] == True` gates on the tool).
   */
  result: Value;
  /** The result the model reported with finish_step (or its final text), when there was one. */
  reported?: Value;
  errors: string[];
  violations: Violation[];
  /** Repair turns the model got after a failed validation. */
  repairs: number;
}

export interface PlanExecution {
  agent: string;
  playbook: string;
  /** The plan's id: the playbook's `id:` metadata (a Locus id), else its name. */
  planId: string;
  version: string | null;
  status: 'running' | 'completed' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  strictSequence: boolean;
  allowExtraTools: boolean;
  maxIterations: number;
  /** Model turns spent on the plan's steps. */
  iterations: number;
  /** Index of the step being run (-1 between steps). */
  current: number;
  steps: StepExecution[];
  /** Calls made outside every plan step (allowed or rejected), and violations there. */
  outside: ToolCallRecord[];
  violations: Violation[];
}

export type ToolVerdict = { ok: true; step: number } | { ok: false; step: number; violation: Violation; hints: string[]; expected: string[] };

export function newPlan(agent: string, playbook: string, metadata: Record<string, Value>, spec: PlanSpec, clock: string): PlanExecution {
  return {
    agent,
    playbook,
    planId: typeof metadata.id === 'string' ? metadata.id : playbook,
    version: metadata.version === undefined || metadata.version === null ? null : String(metadata.version),
    status: 'running',
    startedAt: clock,
    finishedAt: null,
    strictSequence: spec.strictSequence,
    allowExtraTools: spec.allowExtraTools,
    maxIterations: spec.maxIterations,
    iterations: 0,
    current: -1,
    steps: spec.steps.map((s) => ({
      id: s.id,
      description: s.description,
      required: s.required,
      status: 'pending',
      startedAt: null,
      completedAt: null,
      toolCalls: [],
      result: null,
      errors: [],
      violations: [],
      repairs: 0,
    })),
    outside: [],
    violations: [],
  };
}

export function argsDigest(args: Value): string {
  return createHash('sha256').update(canonical(args)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted, so equal arguments have equal digests. */
function canonical(v: Value): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, Value>)[k]!)}`)
    .join(',')}}`;
}

const accepted = (c: ToolCallRecord) => c.outcome !== 'rejected';

/**
 * Starts step k. Returns 'skip' when it already completed (a step done out of order, with
 * strict_sequence off), or a violation when strict_sequence forbids starting it yet.
 */
export function beginStep(plan: PlanExecution, spec: PlanSpec, k: number, clock: string): 'run' | 'skip' | Violation {
  const ex = plan.steps[k]!;
  if (ex.status === 'completed' || ex.status === 'skipped') return 'skip';
  if (plan.strictSequence) {
    const blocker = plan.steps.findIndex((s, j) => j < k && spec.steps[j]!.required && s.status !== 'completed' && s.status !== 'skipped');
    if (blocker >= 0) {
      const b = plan.steps[blocker]!;
      const v: Violation = { kind: 'out-of-sequence', message: `step '${ex.id}' cannot start: required step '${b.id}' is ${b.status.replace('_', ' ')} and strict_sequence is on`, at: clock };
      ex.violations.push(v);
      ex.status = 'failed';
      ex.completedAt = clock;
      return v;
    }
  }
  ex.status = 'in_progress';
  ex.startedAt ??= clock;
  plan.current = k;
  return 'run';
}

/** A judgement before anything is recorded: which step the call counts for, or why it is rejected. */
export type ToolDecision =
  | { ok: true; step: number; extra: boolean }
  | { ok: false; step: number; kind: ViolationKind; message: string };

/** Judges a tool call against one plan, without changing it. */
export function decideTool(plan: PlanExecution, spec: PlanSpec, tool: string, clock: string): ToolDecision {
  const k = plan.current;
  const current = k >= 0 ? spec.steps[k] : undefined;
  // Which step the call counts for: the current one if it expects the tool; without strict
  // order, any step not finished that expects it; else the current one (as an extra tool).
  let step = current?.expectedTools.includes(tool) ? k : -1;
  const owner = spec.steps.findIndex((s, j) => s.expectedTools.includes(tool) && plan.steps[j]!.status !== 'completed' && plan.steps[j]!.status !== 'skipped' && plan.steps[j]!.status !== 'failed');
  if (step < 0 && owner >= 0) {
    const ahead = k >= 0 ? owner > k : true;
    if (plan.strictSequence && ahead) {
      const now = current ? `while step '${current.id}' is in progress` : 'before the steps ahead of it complete';
      return { ok: false, step: k, kind: 'out-of-sequence', message: `'${tool}' belongs to step '${spec.steps[owner]!.id}', which strict_sequence does not let start ${now}` };
    }
    if (!plan.strictSequence) step = owner;
  }
  let extra = false;
  if (step < 0) {
    if (!plan.allowExtraTools) {
      const why = current ? `'${tool}' is not in the tool contract of step '${current.id}' (expected tools: ${current.expectedTools.join(', ') || 'none'})` : `'${tool}' is called outside every step of the plan`;
      return { ok: false, step: k, kind: 'extra-tool', message: `${why}; allow_extra_tools is off` };
    }
    extra = true;
    step = k;
  }
  if (step >= 0) {
    const s = spec.steps[step]!;
    const ex = plan.steps[step]!;
    const made = ex.toolCalls.filter(accepted).length;
    if (s.maxToolCalls !== null && made >= s.maxToolCalls) {
      return { ok: false, step, kind: 'max-tool-calls', message: `step '${s.id}' allows at most ${s.maxToolCalls} tool call${s.maxToolCalls === 1 ? '' : 's'}, and ${made} ran` };
    }
    const late = overTime(s, ex, clock);
    if (late) return { ok: false, step, kind: 'timeout', message: late };
  }
  return { ok: true, step, extra };
}

/** Records a judged call on the plan: accepted on its step (or outside the steps), or rejected with its violation. */
export function recordTool(plan: PlanExecution, spec: PlanSpec, d: ToolDecision, tool: string, args: Value, seq: number, by: 'code' | 'model', clock: string): ToolVerdict {
  const record: ToolCallRecord = { seq, tool, argsDigest: argsDigest(args), at: clock, by, outcome: 'running' };
  const ex = d.step >= 0 ? plan.steps[d.step]! : undefined;
  if (!d.ok) {
    const v: Violation = { kind: d.kind, message: d.message, at: clock, tool };
    record.outcome = 'rejected';
    record.reason = d.message;
    (ex ? ex.toolCalls : plan.outside).push(record);
    (ex ? ex.violations : plan.violations).push(v);
    const s = d.step >= 0 ? spec.steps[d.step] : undefined;
    return { ok: false, step: d.step, violation: v, hints: s?.hints ?? [], expected: s?.expectedTools ?? [] };
  }
  if (d.extra) record.extra = true;
  if (ex) {
    if (ex.status === 'pending') {
      // Started by this call, out of order (strict_sequence off).
      ex.status = 'in_progress';
      ex.startedAt = clock;
    }
    ex.toolCalls.push(record);
  } else plan.outside.push(record);
  return { ok: true, step: d.step };
}


/** The result the model gave for step k: kept as reported; it is the step's result only when no tool ran for it. */
export function setModelResult(plan: PlanExecution, k: number, value: Value): void {
  const ex = plan.steps[k]!;
  ex.reported = value;
  if (!ex.toolCalls.some((c) => c.outcome === 'ok')) ex.result = value;
}

/** A call recorded by recordTool finished: its outcome, and for code the step's result. */
export function toolDone(plan: PlanExecution, seq: number, result: Value | undefined, error: string | undefined): void {
  for (const ex of plan.steps) {
    const c = ex.toolCalls.find((x) => x.seq === seq);
    if (!c) continue;
    c.outcome = error === undefined ? 'ok' : 'error';
    if (error !== undefined) ex.errors.push(`${c.tool}: ${error}`);
    // A step's result is the last value one of its tools returned, unless the model gives one.
    else if (result !== undefined) ex.result = result;
    return;
  }
  const c = plan.outside.find((x) => x.seq === seq);
  if (c) c.outcome = error === undefined ? 'ok' : 'error';
}

function overTime(s: PlanStepSpec, ex: StepExecution, clock: string): string | undefined {
  if (s.timeoutSeconds === null || !ex.startedAt) return undefined;
  const elapsed = (Date.parse(clock) - Date.parse(ex.startedAt)) / 1000;
  return elapsed > s.timeoutSeconds ? `step '${s.id}' ran ${elapsed.toFixed(1)} s, over its timeout_seconds of ${s.timeoutSeconds}` : undefined;
}

/**
 * What keeps step k from completing: expected tools not called, too few calls, missing
 * result keywords, a false predicate, the timeout. `predicate` runs the compiled predicate.
 */
export function stepProblems(plan: PlanExecution, spec: PlanSpec, k: number, clock: string, predicate: (code: NonNullable<PlanStepSpec['predicate']>, result: Value) => { value: boolean } | { error: string }): string[] {
  const s = spec.steps[k]!;
  const ex = plan.steps[k]!;
  const calls = ex.toolCalls.filter(accepted);
  const problems: string[] = [];
  const seen = new Set(calls.filter((c) => c.outcome === 'ok').map((c) => c.tool));
  const missing = s.expectedTools.filter((t) => !seen.has(t));
  if (missing.length) problems.push(`expected tool${missing.length === 1 ? '' : 's'} not called successfully: ${missing.join(', ')}`);
  if (calls.length < s.minToolCalls) problems.push(`${calls.length} tool call${calls.length === 1 ? '' : 's'}, at least ${s.minToolCalls} required (min_tool_calls)`);
  if (s.requiredResultKeywords.length) {
    const text = (typeof ex.result === 'string' ? ex.result : JSON.stringify(ex.result) ?? '').toLowerCase();
    const absent = s.requiredResultKeywords.filter((w) => !text.includes(w.toLowerCase()));
    if (absent.length) problems.push(`the result lacks required keyword${absent.length === 1 ? '' : 's'}: ${absent.join(', ')}`);
  }
  if (s.predicate) {
    const r = predicate(s.predicate, ex.result);
    if ('error' in r) problems.push(`predicate ${s.predicateText ?? ''} failed: ${r.error}`);
    else if (!r.value) problems.push(`predicate ${s.predicateText ?? ''} is false for the result ${clip(JSON.stringify(ex.result) ?? 'null')}`);
  }
  const late = overTime(s, ex, clock);
  if (late) problems.push(late);
  return problems;
}

/** Ends step k with a status; a failure records its problems as a validation violation. */
export function closeStep(plan: PlanExecution, k: number, status: 'completed' | 'skipped' | 'failed', clock: string, problems: string[] = [], kind: ViolationKind = 'validation'): void {
  const ex = plan.steps[k]!;
  ex.status = status;
  ex.completedAt = clock;
  if (status === 'failed' && problems.length) ex.violations.push({ kind, message: problems.join('; '), at: clock });
  if (status === 'skipped' && problems.length) ex.errors.push(...problems);
  if (plan.current === k) plan.current = -1;
}

/** Before the playbook returns: the required steps that did not complete, as one violation. */
export function finishPlan(plan: PlanExecution, clock: string): Violation | undefined {
  const open = plan.steps.filter((s) => s.required && s.status !== 'completed' && s.status !== 'skipped');
  plan.finishedAt = clock;
  plan.current = -1;
  if (open.length === 0) {
    plan.status = 'completed';
    return undefined;
  }
  plan.status = 'failed';
  const v: Violation = { kind: 'incomplete', message: `required step${open.length === 1 ? '' : 's'} not completed before the playbook returned: ${open.map((s) => `'${s.id}' (${s.status.replace('_', ' ')})`).join(', ')}`, at: clock };
  plan.violations.push(v);
  return v;
}

/**
 * Counts one model turn against max_iterations before it is taken; when none is left, returns
 * the violation (not recorded here: the caller closes the step with it) and counts nothing.
 */
export function countIteration(plan: PlanExecution, clock: string): Violation | undefined {
  if (plan.iterations >= plan.maxIterations) return { kind: 'max-iterations', message: `the plan used its ${plan.maxIterations} model turns (max_iterations)`, at: clock };
  plan.iterations++;
  return undefined;
}

/** The plan stops for good (a rejected call of code, a sequence violation): its open step fails with it. */
export function abandonPlan(plan: PlanExecution, clock: string, why?: string): void {
  const k = plan.current;
  if (k >= 0 && plan.steps[k]!.status === 'in_progress') closeStep(plan, k, 'failed', clock, why ? [why] : [], 'aborted');
  else if (why) plan.violations.push({ kind: 'aborted', message: why, at: clock });
  plan.status = 'failed';
  plan.finishedAt = clock;
  plan.current = -1;
}

/** The contract of step k in words, for the model's instruction. */
export function describeContract(spec: PlanSpec, k: number): string {
  const s = spec.steps[k]!;
  const lines = [`This step is '${s.id}' of an enforced procedure${spec.strictSequence ? ' (steps run in order)' : ''}.`];
  lines.push(
    s.expectedTools.length
      ? `Call these tools for it: ${s.expectedTools.join(', ')}${spec.allowExtraTools ? ' (other tools are allowed too)' : '; calls to any other tool are rejected'}.`
      : spec.allowExtraTools
        ? 'It expects no particular tool.'
        : 'It may call no tools.',
  );
  if (s.maxToolCalls !== null) lines.push(`At most ${s.maxToolCalls} tool call${s.maxToolCalls === 1 ? '' : 's'}.`);
  for (const h of s.hints) lines.push(`Hint: ${h}`);
  const checks: string[] = [];
  if (s.minToolCalls) checks.push(`at least ${s.minToolCalls} tool calls`);
  if (s.requiredResultKeywords.length) checks.push(`a result that mentions ${s.requiredResultKeywords.map((w) => JSON.stringify(w)).join(', ')}`);
  if (s.predicateText) checks.push(`a result for which ${s.predicateText} holds`);
  if (checks.length) lines.push(`It is complete with ${checks.join(', ')}; give the result with finish_step.`);
  lines.push(s.required ? 'It is required.' : 'It is optional: if it does not apply, call skip_step with the reason.');
  return lines.join('\n');
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 119)}…` : s;
}
