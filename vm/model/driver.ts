// Runs natural-language work on the model: one step (or a fused run of steps), a condition,
// a value, a list to loop over, the phrasing of a question, or the judging of triggers.
// The model acts only through the tools offered; every action goes back through the host
// (the Runner), which journals it, so a resumed run replays the same conversation.
import type { NLEffect } from '../effects.js';
import type { Frame, Machine } from '../machine.js';
import { planClose, planIteration, planSetResult, planStepOf, planStepProblems } from '../plan-calls.js';
import { meetingHere } from '../meetings.js';
import type { Message } from '../instance.js';
import type { AgentInfo, CodeObject, NLInfo, Value } from '../pbasm/program.js';
import { PlaybookCallFailed, PlaybookCallRefused, ToolCallRejected } from '../errors.js';
import { describeContract } from '../plan.js';
import { toPlain } from '../values.js';
import { appendLog, clipText, DEFAULT_CONTEXT, describeValue, renderContext, type ContextOptions } from './context.js';
import { callableListing, forcedTool, isMultiAgent, systemBlocks, toolsFor } from './prompt.js';
import type { CallSite, ContentBlock, ModelMessage, ModelReply, ModelRequest, ToolResultBlock, ToolUseBlock } from './protocol.js';
import { assistantTurn } from './reply.js';
import { ConversationFailed, describeAttempts, type Retry } from '../durable/retry.js';

/** What the driver needs from the runner; each call is journaled there. */
export interface NLHost {
  /** Says a line to the user (journaled output). */
  say(text: string): void;
  /** Asks the user; resolves to the answer (journaled input). */
  ask(question: string): Promise<string>;
  /** Runs a playbook of the program to completion, or a host tool; resolves to its result. */
  call(frame: Frame, name: string, args: Record<string, Value>): Promise<Value>;
  /** One model call (journaled, replayed, counted). */
  complete(request: ModelRequest, site: CallSite): Promise<ModelReply>;
  /** Names of host tools the model may call. */
  toolNames(): string[];
  /** Writes, checks and links a new playbook (agents/playbooks with `generate: true`); returns its name. */
  generate(frame: Frame, goal: string, name: string | null, step: string): Promise<string>;
  /** Failed attempts that the conversation starting now replaces (a resume retrying it afresh). */
  attempts(): Retry[];
  /** Sends a message (send_message); throws PlaybookCallRefused for a target that does not exist. */
  send(frame: Frame, to: string, content: Value): void;
  /** Waits for messages (wait_for_message); the other agents run meanwhile. */
  wait(frame: Frame, source: string): Promise<Message[]>;
}

export interface DriverOptions {
  model: string;
  maxTokens: number;
  /** Model turns allowed for one step before it is stopped. */
  maxTurns: number;
  context: ContextOptions;
}

export const DEFAULT_DRIVER: Omit<DriverOptions, 'model'> = { maxTokens: 1024, maxTurns: 12, context: DEFAULT_CONTEXT };

interface Outcome {
  value: Value;
  /** One-line record of what happened, for the frame's log. */
  actions: string[];
  runNested?: boolean;
}

export class NLDriver {
  constructor(
    private readonly machine: Machine,
    private readonly host: NLHost,
    private readonly options: DriverOptions,
  ) {}

  private agentInfo(name: string): AgentInfo {
    return this.machine.program.agents.find((a) => a.name === name) ?? this.machine.program.agents[0]!;
  }

  /** GeneratePlaybook is offered to the model only where `generate: true` is set (off by default). */
  private mayGenerate(frame: Frame): boolean {
    return frame.code.metadata.generate === true || this.agentInfo(frame.code.agent).metadata.generate === true;
  }

  private base(frame: Frame, tool: string | undefined, userText: string): ModelRequest {
    const code = frame.code;
    const callable = callableListing(this.machine.program.agents, code.agent, this.host.toolNames());
    // An agent may pick its own model with `model:` metadata.
    const agentModel = this.agentInfo(code.agent).metadata.model;
    return {
      model: typeof agentModel === 'string' && agentModel.trim() ? agentModel.trim() : this.options.model,
      max_tokens: this.options.maxTokens,
      system: systemBlocks(this.agentInfo(code.agent), code, callable),
      tools: toolsFor(this.mayGenerate(frame), isMultiAgent(this.machine.program.agents)),
      ...(tool ? { tool_choice: { type: 'tool' as const, name: tool } } : {}),
      messages: [{ role: 'user', content: [{ type: 'text', text: userText }] }],
    };
  }

  private site(frame: Frame, step: string, purpose: string): CallSite {
    const s = frame.code.steps.find((x) => x.id === step);
    return {
      agent: frame.code.agent,
      playbook: frame.code.name,
      step,
      line: s?.line ?? frame.code.line,
      file: this.machine.program.files[s?.file ?? frame.code.file]?.path ?? '?',
      purpose,
    };
  }

  /** The machine's natural-language effect: returns the value to resume it with. */
  async perform(effect: NLEffect): Promise<Value> {
    const frame = this.machine.frames[this.machine.frames.length - 1]!;
    const infos = [effect.info, ...effect.fused];
    const kind = effect.mode === 'cond' ? (effect.info.kind === 'block' ? 'block' : 'cond') : effect.info.kind;
    const outcome = await this.converse(frame, infos, kind, effect.at.step);
    const stepIds = infos.map((i) => frame.code.steps[i.step]?.id ?? '?').join(', ');
    const what = infos.length > 1 ? `steps ${stepIds}` : `step ${stepIds}`;
    const result = outcome.value === null ? '' : ` -> ${describeValue(outcome.value)}`;
    appendLog(frame, `${what} (${clipText(infos.map((i) => i.text).join(' / '), 120)}): ${outcome.actions.join('; ') || 'done'}${result}`, this.options.context);
    if (effect.mode === 'cond') return kind === 'block' ? !!outcome.runNested : outcome.value === true;
    if (effect.mode === 'value' && kind === 'list') return Array.isArray(outcome.value) ? outcome.value : [];
    return outcome.value;
  }

  private instruction(frame: Frame, infos: NLInfo[], kind: string): string {
    const id = (i: NLInfo) => frame.code.steps[i.step]?.id ?? '?';
    const one = infos[0]!;
    switch (kind) {
      case 'cond':
        return `Step ${id(one)} needs a decision. Is this true now? ${one.text}\nAnswer with the decide tool.`;
      case 'block':
        return `Perform step ${id(one)}: ${one.text}\nIt has nested steps; the machine runs them only if they apply now. Finish with finish_block, setting run_nested.`;
      case 'value':
      case 'return':
        return `Step ${id(one)} needs a value${one.target ? ` for ${one.target}` : ''}: ${one.text}\nGive it with the provide_value tool (a JSON value: text, number, boolean, list or object).`;
      case 'list':
        return `Step ${id(one)} loops: ${one.text}\nGive the items to loop over, in order, with the provide_list tool.`;
      case 'task':
        return `Carry out this playbook (it has no fixed steps; decide what to do, acting through the tools):\n${one.text}\nWhen it is done, call finish_step with its result.`;
      default: {
        if (infos.length === 1) {
          const sayHint = kind === 'say' ? '\nThis step is a message: call say with it (or reply with just the message text).' : '';
          return `Perform step ${id(one)}: ${one.text}${sayHint}`;
        }
        const list = infos.map((i) => `- ${id(i)}: ${i.text}`).join('\n');
        return `Perform these consecutive steps, in order, then finish:\n${list}`;
      }
    }
  }

  private async converse(frame: Frame, infos: NLInfo[], kind: string, step: string): Promise<Outcome> {
    const forced = forcedTool(kind as NLInfo['kind']);
    // A step of an enforced procedure: the model is told its contract, and finishing is checked.
    const planned = planStepOf(this.machine, frame);
    const contract = planned ? `\n\n${describeContract(planned.spec, planned.k)}` : '';
    // Finishing is checked (and skip_step allowed) only for the contracted step itself: a step
    // with nested steps ends at PLAN_END after they ran, and a nested step is only part of one.
    const checked = planned !== undefined && kind !== 'block' && infos[0]!.step === planned.spec.steps[planned.k]!.step;
    // A resume retrying this conversation afresh: the model learns what the failed attempt did.
    const earlier = describeAttempts(this.host.attempts());
    const fromSeq = this.machine.peekSeq();
    const userText = `${renderContext(this.machine, frame, this.options.context)}\n\n${this.instruction(frame, infos, kind)}${contract}${earlier}`;
    const request = this.base(frame, forced, userText);
    const site = this.site(frame, step, infos.length > 1 ? 'fused-steps' : kind);
    const actions: string[] = [];
    let said = false;
    for (let turn = 0; turn < this.options.maxTurns; turn++) {
      // Every turn taken inside a plan step counts against that plan's max_iterations, also from
      // a playbook the step called; when one is spent, its procedure stops here.
      const over = planIteration(this.machine);
      if (over) throw over;
      const reply = await this.host.complete(request, site);
      const uses = reply.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
      const text = reply.content
        .filter((b) => b.type === 'text')
        .map((b) => (b as { text: string }).text)
        .join('\n')
        .trim();
      if (forced) {
        const use = uses.find((u) => u.name === forced);
        const value = use ? this.forcedValue(forced, use.input) : undefined;
        if (value !== undefined) return { value, actions };
        // Wrong or malformed answer: say why and ask again.
        request.messages.push(assistantTurn(reply));
        request.messages.push({ role: 'user', content: this.rejectAll(uses, `Answer with the ${forced} tool and its required fields.`, text) });
        continue;
      }
      if (uses.length === 0) {
        // A reply without tool calls completes the step; for a message step the text is the message.
        if (kind === 'say' && !said && text) {
          this.host.say(text);
          actions.push(`said ${JSON.stringify(clipText(text, 120))}`);
          return { value: null, actions };
        }
        const outcome: Outcome = { value: text || null, actions, runNested: false };
        if (!checked) return outcome;
        const repair = this.checkFinish(frame, outcome.value);
        if (!repair) return outcome;
        request.messages.push(assistantTurn(reply));
        request.messages.push({ role: 'user', content: [{ type: 'text', text: repair }] });
        continue;
      }
      request.messages.push(assistantTurn(reply));
      const results: ToolResultBlock[] = [];
      let finished: Outcome | undefined;
      for (const use of uses) {
        let r = await this.act(frame, use, actions, checked);
        if (r.finish && checked && !r.skipped) {
          // Finishing a contracted step: it must be complete; one repair turn if it is not.
          const repair = this.checkFinish(frame, r.finish.value);
          if (repair) r = { content: repair, error: true };
        }
        if (r.said) said = true;
        results.push({ type: 'tool_result', tool_use_id: use.id, content: r.content, ...(r.error ? { is_error: true } : {}) });
        if (r.finish) finished = { value: r.finish.value, actions, runNested: r.finish.runNested };
      }
      if (finished) return finished;
      request.messages.push({ role: 'user', content: results });
    }
    // Decided by the journaled replies: a resume starts this conversation afresh (vm/durable/retry.ts).
    throw new ConversationFailed('model-error', `the model did not finish step ${step} within ${this.options.maxTurns} turns`, this.machine.callStack(), { fromSeq, did: actions.filter(hasEffect) });
  }

  /**
   * The model finished a contracted step: records its result and closes the step when it is
   * complete. Otherwise returns what is missing, with the hints, for one repair turn; after
   * that the step fails.
   */
  private checkFinish(frame: Frame, result: Value): string | undefined {
    const m = this.machine;
    const at = planStepOf(m, frame);
    if (!at) return undefined;
    if (result !== null && result !== undefined && result !== '') planSetResult(m, frame, result);
    const problems = planStepProblems(m, frame);
    if (problems.length === 0) {
      planClose(m, frame, 'completed', []);
      return undefined;
    }
    const ex = at.plan.steps[at.k]!;
    if (ex.repairs >= 1) {
      planClose(m, frame, 'failed', problems);
      return undefined;
    }
    ex.repairs++;
    const hints = at.spec.steps[at.k]!.hints.map((h) => `\nHint: ${h}`).join('');
    return `Step '${ex.id}' is not complete: ${problems.join('; ')}.${hints}\nFix this now (call the missing tools, then finish_step with the result)${at.spec.steps[at.k]!.required ? '' : ', or call skip_step if the step does not apply'}. This is the only retry.`;
  }

  /** Tool results for a reply that must be answered again: every tool use gets an error result. */
  private rejectAll(uses: ToolUseBlock[], message: string, text: string): ContentBlock[] {
    if (uses.length === 0) return [{ type: 'text', text: text ? `${message}` : message }];
    return uses.map((u) => ({ type: 'tool_result', tool_use_id: u.id, content: message, is_error: true }));
  }

  private forcedValue(tool: string, input: unknown): Value | undefined {
    if (!input || typeof input !== 'object') return undefined;
    const i = input as Record<string, unknown>;
    switch (tool) {
      case 'decide':
        return typeof i.answer === 'boolean' ? i.answer : undefined;
      case 'provide_value':
        return 'value' in i ? (toPlain(i.value as Value) as Value) : undefined;
      case 'provide_list':
        return Array.isArray(i.items) ? (toPlain(i.items as Value) as Value) : undefined;
      case 'phrase_question':
        return typeof i.question === 'string' && i.question.trim() ? i.question : undefined;
      case 'fire_triggers':
        return Array.isArray(i.ids) && i.ids.every((x) => typeof x === 'string') ? (i.ids as string[]) : undefined;
      default:
        return undefined;
    }
  }

  private async act(
    frame: Frame,
    use: ToolUseBlock,
    actions: string[],
    /** The conversation is a contracted plan step itself: skip_step may apply. */
    contracted = false,
  ): Promise<{ content: string; error?: boolean; said?: boolean; skipped?: boolean; finish?: { value: Value; runNested?: boolean } }> {
    const input = (use.input && typeof use.input === 'object' ? use.input : {}) as Record<string, unknown>;
    const str = (k: string) => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
    switch (use.name) {
      case 'say': {
        const message = str('message');
        if (message === undefined) return { content: 'say needs a "message" string', error: true };
        this.host.say(message);
        actions.push(`said ${JSON.stringify(clipText(message, 120))}`);
        return { content: 'said', said: true };
      }
      case 'set_variable': {
        const name = str('name');
        if (!name || !/^\$?[A-Za-z_][A-Za-z0-9_]*$/.test(name) || !('value' in input)) return { content: 'set_variable needs "name" (e.g. $total) and "value"', error: true };
        const value = toPlain(input.value as Value) as Value;
        this.machine.setVariable(frame, name, value);
        actions.push(`set ${name} = ${describeValue(value)}`);
        return { content: 'ok' };
      }
      case 'ask_user': {
        const question = str('question');
        if (!question) return { content: 'ask_user needs a "question" string', error: true };
        const answer = await this.host.ask(question);
        actions.push(`asked ${JSON.stringify(clipText(question, 80))}, user answered ${JSON.stringify(clipText(answer, 80))}`);
        return { content: answer };
      }
      case 'call_playbook': {
        const name = str('name');
        if (!name) return { content: 'call_playbook needs a "name"', error: true };
        const args = input.args && typeof input.args === 'object' && !Array.isArray(input.args) ? (toPlain(input.args as Value) as Record<string, Value>) : {};
        let result: Value;
        try {
          result = await this.host.call(frame, name, args);
        } catch (err) {
          if (err instanceof ToolCallRejected) {
            // Structured, so the model can recover: why, and what this step expects.
            actions.push(`call to ${name} rejected`);
            return { content: JSON.stringify({ rejected: err.tool, reason: err.reason, expected_tools: err.expectedTools, hints: err.hints }), error: true };
          }
          if (err instanceof PlaybookCallRefused) {
            // Nothing ran: the model learns why and what it can call, and carries on.
            actions.push(`call to ${name} refused`);
            return { content: JSON.stringify({ error: err.reason, callable: err.callable }), error: true };
          }
          if (!(err instanceof PlaybookCallFailed)) throw err;
          actions.push(`called ${name} -> failed`);
          return { content: `${err.message}. Its effects so far stand; choose another way to finish the step.`, error: true };
        }
        actions.push(`called ${name} -> ${describeValue(result)}`);
        return { content: JSON.stringify(result) };
      }
      case 'send_message': {
        const to = str('to');
        if (!to || !('content' in input)) return { content: 'send_message needs "to" and "content"', error: true };
        const content = toPlain(input.content as Value) as Value;
        try {
          this.host.send(frame, to, content);
        } catch (err) {
          if (err instanceof PlaybookCallRefused) return { content: err.reason, error: true };
          throw err;
        }
        actions.push(`sent ${to} ${describeValue(content)}`);
        return { content: 'sent' };
      }
      case 'wait_for_message': {
        const from = str('from') ?? '*';
        const messages = await this.host.wait(frame, from);
        actions.push(`received ${messages.map((x) => `${x.sender}: ${describeValue(x.content)}`).join('; ')}`);
        return { content: JSON.stringify(messages) };
      }
      case 'set_shared_state': {
        const key = str('key');
        if (!key || !('value' in input)) return { content: 'set_shared_state needs "key" and "value"', error: true };
        const meeting = meetingHere(this.machine);
        if (typeof meeting === 'string') return { content: meeting, error: true };
        const value = toPlain(input.value as Value) as Value;
        this.machine.setSharedState(meeting, key, value);
        actions.push(`set shared state ${key} = ${describeValue(value)}`);
        return { content: 'ok' };
      }
      case 'load_artifact': {
        const name = (str('name') ?? '').replace(/^Artifact\[(.*)\]$/, '$1');
        const a = this.machine.artifacts[name] as { content?: Value } | undefined;
        if (!a) return { content: `no artifact named '${name}'`, error: true };
        return { content: typeof a.content === 'string' ? a.content : JSON.stringify(a.content) };
      }
      case 'generate_playbook': {
        const goal = str('goal');
        if (!goal || !this.mayGenerate(frame)) return { content: goal ? 'generate_playbook is not allowed here' : 'generate_playbook needs a "goal"', error: true };
        const name = await this.host.generate(frame, goal, str('name') ?? null, frame.code.steps[frame.code.stepOf[frame.pc - 1] ?? -1]?.id ?? '--');
        actions.push(`generated playbook ${name} for ${JSON.stringify(clipText(goal, 80))}`);
        return { content: `linked as ${name}; call it with call_playbook` };
      }
      case 'skip_step': {
        const at = contracted ? planStepOf(this.machine, frame) : undefined;
        const reason = str('reason') ?? '';
        if (!at) return { content: 'skip_step applies only to an optional step of an enforced procedure, from that step itself; this is not one', error: true };
        if (at.spec.steps[at.k]!.required) return { content: `step '${at.plan.steps[at.k]!.id}' is required; it cannot be skipped`, error: true };
        planClose(this.machine, frame, 'skipped', reason ? [`skipped: ${reason}`] : []);
        actions.push(`skipped the step${reason ? `: ${clipText(reason, 80)}` : ''}`);
        return { content: 'skipped', skipped: true, finish: { value: null } };
      }
      case 'finish_step':
        return { content: 'ok', finish: { value: 'result' in input ? (toPlain(input.result as Value) as Value) : null } };
      case 'finish_block':
        if (typeof input.run_nested !== 'boolean') return { content: 'finish_block needs "run_nested" (true or false)', error: true };
        return { content: 'ok', finish: { value: 'result' in input ? (toPlain(input.result as Value) as Value) : null, runNested: input.run_nested } };
      default:
        return { content: `there is no tool '${use.name}' here; use one of the tools offered`, error: true };
    }
  }

  /** The question a deterministic `Ask user for $x` shows, phrased by the model. */
  async phrase(frame: Frame, variable: string, fallback: string, step: string): Promise<string> {
    const text = `${renderContext(this.machine, frame, this.options.context)}\n\nStep ${step} asks the user for ${variable}. Phrase the question to show them (one short sentence), with phrase_question.`;
    const request = this.base(frame, 'phrase_question', text);
    for (let turn = 0; turn < 3; turn++) {
      const reply = await this.host.complete(request, this.site(frame, step, 'phrase'));
      const use = reply.content.find((b): b is ToolUseBlock => b.type === 'tool_use' && b.name === 'phrase_question');
      const q = use ? this.forcedValue('phrase_question', use.input) : undefined;
      if (typeof q === 'string') return q;
      request.messages.push(assistantTurn(reply));
      request.messages.push({ role: 'user', content: this.rejectAll(reply.content.filter((b): b is ToolUseBlock => b.type === 'tool_use'), 'Answer with phrase_question and a "question" string.', '') });
    }
    return fallback;
  }

  /** Which natural-language triggers hold now; returns their keys. */
  async judge(frame: Frame, candidates: Array<{ key: string; text: string; playbook: string }>, step: string): Promise<string[]> {
    const list = candidates.map((c, i) => `- T${i + 1} (playbook ${c.playbook}): ${c.text}`).join('\n');
    const text = `${renderContext(this.machine, frame, this.options.context)}\n\nSomething just happened (user input or a change of state). Which of these triggers hold right now? Reply with their ids (e.g. ["T1"]), or [] if none:\n${list}`;
    const request = this.base(frame, 'fire_triggers', text);
    const fromSeq = this.machine.peekSeq();
    for (let turn = 0; turn < 3; turn++) {
      const reply = await this.host.complete(request, this.site(frame, step, 'triggers'));
      const uses = reply.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
      const use = uses.find((b) => b.name === 'fire_triggers');
      const ids = use ? this.forcedValue('fire_triggers', use.input) : undefined;
      if (Array.isArray(ids)) return candidates.filter((_c, i) => (ids as string[]).includes(`T${i + 1}`)).map((c) => c.key);
      // Malformed, or another tool: answer with an error and ask again, as for every forced tool.
      request.messages.push(assistantTurn(reply));
      request.messages.push({ role: 'user', content: this.rejectAll(uses, 'Answer with fire_triggers and an "ids" list of strings, e.g. ["T1"], or [].', '') });
    }
    throw new ConversationFailed('model-error', `the model gave no valid answer to the trigger check at step ${step} after 3 tries`, this.machine.callStack(), { fromSeq, did: [] });
  }
}

/** Actions that leave a mark outside the conversation (variables it set and playbooks it linked are undone with it). */
function hasEffect(action: string): boolean {
  return /^(said|asked|called) /.test(action);
}

export type { CodeObject, ModelMessage };
