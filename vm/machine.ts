// The PBAsm stack machine. `run()` executes instructions synchronously until the program
// needs something from outside (output, input, a tool, the model) or ends, and returns that
// Effect; the caller performs it and calls `resume(result)` (or `fail(...)`). Agents are
// instances with their own stacks; run() schedules them (vm/scheduler.ts) around the
// dispatch loop of one instance (vm/dispatch.ts). All mutable state lives in plain fields so
// that a snapshot can capture it exactly.
import type { CodeObject, NLInfo, Program, Value } from './pbasm/program.js';
import { abandonPlan } from './plan.js';
import type { Effect } from './effects.js';
import { PbRuntimeError, PlaybookCallRefused, type RuntimeErrorCode } from './errors.js';
import { ByteBudget, checkValue, VMLimitError } from './limits.js';
import { PlaybookRef, toPlain, toText, truthy, type RuntimeValue } from './values.js';
import { ENTRY_SHIM, VMFault, type Frame } from './frame.js';
import type { Instance, Meeting, Message } from './instance.js';
import { Dispatcher, SWITCH } from './dispatch.js';
import { dispatchable, deadlock, keepsTurn, listener, pickNext } from './scheduler.js';
import { rolePlaybook, startRoleReply } from './role-replies.js';
import { acceptInvitation, isMeetingPlaybook, leaveMeeting } from './meetings.js';
import { deliver, humanOf, makeMessage, takeMessages } from './messages.js';
import { fireNLTriggers, messageOffer, type MessageOffer } from './triggers.js';

export type { Frame, Pending } from './frame.js';
import type { MachineOptions } from './machine-core.js';
export type { MachineOptions, MachineStatus } from './machine-core.js';

export class Machine extends Dispatcher {
  /** Messages an idle instance offered to its triggers, while the model judges them. */
  private offer: MessageOffer | undefined;

  constructor(program: Program, options: MachineOptions = {}) {
    super(program, options);
    // A role-only agent's reply playbook (vm/role-replies.ts), run only by the VM.
    for (const agent of program.agents) if (agent.kind === undefined && agent.playbooks.length === 0) this.link(rolePlaybook(agent));
  }

  /**
   * Runs until the program needs an effect or ends. The running instance keeps the turn until
   * it waits; after an effect it was resumed from (`rotate`), the next instance that can run
   * has its turn first.
   */
  run(): Effect {
    if (this.status === 'ready') this.start();
    if (this.status === 'finished' || this.status === 'halted') return { kind: 'end', status: this.status, value: this.result };
    this.status = 'running';
    for (;;) {
      const next = (this.rotate && !keepsTurn(this)) || !dispatchable(this, this.current) ? pickNext(this, this.current) : this.current;
      this.rotate = false;
      if (this.wake) {
        // A message reached an instance waiting in a model step: the host takes it now.
        this.wake = false;
        return { kind: 'pause' };
      }
      if (!next) return this.quiescent();
      this.switchTo(next);
      if (this.frames.length === 0) {
        const r = this.startIdle(next);
        if (r === SWITCH) continue;
        if (r) return r;
      }
      const r = this.exec();
      if (r !== SWITCH) return r;
    }
  }

  /** An idle instance's turn: its next begin playbook, an invitation, or its new messages offered to its triggers. */
  private startIdle(inst: Instance): Effect | typeof SWITCH | undefined {
    if (this.startNextEntry(inst)) return undefined;
    if (acceptInvitation(this, inst)) return undefined;
    if (startRoleReply(this, inst)) return undefined;
    const o = messageOffer(this, inst);
    if (!o) return SWITCH;
    this.offer = o.offer;
    return this.effect({ kind: 'triggers', seq: 0, candidates: o.candidates, frame: o.frame, at: this.context(o.frame) }, 'triggers');
  }

  /** Nothing can run: listen to the human, end (every instance idle), or report the deadlock. */
  private quiescent(): Effect {
    const ear = listener(this);
    if (ear) {
      this.switchTo(ear);
      const top = this.frames[this.frames.length - 1];
      return this.effect({ kind: 'listen', seq: 0, instance: ear.id, source: ear.wait!.source, at: top ? this.context(top) : { agent: ear.klass, playbook: '--', step: '--', line: 0, file: '' } }, 'none');
    }
    const stuck = deadlock(this);
    if (stuck) {
      this.status = 'failed';
      throw new PbRuntimeError('deadlock', stuck, this.callStack());
    }
    this.status = 'finished';
    return { kind: 'end', status: 'finished', value: this.result };
  }

  /** A line the human typed while `instance` listened: it becomes a message from that human. */
  hear(instance: string, line: string): void {
    const inst = this.byId.get(instance);
    if (!inst) return;
    const who = humanOf(this, line);
    this.nlEvent = true;
    deliver(this, inst, makeMessage(who, inst, who.text, null));
    this.status = 'running';
  }

  /** Takes the messages waiting for `inst` that a wait for `source` accepts (a model step's wait_for_message). */
  takeMessages(inst: Instance, source: string): Message[] {
    return takeMessages(this, inst, source);
  }

  /** Starts the instance's next begin playbook; false when none is left. */
  private startNextEntry(inst: Instance): boolean {
    while (inst.entryIndex < inst.entry.length) {
      const code = this.lookup(inst.klass, inst.entry[inst.entryIndex++]!);
      if (!code) continue;
      if (code.kind === 'foreign') {
        throw new PbRuntimeError('foreign-call', `cannot run python playbook '${code.name}': pbvm does not execute python code blocks`, [
          { agent: code.agent, playbook: code.name, step: '--', file: this.program.files[code.file]?.path ?? '?', line: code.line, col: 1 },
        ]);
      }
      if (code.kind === 'code') {
        // A code playbook as entry point: call it like a tool with no arguments.
        this.frames.push({ code: ENTRY_SHIM, pc: 0, locals: [], base: this.sp, discard: true, self: inst.id, vars: inst.vars });
        this.stack[this.sp++] = new PlaybookRef(code.agent, code.name);
        return true;
      }
      // Entry parameters come from --arg; one that is not given is None, as a caller would leave it.
      const given = (n: string) => Object.prototype.hasOwnProperty.call(this.entryArgs, n);
      const names = code.params.filter((p) => given(p.name) || !p.hasDefault).map((p) => p.name);
      for (const n of names) this.stack[this.sp++] = given(n) ? this.entryArgs[n]! : null;
      try {
        for (const n of names) if (given(n)) checkValue(this.entryArgs[n], this.limits, `argument '${n}' holds`);
        this.enter(code, names.length, names, true, undefined, inst);
      } catch (err) {
        if (err instanceof VMFault) throw new PbRuntimeError(err.code, err.message, this.callStack());
        if (err instanceof VMLimitError) throw new PbRuntimeError('limit-exceeded', err.message, [{ agent: code.agent, playbook: code.name, step: '--', file: this.program.files[code.file]?.path ?? '?', line: code.line, col: 1 }]);
        throw err;
      }
      return true;
    }
    return false;
  }

  /** "Agent.Playbook", "agent 1003.Playbook" (that instance) or "Playbook" (the caller's agent). */
  splitCallee(from: Frame, name: string): { agent: string; bare: string; instance?: Instance } {
    const id = /^(agent\s+\d+)\.(.+)$/i.exec(name);
    if (id) {
      const inst = this.byId.get(id[1]!.toLowerCase().replace(/\s+/, ' '));
      if (inst) return { agent: inst.klass, bare: id[2]!, instance: inst };
    }
    const dot = name.indexOf('.');
    return { agent: dot > 0 ? name.slice(0, dot) : from.code.agent, bare: dot > 0 ? name.slice(dot + 1) : name };
  }

  /** CreateAgent from the model (call_playbook): a new instance of `klass` with `vars` as its $state. */
  createAgent(klass: string, vars: Record<string, Value>): string {
    const agent = this.program.agents.find((a) => a.kind !== 'human' && (a.name === klass || a.name.toLowerCase() === klass.toLowerCase()));
    if (!agent) throw new PlaybookCallRefused('CreateAgent', `there is no agent class '${klass}'`, this.program.agents.filter((a) => a.kind !== 'human').map((a) => a.name));
    checkValue(vars, this.limits, 'the arguments of CreateAgent hold');
    return this.createInstance(agent.name, undefined, { ...vars }).id;
  }

  /** Sets a key of a meeting's shared state (SetSharedState, the model's set_shared_state). */
  setSharedState(meeting: Meeting, key: string, value: Value): void {
    try {
      checkValue({ ...meeting.shared, [key]: value }, this.limits, 'the meeting shared state holds');
    } catch (err) {
      if (err instanceof VMLimitError) throw new PbRuntimeError('limit-exceeded', err.message, this.callStack());
      throw err;
    }
    meeting.shared = { ...meeting.shared, [key]: value };
  }

  /** Resumes a pending GeneratePlaybook with a reference to the linked playbook. */
  resumeWithPlaybook(agent: string, name: string): void {
    this.stack[this.sp++] = new PlaybookRef(agent, name);
    this.pending = 'none';
    this.status = 'running';
  }

  /** Generated playbooks on the call stack (their own GeneratePlaybook calls are depth-limited). */
  generationDepth(): number {
    let n = 0;
    for (const f of this.frames) if (f.code.metadata.generated === true) n++;
    return n;
  }

  /** Feeds the result of the effect returned by the last run() back into the machine. */
  resume(result?: Value): void {
    if (this.pending === 'value' || this.pending === 'text') this.checkIncoming(result, this.pending === 'text' ? 'the input holds' : 'the value this step was given holds');
    switch (this.pending) {
      case 'value':
        this.stack[this.sp++] = result ?? null;
        break;
      case 'bool':
        this.stack[this.sp++] = truthy(result ?? null);
        break;
      case 'text':
        this.stack[this.sp++] = result === undefined || result === null ? '' : toText(result);
        this.nlEvent = true;
        break;
      case 'triggers': {
        const keys = Array.isArray(result) ? result.filter((x): x is string => typeof x === 'string') : [];
        const offer = this.offer;
        this.offer = undefined;
        fireNLTriggers(this, keys, offer);
        break;
      }
      case 'none':
        break;
    }
    this.pending = 'none';
    this.status = 'running';
  }

  /** A value from outside (a tool, the model, the user) keeps within the limits, or the effect fails. */
  private checkIncoming(value: unknown, what: string): void {
    try {
      checkValue(value, this.limits, what);
    } catch (err) {
      if (err instanceof VMLimitError) throw this.fail('limit-exceeded', err.message);
      throw err;
    }
  }

  /** Reports that the pending effect failed; returns the runtime error to surface. */
  fail(code: RuntimeErrorCode, message: string): PbRuntimeError {
    this.pending = 'none';
    this.status = 'failed';
    const top = this.frames[this.frames.length - 1];
    if (top) top.pc = this.effectPc;
    return new PbRuntimeError(code, message, this.callStack());
  }

  /** Variables an NL step may read: the ones it mentions, from locals and agent state. */
  visibleVars(f: Frame, info: NLInfo): Record<string, Value> {
    const out: Record<string, Value> = {};
    const vars = f.vars;
    for (const m of info.mentions) {
      if (m.startsWith('$')) {
        const name = m.slice(1);
        const slot = f.code.params.findIndex((p) => p.name === name);
        const v = slot >= 0 ? f.locals[slot] : vars[name];
        if (v !== undefined) out[m] = toPlain(v, new ByteBudget(this.limits.stateBytes, `${m} holds`));
      } else {
        const slot = f.code.locals.indexOf(m);
        const v = slot >= 0 ? f.locals[slot] : undefined;
        if (v !== undefined) out[m] = toPlain(v, new ByteBudget(this.limits.stateBytes, `${m} holds`));
      }
    }
    return out;
  }

  /** Sets a variable on behalf of the model: $name is agent state (or a parameter), a bare name a local. */
  setVariable(frame: Frame, name: string, value: Value): void {
    try {
      checkValue(value, this.limits, `the value given for ${name} holds`);
    } catch (err) {
      if (err instanceof VMLimitError) throw new PbRuntimeError('limit-exceeded', err.message, this.callStack());
      throw err;
    }
    const bare = name.replace(/^\$/, '');
    const param = frame.code.params.findIndex((p) => p.name === bare);
    if (param >= 0) {
      frame.locals[param] = value;
      return;
    }
    const slot = name.startsWith('$') ? -1 : frame.code.locals.indexOf(bare);
    if (slot >= 0 && !bare.startsWith('%')) frame.locals[slot] = value;
    else {
      frame.vars[bare] = value;
      this.stateDirty = true;
      this.nlEvent = true;
    }
  }

  /** Runs a step's predicate on its result: true or false, or the error it raised. */
  predicate(code: CodeObject, result: Value): { value: boolean } | { error: string } {
    try {
      return { value: this.evaluate(code, [result]) };
    } catch (err) {
      if (err instanceof PbRuntimeError) return { error: err.message };
      throw err;
    }
  }

  /**
   * Starts a playbook for the host (the model called it from a natural-language step).
   * The machine then runs it; its RETURN comes back as a 'host-return' effect.
   * Returns false when no playbook of that name is visible (the host may try a tool).
   */
  callFromHost(from: Frame, name: string, args: Record<string, Value>): boolean {
    const { agent, bare, instance } = this.splitCallee(from, name);
    const target = this.lookup(agent, bare);
    if (!target) return false;
    if (target.agent !== from.code.agent && !target.public) throw new PbRuntimeError('not-public', `playbook '${target.agent}.${target.name}' is not public`, this.callStack());
    if (target.kind === 'foreign') throw new PbRuntimeError('foreign-call', `cannot call python playbook '${target.name}'`, this.callStack());
    if (target.kind === 'code') return false;
    const names = Object.keys(args).filter((k) => target.params.some((p) => p.name === k.replace(/^\$/, '')));
    for (const k of names) this.stack[this.sp++] = args[k]!;
    try {
      // A meeting playbook's caller may name its attendees and topic (Playbooks AI's implicit arguments).
      const meeting = isMeetingPlaybook(target) ? { attendees: args.attendees, topic: args.topic } : undefined;
      this.enterCall(target, names.length, names.map((k) => k.replace(/^\$/, '')), instance, meeting);
    } catch (err) {
      if (err instanceof VMFault) throw new PbRuntimeError(err.code, err.message, this.callStack());
      throw err;
    }
    const top = this.frames[this.frames.length - 1]!;
    top.hostReturn = true;
    top.hostResume = { pending: this.pending, effectPc: this.effectPc };
    this.status = 'running';
    return true;
  }

  /**
   * Abandons frames[index] and every frame above it, as if that call had not been made; the
   * caller stays at the instruction after its call. A frame the host started hands the host's
   * effect back (it is still owed a result). Returns the abandoned frame.
   */
  unwindTo(index: number): Frame {
    const f = this.frames[index]!;
    // Enforced procedures among the abandoned calls end here, failed.
    for (let i = this.frames.length - 1; i >= index; i--) {
      const fr = this.frames[i]!;
      if (fr.plan !== undefined && this.plans[fr.plan]!.status === 'running') abandonPlan(this.plans[fr.plan]!, this.clock, `the call of ${fr.code.name} was abandoned (its playbook failed)`);
      if (fr.meeting) leaveMeeting(this, fr);
    }
    this.frames.length = index;
    for (let i = f.base; i < this.sp; i++) this.stack[i] = null;
    this.sp = f.base;
    this.pending = f.hostResume?.pending ?? 'none';
    if (f.hostResume) this.effectPc = f.hostResume.effectPc;
    this.status = f.hostReturn ? 'waiting' : 'running';
    return f;
  }

  /**
   * Deviation handling: the generated playbook running in frames[index] failed. Its frame and
   * everything above it are abandoned, the old version stays linked under a retired name (for
   * frames deeper in the stack that still run it), the new version takes over its name, and is
   * called with the same arguments, returning to the same caller.
   */
  replaceGenerated(index: number, objects: CodeObject[], entry: string): void {
    const old = this.unwindTo(index);
    const oldCode = old.code;
    const revision = typeof oldCode.metadata.revision === 'number' ? oldCode.metadata.revision : 0;
    const retired: CodeObject = { ...oldCode, name: `${oldCode.name}~${revision}` };
    for (const f of this.frames) if (f.code === oldCode) f.code = retired;
    const at = this.linked.indexOf(oldCode);
    if (at >= 0) this.linked[at] = retired;
    this.link(retired);
    for (const o of objects) this.linkGenerated(o);
    const target = this.lookup(oldCode.agent, entry);
    if (!target) throw new PbRuntimeError('undefined-playbook', `regenerated playbook '${entry}' is not linked`, this.callStack());
    const args = old.args ?? [];
    for (const a of args) this.stack[this.sp++] = a;
    try {
      this.enter(target, args.length, [], old.discard, old.trigger, this.byId.get(old.self));
    } catch (err) {
      if (err instanceof VMFault) throw new PbRuntimeError(err.code, err.message, this.callStack());
      throw err;
    }
    const top = this.frames[this.frames.length - 1]!;
    if (old.hostReturn) {
      top.hostReturn = true;
      if (old.hostResume) top.hostResume = old.hostResume;
    }
    this.pending = 'none';
    this.status = 'running';
  }

  /** Source text for a path in a runtime error: a program file or a generated playbook's source. */
  sourceText(path: string): string | undefined {
    const i = this.program.files.findIndex((f) => f.path === path);
    if (i >= 0) return this.program.sources[i];
    for (const c of this.linked) if (c.metadata.generated === true && this.sourcePath(c, undefined) === path && typeof c.metadata.source === 'string') return c.metadata.source;
    return undefined;
  }

  /**
   * Runs a side-effect-free code object (a trigger condition, a step predicate) to completion.
   * A trigger condition that reads an unset variable is false; a predicate's errors propagate.
   */
  evaluate(cond: CodeObject, args?: Value[], self?: Instance): boolean {
    const savedFrames = this.frames.splice(0, this.frames.length);
    const savedSp = this.sp;
    const savedStatus = this.status;
    const savedPending = this.pending;
    this.checkingTriggers = true;
    try {
      const locals: (RuntimeValue | undefined)[] = new Array(cond.locals.length);
      (args ?? []).forEach((a, i) => (locals[i] = a));
      const owner = self ?? this.byId.get(savedFrames[savedFrames.length - 1]?.self ?? '') ?? this.current;
      this.frames.push({ code: cond, pc: 0, locals, base: this.sp, discard: false, self: owner.id, vars: owner.vars });
      const r = this.exec();
      return r.kind === 'end' && truthy(r.value);
    } catch (err) {
      if (!args && err instanceof PbRuntimeError && err.code === 'undefined-variable') return false;
      throw err;
    } finally {
      this.pending = savedPending;
      this.checkingTriggers = false;
      this.frames.length = 0;
      this.frames.push(...savedFrames);
      this.sp = savedSp;
      this.status = savedStatus;
    }
  }
}
