// Scripting the fake Anthropic server for enforced procedures (step tool contracts): replies
// that call tools, finish or skip a step, a model scripted per conversation (by default the
// plan step named in the instruction, "This step is '<id>' of an enforced procedure"), the
// answers the model got back, and short views of a plan for assertions. Shared by
// test/enforce.test.ts and test/enforce-review.test.ts.
import { expect } from 'vitest';
import type { FakeAnthropic, RecordedRequest, Reply, Responder } from './fake-anthropic.js';
import { lastToolResults, promptText, turnOf } from './model-script.js';
import type { PlanExecution, StepExecution } from '../../vm/plan.js';

// --- replies -----------------------------------------------------------------------------------

export const call = (name: string, args: Record<string, unknown> = {}) => ({ name: 'call_playbook', input: { name, args } });
export const use = (...uses: Array<{ name: string; input: unknown }>): Reply => ({ toolUses: uses });
export const callTool = (name: string, args: Record<string, unknown> = {}): Reply => use(call(name, args));
export const finish = (result?: unknown): Reply => ({ toolUse: { name: 'finish_step', input: result === undefined ? {} : { result } } });
export const skip = (reason: string): Reply => ({ toolUse: { name: 'skip_step', input: { reason } } });
export const finishBlock = (runNested: boolean): Reply => ({ toolUse: { name: 'finish_block', input: { run_nested: runNested } } });
export const setVar = (name: string, value: unknown) => ({ name: 'set_variable', input: { name, value } });

// --- the scripted model ------------------------------------------------------------------------

/** The plan step a request is about: the contract line of its instruction. */
export function planStepOf(req: RecordedRequest): string | undefined {
  const all = [...promptText(req).matchAll(/^This step is '([^']+)' of an enforced procedure/gm)];
  return all.length ? all[all.length - 1]![1] : undefined;
}

export type Turns = Reply[] | ((req: RecordedRequest, turn: number) => Reply);
export type ConversationKey = (req: RecordedRequest) => string | undefined;

/**
 * A model scripted per conversation: turn n of conversation `key` gets `script[key][n]` (the
 * last one repeats). A conversation without a script just finishes.
 */
export function scriptedModel(script: Record<string, Turns>, keyOf: ConversationKey = planStepOf): Responder {
  return (req) => {
    const key = keyOf(req);
    const turn = turnOf(req);
    const s = key ? script[key] : undefined;
    if (!s) return finish();
    if (typeof s === 'function') return s(req, turn);
    return s[Math.min(turn, s.length - 1)]!;
  };
}

/** What the model was asked and answered, per conversation, on the current fake server. */
export function conversations(fake: () => FakeAnthropic, keyOf: () => ConversationKey = () => planStepOf) {
  const requestsFor = (key: string) => fake().messageRequests().filter((r) => keyOf()(r) === key);
  /** Which conversation each model request was about, and its turn: "verify#1". */
  const requestLog = (reqs: RecordedRequest[] = fake().messageRequests()) => reqs.map((r) => `${keyOf()(r) ?? '?'}#${turnOf(r)}`);
  /** The tool results the model got for its turn `turn` of conversation `key`. */
  const answersTo = (key: string, turn: number): Array<{ content: string; is_error?: boolean }> => {
    const next = requestsFor(key).find((r) => turnOf(r) === turn + 1);
    if (!next) throw new Error(`no request for turn ${turn + 1} of step ${key}; requests: ${requestLog().join(', ')}`);
    return lastToolResults(next);
  };
  /** The one error answer the model got for its turn `turn` of conversation `key`. */
  const errorAnswerTo = (key: string, turn: number): string => {
    const results = answersTo(key, turn);
    expect(results, `answers to turn ${turn} of ${key}`).toHaveLength(1);
    expect(results[0]!.is_error, `the answer to turn ${turn} of ${key} is not an error: ${results[0]!.content}`).toBe(true);
    return results[0]!.content;
  };
  /** The one rejection the model got for its turn `turn` of conversation `key`, parsed. */
  const rejectionAt = (key: string, turn: number): unknown => JSON.parse(errorAnswerTo(key, turn));
  return { requestsFor, requestLog, answersTo, errorAnswerTo, rejectionAt };
}

// --- views of a plan ---------------------------------------------------------------------------

export const statuses = (p: PlanExecution) => p.steps.map((s) => `${s.id} ${s.status}`);
export const callsOf = (s: StepExecution) => s.toolCalls.map((c) => `${c.tool} ${c.outcome}${c.by === 'code' ? ' [code]' : ''}${c.extra ? ' (extra)' : ''}`);
export const violationsOf = (s: { violations: PlanExecution['violations'] }) => s.violations.map((v) => ({ kind: v.kind, tool: v.tool ?? null, message: v.message }));
export const step = (p: PlanExecution, id: string): StepExecution => {
  const s = p.steps.find((x) => x.id === id);
  if (!s) throw new Error(`no step ${id} in plan ${p.planId}`);
  return s;
};
