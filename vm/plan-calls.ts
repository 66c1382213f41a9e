// The plans of enforced procedures as the running call stack sees them: which plans govern a
// tool call (every procedure on the stack), how a plan step of a frame starts, closes and
// fails, and what happens to open plans when the program ends or a call is abandoned.
// vm/plan.ts holds the rules of one plan; this module applies them to the frames.
import type { CodeObject, PlanSpec, Value } from './pbasm/program.js';
import { PbRuntimeError, type StackEntry } from './errors.js';
import { VMFault, type Frame } from './frame.js';
import { abandonPlan, closeStep, countIteration, decideTool, finishPlan, recordTool, setModelResult, stepProblems, toolDone, type PlanExecution, type ToolVerdict, type Violation, type ViolationKind } from './plan.js';

export interface PlanHost {
  readonly frames: Frame[];
  readonly plans: PlanExecution[];
  clock: string;
  callStack(): StackEntry[];
  /** Runs a step's predicate on its result: true or false, or the error it raised. */
  predicate(code: CodeObject, result: Value): { value: boolean } | { error: string };
}

/**
 * Judges a tool call against every enforced procedure on the call stack: each one's current
 * step must accept it (an inner procedure, or a recursive call, never widens an outer one's
 * contract). A rejection is recorded on the plan that rejected it (the innermost that did);
 * an accepted call on every plan. Undefined when no procedure is running.
 */
export function judgeTool(m: PlanHost, name: string, args: Value, seq: number, by: 'code' | 'model'): (ToolVerdict & { plan: number }) | undefined {
  const governing: Frame[] = [];
  for (let i = m.frames.length - 1; i >= 0; i--) if (m.frames[i]!.plan !== undefined) governing.push(m.frames[i]!);
  if (governing.length === 0) return undefined;
  const decisions = governing.map((f) => decideTool(m.plans[f.plan!]!, f.code.plan!, name, m.clock));
  const refused = decisions.findIndex((d) => !d.ok);
  if (refused >= 0) {
    const f = governing[refused]!;
    return { ...recordTool(m.plans[f.plan!]!, f.code.plan!, decisions[refused]!, name, args, seq, by, m.clock), plan: f.plan! };
  }
  governing.forEach((f, i) => recordTool(m.plans[f.plan!]!, f.code.plan!, decisions[i]!, name, args, seq, by, m.clock));
  return { ok: true, step: (decisions[0] as { step: number }).step, plan: governing[0]!.plan! };
}

/** A tool call judged by the plan finished (on replay too, so the plan is rebuilt exactly). */
export function planToolDone(m: PlanHost, seq: number, result: Value | undefined, error?: string): void {
  for (let i = m.plans.length - 1; i >= 0; i--) {
    const p = m.plans[i]!;
    if (p.status === 'running') toolDone(p, seq, result, error);
  }
}

/** The step of an enforced procedure that frame `f` is running, if any. */
export function planStepOf(m: PlanHost, f: Frame): { plan: PlanExecution; spec: PlanSpec; k: number } | undefined {
  if (f.plan === undefined || !f.code.plan) return undefined;
  const plan = m.plans[f.plan]!;
  return plan.current >= 0 ? { plan, spec: f.code.plan, k: plan.current } : undefined;
}

/**
 * Counts a model turn against max_iterations of every plan whose step is running (the turn is
 * part of that step); when one has none left, returns the error that stops its procedure.
 */
export function planIteration(m: PlanHost): PbRuntimeError | undefined {
  const counting = m.frames.filter((f) => f.plan !== undefined && m.plans[f.plan]!.status === 'running' && m.plans[f.plan]!.current >= 0);
  for (const f of counting) {
    const plan = m.plans[f.plan!]!;
    if (plan.iterations >= plan.maxIterations) return planExhausted(m, f, countIteration(plan, m.clock)!);
  }
  for (const f of counting) countIteration(m.plans[f.plan!]!, m.clock);
  return undefined;
}

/**
 * max_iterations is spent: frame f's current step fails with the violation, its plan fails,
 * and the returned error (step-failed) stops the run, since no step of the plan may ask again.
 */
export function planExhausted(m: PlanHost, f: Frame, violation: Violation): PbRuntimeError {
  const at = planStepOf(m, f)!;
  const ex = at.plan.steps[at.k]!;
  closeStep(at.plan, at.k, 'failed', m.clock, [violation.message], 'max-iterations');
  at.plan.status = 'failed';
  at.plan.finishedAt = m.clock;
  return new PbRuntimeError('step-failed', `${ex.required ? 'required' : 'optional'} step '${ex.id}' of ${f.code.name} failed: ${violation.message}`, m.callStack());
}

/** The result the model gave for frame f's current plan step. */
export function planSetResult(m: PlanHost, f: Frame, result: Value): void {
  const at = planStepOf(m, f);
  if (at) setModelResult(at.plan, at.k, result);
}

/** Ends frame f's current plan step (the model finished, skipped or ran out of turns). */
export function planClose(m: PlanHost, f: Frame, status: 'completed' | 'skipped' | 'failed', problems: string[], kind?: ViolationKind): void {
  const at = planStepOf(m, f);
  if (at) closeStep(at.plan, at.k, status, m.clock, problems, kind);
}

/** What keeps frame f's current plan step from completing (empty: it may complete). */
export function planStepProblems(m: PlanHost, f: Frame): string[] {
  const at = planStepOf(m, f);
  if (!at) return [];
  return stepProblems(at.plan, at.spec, at.k, m.clock, (code, result) => m.predicate(code, result));
}

/**
 * Closes plan step k of frame f at its end (PLAN_END, or a return inside it): completed when
 * nothing is missing; an optional step that made no call is skipped; otherwise failed, and a
 * failed required step stops the playbook.
 */
export function closePlanStep(m: PlanHost, f: Frame, k: number): void {
  const plan = m.plans[f.plan!]!;
  const spec = f.code.plan!;
  const ex = plan.steps[k]!;
  if (ex.status === 'in_progress') {
    const problems = stepProblems(plan, spec, k, m.clock, (code, result) => m.predicate(code, result));
    const declined = !spec.steps[k]!.required && ex.toolCalls.every((c) => c.outcome === 'rejected');
    closeStep(plan, k, problems.length === 0 ? 'completed' : declined ? 'skipped' : 'failed', m.clock, problems);
  } else if (plan.current === k) plan.current = -1;
  if (ex.status === 'failed' && spec.steps[k]!.required) {
    plan.status = 'failed';
    plan.finishedAt = m.clock;
    const why = ex.violations[ex.violations.length - 1]?.message ?? 'it did not complete';
    throw new VMFault('step-failed', `required step '${ex.id}' of ${f.code.name} failed: ${why}`);
  }
}

/**
 * Without strict_sequence, a step can be done before the machine reaches it (its tools ran
 * for it during an earlier step). Then it completes now and is not run again.
 */
export function completedEarly(m: PlanHost, f: Frame, k: number): boolean {
  const plan = m.plans[f.plan!]!;
  const ex = plan.steps[k]!;
  if (plan.strictSequence || ex.status !== 'in_progress' || !ex.toolCalls.some((c) => c.outcome === 'ok')) return false;
  if (stepProblems(plan, f.code.plan!, k, m.clock, (code, result) => m.predicate(code, result)).length) return false;
  closeStep(plan, k, 'completed', m.clock);
  return true;
}

/** The run stops for good (an error no resume can get past): the procedures still running fail. */
export function abandonPlans(m: PlanHost, frames: readonly Frame[], why: string): void {
  for (let i = frames.length - 1; i >= 0; i--) {
    const p = frames[i]!.plan;
    if (p !== undefined && m.plans[p]!.status === 'running') abandonPlan(m.plans[p]!, m.clock, why);
  }
}

/**
 * The program ends (End program) inside enforced procedures: each one's open step is judged
 * as at its end, and the plan as at a return (required steps not done make it failed).
 */
export function finishPlansOnHalt(m: PlanHost, frames: readonly Frame[]): void {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i]!;
    if (f.plan === undefined || m.plans[f.plan]!.status !== 'running') continue;
    const plan = m.plans[f.plan]!;
    const k = plan.current;
    if (k >= 0 && plan.steps[k]!.status === 'in_progress') {
      const problems = stepProblems(plan, f.code.plan!, k, m.clock, (code, result) => m.predicate(code, result));
      closeStep(plan, k, problems.length ? 'failed' : 'completed', m.clock, problems);
    }
    finishPlan(plan, m.clock);
  }
}
