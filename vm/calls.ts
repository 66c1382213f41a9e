// Calls and returns of the dispatch loop: a CALL enters a playbook, starts a meeting, or
// becomes an effect (a host tool, a code block, a builtin); a return may leave a meeting or
// answer the message that started the playbook.
import { Op } from './pbasm/opcodes.js';
import type { CallSite, CodeObject } from './pbasm/program.js';
import { abandonPlan } from './plan.js';
import type { Effect } from './effects.js';
import { ByteBudget } from './limits.js';
import { jsonPreview, PlaybookRef, toPlain, typeName, type RuntimeValue } from './values.js';
import type { Frame } from './frame.js';
import type { Instance } from './instance.js';
import { MachineCore } from './machine-core.js';
import { abandonPlans, finishPlansOnHalt, judgeTool } from './plan-calls.js';
import { builtin } from './builtins.js';
import { leaveMeeting, startMeeting, isMeetingPlaybook, type MeetingCall } from './meetings.js';
import { deliver, makeMessage } from './messages.js';

export abstract class Calls extends MachineCore {
  /** The variable an ASK stores into (the STORE that follows it), for prompts and journals. */
  protected storeTarget(f: Frame, pc: number): string {
    const op = f.code.code[pc] as Op;
    const arg = f.code.code[pc + 1]!;
    if (op === Op.STORE_STATE) return `$${String(f.code.consts[arg])}`;
    if (op === Op.STORE_LOCAL) return f.code.locals[arg] ?? '?';
    return '?';
  }

  /** Performs a CALL: pushes a frame (returns undefined) or returns an effect (SWITCH: the instance waits). */
  protected call(site: CallSite, f: Frame, returnPc: number): Effect | undefined {
    const argc = site.argc;
    if (site.kind === 'builtin') return builtin(this, site, f, returnPc);
    let target: CodeObject | undefined;
    if (site.kind === 'value') {
      const callee = this.stack[this.sp - argc - 1];
      if (!(callee instanceof PlaybookRef)) throw this.error('type-error', `'${site.name}' is not a playbook (it is ${typeName(callee)})`);
      target = this.lookup(callee.agent, callee.name);
      if (!target) throw this.error('undefined-playbook', `playbook '${callee.agent}.${callee.name}' is not linked`);
      // Drop the callee value under the arguments.
      for (let i = this.sp - argc - 1; i < this.sp - 1; i++) this.stack[i] = this.stack[i + 1]!;
      this.sp--;
    } else if (site.kind === 'playbook') {
      target = this.lookup(site.agent, site.name);
      if (!target) throw this.error('undefined-playbook', `playbook '${site.agent}.${site.name}' is not defined`);
      if (site.crossAgent && target.agent !== f.code.agent && !target.public) {
        throw this.error('not-public', `playbook '${target.agent}.${target.name}' is not public`);
      }
    } else {
      // An unresolved name: a playbook linked at run time, else a host tool.
      target = this.lookup(f.code.agent, site.name);
      if (!target) return this.toolEffect(site.name, argc, site.kwnames, f, returnPc);
    }
    if (target.kind === 'foreign') {
      throw this.error('foreign-call', `cannot call python playbook '${target.name}': pbvm does not execute python code blocks (port it to a \`\`\`ts block or a host tool)`);
    }
    if (target.kind === 'code') return this.toolEffect(target.name, argc, site.kwnames, f, returnPc, { agent: target.agent, index: target.block ?? 0 });
    this.enterCall(target, argc, site.kwnames);
    f.pc = returnPc;
    return undefined;
  }

  /** Enters a called playbook; calling a meeting playbook starts a meeting (vm/meetings.ts). */
  enterCall(target: CodeObject, argc: number, kwnames: readonly string[], self?: Instance, meeting?: MeetingCall): Frame {
    const frame = this.enter(target, argc, kwnames, false, undefined, self);
    if (isMeetingPlaybook(target)) {
      const started = startMeeting(this, this.byId.get(frame.self) ?? this.current, frame, meeting);
      if (typeof started === 'string') {
        this.frames.pop();
        throw this.error('call-error', started);
      }
    }
    return frame;
  }

  private toolEffect(name: string, argc: number, kwnames: readonly string[], f: Frame, returnPc: number, block?: { agent: string; index: number }): Effect {
    const { args, kwargs } = this.popArgs(argc, kwnames, name);
    // An enforced procedure judges the call before it runs; a rejected one never runs.
    const verdict = judgeTool(this, name, kwnames.length ? { args, kwargs } : args, this.peekSeq(), 'code');
    if (verdict && !verdict.ok) {
      // Code cannot recover from a rejection the way the model can: the procedure stops here.
      abandonPlan(this.plans[verdict.plan]!, this.clock);
      throw this.error('contract-violation', `call to '${name}' rejected: ${verdict.violation.message}`);
    }
    const ctx = this.context(f);
    f.pc = returnPc;
    return this.effect({ kind: 'tool', seq: 0, callId: '', name, args, kwargs, ...(block ? { block } : {}), at: ctx }, 'value');
  }

  /** A meeting playbook or a playbook started by a message returned: leave the meeting, answer the sender. */
  protected frameEnded(done: Frame, value: RuntimeValue): void {
    if (done.meeting) leaveMeeting(this, done);
    if (done.replyTo !== undefined && value !== null) {
      const to = this.byId.get(done.replyTo);
      const from = this.byId.get(done.self) ?? this.current;
      if (to) deliver(this, to, makeMessage(from, to, toPlain(value, new ByteBudget(this.limits.stateBytes, `the value ${done.code.name} returns holds`)), null));
    }
  }

  endProgram(): Effect {
    if (this.plans.length) this.finishAllPlans();
    this.status = 'halted';
    return { kind: 'end', status: 'halted', value: null };
  }

  /** The run stops for good (an error no resume can get past): the procedures still running fail. */
  abandonAll(why: string): void {
    this.saveRegisters();
    for (const inst of this.instances) abandonPlans(this, inst.frames, why);
  }

  /** The program ends (End program): the open procedures of every instance are judged as at their end. */
  finishAllPlans(): void {
    this.saveRegisters();
    for (const inst of this.instances) finishPlansOnHalt(this, inst.frames);
  }

  protected logReturn(done: Frame, value: RuntimeValue): void {
    const caller = this.frames[this.frames.length - 1]!;
    // Previews: the entry is clipped to 300 characters, so no value is copied out whole.
    const args = done.code.params.map((p, i) => jsonPreview(done.locals[i], 300)).join(', ');
    const entry = `called ${done.code.name}(${args}) -> ${jsonPreview(value, 300)}`;
    (caller.log ??= []).push(entry.length > 300 ? `${entry.slice(0, 299)}…` : entry);
    if (caller.log.length > 200) caller.log.splice(0, caller.log.length - 200);
  }
}
