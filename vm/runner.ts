// Drives a Machine: performs the effects it asks for, and, for a durable run, journals
// each one before acting on it. On resume the journal is replayed: a recorded result is
// handed back instead of repeating the effect (Temporal's rule), printed lines are not
// printed again, and a tool call that was in flight is issued again with the same call id.
import type { Effect } from './effects.js';
import { PbRuntimeError, PlaybookCallRefused, StateWriteError, ToolCallRejected, type RuntimeErrorCode } from './errors.js';
import type { Frame, Machine } from './machine.js';
import { judgeTool, planToolDone } from './plan-calls.js';
import { NLDriver, DEFAULT_DRIVER, type NLHost } from './model/driver.js';
import { appendLog, clipText } from './model/context.js';
import { ModelError, type CallSite, type ModelReply, type ModelRequest } from './model/protocol.js';
import { checkReply } from './model/reply.js';
import { Linker } from './linker.js';
import type { Value } from './pbasm/program.js';
import type { JournalRecord } from './durable/journal.js';
import { attemptsAt, retryRecord, seqSkips } from './durable/retry.js';
import { fromForeign } from './values.js';
import { callableNames, refusal } from './model/refusal.js';
import { callWithin, ToolTimeout } from './tool-timeout.js';
import { Interrupted, InterruptPoint, PAUSE_STEPS } from './interrupt.js';
import { ReplayCaughtUp, ReplayEnd } from './replay-end.js';
import { emptyReplay, type ReplayLog } from './durable/replay-log.js';
import { ToolNotFound, type GenerateEffect, type RunnerOptions, type RunOutcome, type ToolEffect } from './host.js';
import type { Instance, Message } from './instance.js';
import { resolveTarget, send } from './messages.js';
import { OutputLines } from './output-lines.js';

export { ReplayCaughtUp, ReplayEnd };
export { emptyReplay, replayFromJournal, type ReplayLog } from './durable/replay-log.js';
export { ToolNotFound, type DurableSink, type GenerateEffect, type ModelHost, type NLEffect, type RunnerIO, type RunnerOptions, type RunOutcome, type ToolEffect, type ToolHost } from './host.js';

/** Failures that a later `pb resume` can get past (the cause is outside the program). */
// state-unwritable: nothing was written, so the last snapshot and the journal still hold the
// run; resuming with a higher --limit state-bytes gets past it.
const RESUMABLE: ReadonlySet<RuntimeErrorCode> = new Set(['tool-error', 'input-eof', 'step-budget', 'needs-model', 'undefined-playbook', 'model-error', 'generation-error', 'state-unwritable']);

/** The program ended (End program) while a natural-language step was running a playbook. */
class Halted {
  constructor(readonly effect: Extract<Effect, { kind: 'end' }>) {}
}

export class Runner {
  private readonly lines: OutputLines;
  private journalCount: number;
  private lastSnapshot = 0;
  private effectsSinceSnapshot = 0;
  private readonly replay: ReplayLog;
  private readonly driver?: NLDriver;
  /** Natural-language conversations in progress; no snapshot is taken inside one. */
  private nlDepth = 0;
  /** Model calls made (not replayed) by this process. */
  modelCalls = 0;
  private readonly linker: Linker;
  /** The last effect the loop handled (a replay-only run reports where it stopped by it). */
  lastEffect: Effect | undefined;
  private readonly interrupt?: InterruptPoint;
  private stopped = false;

  constructor(
    readonly machine: Machine,
    private readonly options: RunnerOptions,
  ) {
    this.replay = options.replay ?? emptyReplay();
    this.journalCount = options.journalRecords ?? 0;
    this.lines = new OutputLines(machine, options, this.replay, (...records) => this.journal(...records));
    machine.journalDeliveries = options.durable !== undefined;
    if (this.replay.retries.size) machine.seqSkips = seqSkips(this.replay.retries);
    if (options.interrupt) this.interrupt = new InterruptPoint(options.interrupt);
    this.linker = new Linker(
      {
        machine,
        recorded: this.replay.generates,
        replayOnly: options.replayOnly === true,
        endOfReplay: () => {
          throw new ReplayEnd({ kind: 'end', status: 'finished', value: null });
        },
        journal: (record) => this.journal(record),
        toolNames: () => options.tools?.names?.() ?? [],
        toolSignatures: () => options.tools?.signatures?.() ?? options.tools?.names?.() ?? [],
        model: () => (options.model ? { model: options.model.model.id, complete: (r, site) => this.complete(r, site) } : undefined),
        busy: async (work) => {
          this.nlDepth++;
          try {
            return await work();
          } finally {
            this.nlDepth--;
          }
        },
      },
      { ...options.generation, generator: options.generator, maxGenerationDepth: options.maxGenerationDepth },
    );
    const mh = options.model;
    if (mh) {
      machine.contextLogs = true;
      machine.hasModel = true;
      this.driver = new NLDriver(machine, this.nlHost(), { ...DEFAULT_DRIVER, ...mh.driver, model: mh.model.id });
    }
  }

  /** The driver's view of the runner: every action it takes is an effect journaled here. */
  private nlHost(): NLHost {
    return {
      say: (text) => {
        this.output(this.machine.nextSeq(), text);
      },
      ask: async (question) => {
        const seq = this.machine.nextSeq();
        this.output(seq, question);
        this.flush();
        return this.input(seq, `"${clipText(question, 80)}"`);
      },
      call: (frame, name, args) => this.callFromModel(frame, name, args),
      generate: (frame, goal, name, step) => {
        const s = frame.code.steps.find((x) => x.id === step);
        const at = { step, line: s?.line ?? frame.code.line, file: this.machine.program.files[s?.file ?? frame.code.file]?.path ?? '?' };
        return this.linker.generate(this.machine.nextSeq(), frame, goal, name, at, (code, message) => new PbRuntimeError(code, message, this.machine.callStack()));
      },
      complete: (request, site) => this.complete(request, site),
      toolNames: () => this.options.tools?.signatures?.() ?? this.options.tools?.names?.() ?? [],
      attempts: () => attemptsAt(this.replay.retries, this.machine.seq + 1),
      send: (frame, to, content) => this.sendFromModel(frame, to, content),
      wait: (_frame, source) => this.waitInStep(source),
    };
  }

  /** Sets the machine's clock for an effect: the recorded time on replay, else now. */
  private stamp(kind: 'input' | 'tool-start' | 'tool-done' | 'model', seq: number): string {
    const at = this.replay.times.get(`${kind}:${seq}`) ?? new Date().toISOString();
    this.machine.clock = at;
    return at;
  }

  /**
   * One model call: replayed from the journal when recorded there, else made and journaled.
   * Only a reply that passes checkReply is journaled or used: a malformed one (from any
   * Model) stops the run with a resumable model-error; a malformed journaled one (written by
   * an older build, whose driver then crashed on it) is asked for again.
   */
  private async complete(request: ModelRequest, site: CallSite): Promise<ModelReply> {
    const seq = this.machine.nextSeq();
    const recorded = this.replay.models.get(seq);
    const replayed = recorded === undefined ? undefined : checkReply(recorded);
    if (replayed?.ok) {
      this.stamp('model', seq);
      this.options.model?.onCall?.(site, replayed.reply, true);
      return replayed.reply;
    }
    if (this.options.replayOnly) throw new ReplayEnd({ kind: 'end', status: 'finished', value: null });
    const mh = this.options.model!;
    if (mh.maxCalls !== undefined && this.modelCalls >= mh.maxCalls) {
      throw new PbRuntimeError('model-error', `model call budget of ${mh.maxCalls} calls used up (raise --max-model-calls)`, this.machine.callStack());
    }
    this.flush();
    const failed = (why: string) => new PbRuntimeError('model-error', `model call for step ${site.step} (${site.purpose}) failed: ${why}`, this.machine.callStack());
    let raw: unknown;
    try {
      raw = await mh.model.complete(request, site);
    } catch (err) {
      throw failed(err instanceof ModelError ? err.message : (err as Error)?.message ?? String(err));
    }
    this.modelCalls++;
    const checked = checkReply(raw);
    if (!checked.ok) throw failed(`the model sent an invalid reply: ${checked.problem}`);
    const reply = checked.reply;
    this.journal({ t: 'model', seq, reply: reply as unknown as Value, at: this.stamp('model', seq) });
    mh.onCall?.(site, reply, false);
    return reply;
  }

  /** Reads one line of user input for effect `seq` (replayed when journaled). */
  private async input(seq: number, what: string, eof?: () => string): Promise<string> {
    const recorded = this.replay.inputs.get(seq);
    if (recorded !== undefined) {
      this.stamp('input', seq);
      return recorded;
    }
    if (this.options.replayOnly) throw new ReplayEnd({ kind: 'end', status: 'finished', value: null });
    const line = await this.options.io.readLine();
    if (line === null && eof) return eof();
    if (line === null) throw this.machine.fail('input-eof', `end of input while asking ${what}`);
    this.journal({ t: 'input', seq, text: line, at: this.stamp('input', seq) });
    return line;
  }

  /** A playbook (or host tool) the model called from a natural-language step. */
  private async callFromModel(frame: Frame, name: string, args: Record<string, Value>): Promise<Value> {
    const m = this.machine;
    // What the model may not call is refused with a tool error (it goes on with its step);
    // a replayed tool result means the call was made, so it is not judged again.
    const tools = this.options.tools;
    // CreateAgent is the one builtin the model calls as a playbook (Playbooks AI's way to make an agent).
    if (name === 'CreateAgent') {
      const { klass, agent_klass, ...vars } = args;
      return m.createAgent(String(klass ?? agent_klass ?? ''), vars);
    }
    const callee = m.splitCallee(frame, name);
    const agent = callee.agent;
    const at = { target: m.lookup(agent, callee.bare), agent, agentExists: m.program.agents.some((a) => a.name === agent) };
    const toolNames = tools ? tools.names?.() : [];
    const replayed = this.options.replayOnly || this.replay.toolsDone.has(m.seq + 1);
    const refused = replayed && !at.target ? undefined : refusal(name, frame.code.agent, at, toolNames, () => callableNames(m.program, m.linked, frame.code.agent, toolNames ?? []));
    if (refused) throw refused;
    if (m.callFromHost(frame, name, args)) {
      const owner = m.current;
      const outer = m.loopOwner;
      m.loopOwner = owner;
      try {
        const r = (await this.loop(true, owner)) as Extract<Effect, { kind: 'end' | 'host-return' }>;
        if (r.kind === 'end') throw new Halted(r);
        return r.value;
      } finally {
        m.loopOwner = outer;
        this.backTo(owner);
      }
    }
    const seq = m.nextSeq();
    // A ```ts/```js code playbook of the program runs like a host tool, from its block.
    const code = m.lookup(frame.code.agent, name);
    const block = code?.kind === 'code' ? { agent: code.agent, index: code.block ?? 0 } : undefined;
    const effect: ToolEffect = {
      kind: 'tool',
      seq,
      callId: `${m.runId}:${seq}`,
      name,
      args: [],
      kwargs: args,
      ...(block ? { block } : {}),
      at: { agent: frame.code.agent, playbook: frame.code.name, step: '--', line: frame.code.line, file: '' },
    };
    // An enforced procedure judges the call first; a rejected call never runs, and the model is told why.
    const verdict = judgeTool(m, name, args, seq, 'model');
    if (verdict && !verdict.ok) throw new ToolCallRejected(name, verdict.violation.message, verdict.expected, verdict.hints);
    return this.toolCall(effect);
  }

  /** A model step of the running instance: while it is in progress, the instance is busy (vm/scheduler.ts). */
  private async inStep<T>(work: () => Promise<T>): Promise<T> {
    const inst = this.machine.current;
    this.nlDepth++;
    inst.busy++;
    try {
      return await work();
    } finally {
      inst.busy--;
      this.nlDepth--;
    }
  }

  /** After a nested loop, the instance whose model step goes on runs again, mid-effect. */
  private backTo(owner: Instance): void {
    const m = this.machine;
    m.switchTo(owner);
    if (m.status === 'running') m.status = 'waiting';
  }

  /** The model's send_message: the same routing as SendMessage; a line to a human is output. */
  private sendFromModel(frame: Frame, to: string, content: Value): void {
    const m = this.machine;
    const target = resolveTarget(m, to);
    if (typeof target === 'string') throw new PlaybookCallRefused('send_message', `cannot send a message to '${to}': ${target}`, []);
    const line = send(m, m.byId.get(frame.self) ?? m.current, target, content, () => (typeof content === 'string' ? content : JSON.stringify(content)));
    if (line !== undefined) this.output(m.nextSeq(), line);
  }

  /** The model's wait_for_message: the messages waiting, else the other instances run until one comes. */
  private async waitInStep(source: string): Promise<Message[]> {
    const m = this.machine;
    const owner = m.current;
    const waiting = m.takeMessages(owner, source);
    if (waiting.length) return waiting;
    const outer = m.loopOwner;
    owner.wait = { source, by: 'model' };
    m.loopOwner = owner;
    try {
      const r = await this.loop(true, owner, source);
      if (!Array.isArray(r)) {
        if (r.kind === 'end') throw new Halted(r);
        throw new PbRuntimeError('type-error', 'internal: a host call returned while a model step waited for a message', m.callStack());
      }
      return r;
    } finally {
      owner.wait = null;
      m.loopOwner = outer;
      this.backTo(owner);
    }
  }

  private journal(...records: JournalRecord[]): void {
    // An interrupted run's abandoned work (a tool that answers late) must not write any more.
    if (this.stopped) throw new Interrupted();
    if (!this.options.durable) return;
    try {
      this.options.durable.append(records);
    } catch (err) {
      if (err instanceof StateWriteError) throw new PbRuntimeError('state-unwritable', err.message, this.machine.callStack());
      throw err;
    }
    this.journalCount += records.length;
  }

  private output(seq: number, text: string): void {
    this.lines.add(seq, text);
  }

  /** Journals and writes the lines said so far, and journals the messages delivered (vm/output-lines.ts). */
  flush(): void {
    this.lines.flush();
  }

  private maybeSnapshot(force = false): void {
    const sink = this.options.durable;
    if (!sink) return;
    this.effectsSinceSnapshot++;
    const now = performance.now();
    if (!force && now - this.lastSnapshot < (this.options.snapshotMs ?? 250) && this.effectsSinceSnapshot < (this.options.snapshotEffects ?? 1000)) return;
    this.flush();
    try {
      sink.snapshot(this.machine, this.journalCount);
    } catch (err) {
      if (err instanceof StateWriteError) throw new PbRuntimeError('state-unwritable', err.message, this.machine.callStack());
      throw err;
    }
    this.lastSnapshot = now;
    this.effectsSinceSnapshot = 0;
  }

  async run(): Promise<RunOutcome> {
    try {
      const r = (await (this.interrupt ? this.interrupt.race(this.loop(false)) : this.loop(false))) as Extract<Effect, { kind: 'end' | 'host-return' }>;
      const end = r.kind === 'end' ? r : { kind: 'end' as const, status: 'finished' as const, value: r.value };
      return this.ended(end);
    } catch (err) {
      if (err instanceof Halted) return this.ended(err.effect);
      if (err instanceof Interrupted && !this.stopped) {
        // What was said is journaled and printed; nothing else is recorded, so a resume goes on from here.
        this.flush();
        this.stopped = true;
      }
      if (err instanceof PbRuntimeError) {
        this.machine.status = 'failed';
        return this.failed(err);
      }
      throw err;
    }
  }

  private ended(effect: Extract<Effect, { kind: 'end' }>): RunOutcome {
    this.flush();
    // The final 'end' record is what marks the run finished; no snapshot is needed.
    this.journal({ t: 'end', status: effect.status, final: true, at: new Date().toISOString() });
    return { status: effect.status, value: effect.value };
  }

  /**
   * Runs the machine, performing its effects, until it ends; or, nested for instance `owner`,
   * until the playbook the host started returns, or (`wait`) until a message the model waits
   * for arrives. Meanwhile the other instances run.
   */
  private async loop(nested: boolean, owner?: Instance, wait?: string): Promise<Extract<Effect, { kind: 'end' | 'host-return' }> | Message[]> {
    const m = this.machine;
    // A nested loop runs the playbook the host just started; frames below it are an outer loop's.
    const floor = nested ? m.frames.length - 1 : 0;
    for (;;) {
      try {
        if (owner && wait !== undefined) {
          const got = m.takeMessages(owner, wait);
          if (got.length) return got;
        }
        if (this.options.replayOnly && !this.replay.final && m.seq >= this.replay.lastSeq) throw new ReplayCaughtUp(this.lastEffect);
        if (this.interrupt) {
          const turn = this.interrupt.check();
          if (turn) await turn;
        }
        // The machine pauses now and then even in a loop without effects, so that a signal is
        // noticed and a line said before the loop does not wait in the buffer until it ends.
        m.pauseAtStep = m.steps + PAUSE_STEPS;
        const effect = m.run();
        if (effect.kind === 'pause') {
          this.lines.due();
          continue;
        }
        if (effect.kind === 'end') return effect;
        if (effect.kind === 'host-return') {
          if (nested && wait === undefined) return effect;
          throw new PbRuntimeError('type-error', 'internal: a host call returned outside of a host call', m.callStack());
        }
        this.lastEffect = effect;
        if (effect.kind === 'say') {
          this.output(effect.seq, effect.text);
          if (m.contextLogs) appendLog(m.frames[m.frames.length - 1]!, `said ${JSON.stringify(clipText(effect.text, 120))}`);
          m.resume();
          // Snapshots wait for a slower effect; says are cheap and frequent.
          continue;
        }
        this.flush();
        await this.perform(effect);
        // The turn passes to the next instance that can run (vm/scheduler.ts).
        m.rotate = true;
        this.options.onEffect?.(effect);
        if (this.nlDepth === 0) this.maybeSnapshot();
      } catch (err) {
        // A generated playbook that failed is regenerated and rerun; anything else ends the run.
        if (!(err instanceof PbRuntimeError) || !(await this.linker.recover(err, floor))) throw err;
      }
    }
  }

  private failed(error: PbRuntimeError): RunOutcome {
    const resumable = RESUMABLE.has(error.code);
    if (!resumable) this.machine.abandonAll(`the run stopped: ${error.message}`);
    try {
      this.flush();
      // A conversation that failed by its own replies is started afresh by a resume, not replayed.
      const retry = resumable ? retryRecord(error, this.machine.peekSeq()) : undefined;
      if (retry) this.journal(retry);
      this.journal({ t: 'end', status: 'failed', final: !resumable, message: error.message, at: new Date().toISOString() });
    } catch (err) {
      // The journal takes no more records: without its end record the run stays resumable.
      if (!(err instanceof PbRuntimeError && err.code === 'state-unwritable')) throw err;
    }
    return { status: 'failed', error, resumable };
  }

  private async perform(effect: Exclude<Effect, { kind: 'end' | 'say' | 'host-return' }>): Promise<void> {
    const m = this.machine;
    switch (effect.kind) {
      case 'ask': {
        let prompt = effect.prompt;
        const frame = m.frames[m.frames.length - 1]!;
        // The question is the step's own words; the model phrases it only when asked to (opt-in,
        // so a program of code steps never calls the model). Agent metadata travels with the
        // program, so a resumed run phrases exactly as it did before.
        const phrase = m.program.agents.find((a) => a.name === effect.at.agent)?.metadata.phrase_questions;
        if (prompt && this.driver && (phrase === true || (phrase !== false && this.options.model?.phraseAsks === true)) && effect.variable && effect.variable !== '?') {
          this.nlDepth++;
          try {
            prompt = await this.driver.phrase(frame, effect.variable, prompt, effect.at.step);
          } finally {
            this.nlDepth--;
          }
        }
        if (prompt) {
          this.output(effect.seq, prompt);
          this.flush();
        }
        if (this.options.replayOnly && !this.replay.inputs.has(effect.seq)) throw new ReplayEnd(effect);
        const what = effect.variable && effect.variable !== '?' ? `for ${effect.variable}` : prompt ? `"${clipText(prompt, 80)}"` : 'for a message';
        const text = await this.input(effect.seq, what);
        if (m.contextLogs) appendLog(frame, `asked ${JSON.stringify(clipText(prompt, 80))}, user answered ${JSON.stringify(clipText(text, 120))}`);
        m.resume(text);
        return;
      }
      case 'tool':
        m.resume(await this.toolCall(effect));
        return;
      case 'nl': {
        if (!this.driver) {
          if (this.options.replayOnly) throw new ReplayEnd(effect);
          const what = effect.mode === 'cond' ? 'condition' : effect.mode === 'value' ? 'value' : 'step';
          throw m.fail('needs-model', `step ${effect.at.step} is a natural-language ${what} and needs a model, but none is configured: ${effect.info.text}`);
        }
        m.resume(await this.inStep(() => this.driver!.perform(effect)));
        return;
      }
      case 'triggers': {
        if (!this.driver) {
          m.resume([]);
          return;
        }
        m.resume(await this.inStep(() => this.driver!.judge(effect.frame ?? m.frames[m.frames.length - 1]!, effect.candidates, effect.at.step)));
        return;
      }
      case 'listen': {
        if (this.options.replayOnly && !this.replay.inputs.has(effect.seq)) throw new ReplayEnd(effect);
        // At the end of input a wait for anyone can no longer be answered: that instance is done.
        const closed = '\u0000eof';
        const text = await this.input(effect.seq, `for a message to ${effect.instance} (${m.current.klass}) from ${effect.source}`, effect.source.trim() === '*' || effect.source.trim() === '' ? () => closed : undefined);
        if (text === closed) m.inputClosed = true;
        else m.hear(effect.instance, text);
        m.resume();
        return;
      }
      case 'generate':
        await this.generate(effect);
        return;
    }
  }

  /** GeneratePlaybook as a builtin call: generate (or relink), then resume with a reference. */
  private async generate(effect: GenerateEffect): Promise<void> {
    const m = this.machine;
    const frame = m.frames[m.frames.length - 1]!;
    const entry = await this.linker.generate(effect.seq, frame, effect.goal, effect.name, effect.at, (code, message) => m.fail(code, message));
    m.resumeWithPlaybook(frame.code.agent, entry);
  }

  /** A host tool call: the recorded result on replay, else journaled start, call, journaled result. */
  private async toolCall(effect: ToolEffect): Promise<Value> {
    const m = this.machine;
    if (this.replay.toolsDone.has(effect.seq)) {
      const result = this.replay.toolsDone.get(effect.seq) ?? null;
      this.stamp('tool-done', effect.seq);
      planToolDone(m, effect.seq, result);
      return result;
    }
    if (this.options.replayOnly) {
      const failure = this.replay.toolsFailed.get(effect.seq);
      if (failure !== undefined) planToolDone(m, effect.seq, undefined, failure);
      throw new ReplayEnd(effect);
    }
    const tools = this.options.tools;
    if (!tools) throw m.fail('undefined-playbook', `'${effect.name}' is not a playbook of this program and no host tools are loaded (pb run --tools MODULE)`);
    const startedAt = this.stamp('tool-start', effect.seq);
    if (!this.replay.toolsStarted.has(effect.seq)) {
      this.journal({ t: 'tool-start', seq: effect.seq, callId: effect.callId, name: effect.name, args: effect.args, kwargs: effect.kwargs, at: startedAt });
    }
    let result: Value;
    try {
      // The host applies the time limit; waiting here keeps the process alive even without one.
      result = fromForeign(await callWithin(() => tools.call(effect), 0), m.limits, `the result of tool '${effect.name}' holds`);
    } catch (err) {
      if (err instanceof ToolNotFound) throw m.fail('undefined-playbook', err.message);
      const message = (err as Error)?.message ?? String(err);
      this.journal({ t: 'tool-failed', seq: effect.seq, error: message, at: this.stamp('tool-done', effect.seq) });
      planToolDone(m, effect.seq, undefined, message);
      if (err instanceof ToolTimeout) {
        throw m.fail('tool-error', `tool '${effect.name}' timed out (call ${effect.callId}): ${message}; it may still be running. A slower tool needs a longer limit (--tool-timeout MS, or the tool's own timeoutMs)`);
      }
      throw m.fail('tool-error', `tool '${effect.name}' failed (call ${effect.callId}): ${message}`);
    }
    this.journal({ t: 'tool-done', seq: effect.seq, result, at: this.stamp('tool-done', effect.seq) });
    planToolDone(m, effect.seq, result);
    return result;
  }
}
