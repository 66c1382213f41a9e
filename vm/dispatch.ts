// The dispatch loop of one agent instance: `exec()` runs the current instance's frames
// until it needs something from outside (an Effect), ends, or waits (SWITCH: the scheduler
// in vm/machine.ts picks the next instance). Locals of the loop cache the top frame; every
// path that changes frames reloads them.
import { Op } from './pbasm/opcodes.js';
import type { NLInfo } from './pbasm/program.js';
import { abandonPlan, beginStep, finishPlan } from './plan.js';
import { NATIVES } from './pbasm/natives-table.js';
import { NATIVE_IMPLS } from '../stdlib/natives.js';
import type { Effect } from './effects.js';
import { PbRuntimeError } from './errors.js';
import { ByteBudget, checkNewContainer, checkStringLength, VMLimitError } from './limits.js';
import {
  add,
  attr,
  compare,
  contains,
  div,
  equals,
  idiv,
  index,
  iterate,
  jsonPreview,
  LoopIter,
  mod,
  mul,
  neg,
  PlaybookRef,
  pow,
  setKey,
  sub,
  toPlain,
  toText,
  truthy,
  typeName,
  VMIndexError,
  VMKeyError,
  VMTypeError,
  VMValueError,
  VMZeroDivision,
  type RuntimeValue,
} from './values.js';
import { VMFault, type Frame } from './frame.js';
import { Calls } from './calls.js';
import { closePlanStep, completedEarly } from './plan-calls.js';
import { fireStateTriggers, nlTriggerCandidates } from './triggers.js';
import { SWITCH } from './builtins.js';

export { SWITCH };

export abstract class Dispatcher extends Calls {
  /** Runs the current instance until it needs an effect, ends, or waits (SWITCH). */
  exec(): Effect {
    const stack = this.stack;
    const lim = this.limits;
    let f = this.frames[this.frames.length - 1]!;
    let code = f.code.code;
    let consts = f.code.consts as RuntimeValue[];
    let locals = f.locals;
    let pc = f.pc;
    let sp = this.sp;
    let ip = pc;
    try {
      for (;;) {
        ip = pc;
        switch (code[pc] as Op) {
          case Op.NOP:
            pc += 1;
            break;
          case Op.CONST:
            stack[sp++] = consts[code[pc + 1]!]!;
            pc += 2;
            break;
          case Op.POP:
            stack[--sp] = null;
            pc += 1;
            break;
          case Op.DUP:
            stack[sp] = stack[sp - 1]!;
            sp++;
            pc += 1;
            break;
          case Op.LOAD_LOCAL: {
            const v = locals[code[pc + 1]!];
            if (v === undefined) throw this.error('undefined-variable', `variable '${f.code.locals[code[pc + 1]!]}' is not set`);
            stack[sp++] = v;
            pc += 2;
            break;
          }
          case Op.STORE_LOCAL:
            locals[code[pc + 1]!] = stack[--sp]!;
            pc += 2;
            break;
          case Op.LOAD_STATE: {
            const name = consts[code[pc + 1]!] as string;
            const v = f.vars[name];
            if (v === undefined) throw this.error('undefined-variable', `variable '$${name}' is not set`);
            stack[sp++] = v;
            pc += 2;
            break;
          }
          case Op.STORE_STATE:
            f.vars[consts[code[pc + 1]!] as string] = stack[--sp]!;
            this.stateDirty = true;
            this.nlEvent = true;
            pc += 2;
            break;
          case Op.ADD: {
            const b = stack[--sp]!;
            const a = stack[sp - 1]!;
            stack[sp - 1] = typeof a === 'number' && typeof b === 'number' ? a + b : add(a, b, lim);
            pc += 1;
            break;
          }
          case Op.SUB: {
            const b = stack[--sp]!;
            const a = stack[sp - 1]!;
            stack[sp - 1] = typeof a === 'number' && typeof b === 'number' ? a - b : sub(a, b);
            pc += 1;
            break;
          }
          case Op.MUL: {
            const b = stack[--sp]!;
            const a = stack[sp - 1]!;
            stack[sp - 1] = typeof a === 'number' && typeof b === 'number' ? a * b : mul(a, b, lim);
            pc += 1;
            break;
          }
          case Op.DIV: {
            const b = stack[--sp]!;
            stack[sp - 1] = div(stack[sp - 1]!, b);
            pc += 1;
            break;
          }
          case Op.IDIV: {
            const b = stack[--sp]!;
            stack[sp - 1] = idiv(stack[sp - 1]!, b);
            pc += 1;
            break;
          }
          case Op.MOD: {
            const b = stack[--sp]!;
            stack[sp - 1] = mod(stack[sp - 1]!, b);
            pc += 1;
            break;
          }
          case Op.POW: {
            const b = stack[--sp]!;
            stack[sp - 1] = pow(stack[sp - 1]!, b);
            pc += 1;
            break;
          }
          case Op.EQ: {
            const b = stack[--sp]!;
            const a = stack[sp - 1]!;
            stack[sp - 1] = a === b || equals(a, b);
            pc += 1;
            break;
          }
          case Op.NE: {
            const b = stack[--sp]!;
            const a = stack[sp - 1]!;
            stack[sp - 1] = !(a === b || equals(a, b));
            pc += 1;
            break;
          }
          case Op.LT: {
            const b = stack[--sp]!;
            const a = stack[sp - 1]!;
            stack[sp - 1] = typeof a === 'number' && typeof b === 'number' ? a < b : compare(a, b, '<') < 0;
            pc += 1;
            break;
          }
          case Op.LE: {
            const b = stack[--sp]!;
            const a = stack[sp - 1]!;
            stack[sp - 1] = typeof a === 'number' && typeof b === 'number' ? a <= b : compare(a, b, '<=') <= 0;
            pc += 1;
            break;
          }
          case Op.GT: {
            const b = stack[--sp]!;
            const a = stack[sp - 1]!;
            stack[sp - 1] = typeof a === 'number' && typeof b === 'number' ? a > b : compare(a, b, '>') > 0;
            pc += 1;
            break;
          }
          case Op.GE: {
            const b = stack[--sp]!;
            const a = stack[sp - 1]!;
            stack[sp - 1] = typeof a === 'number' && typeof b === 'number' ? a >= b : compare(a, b, '>=') >= 0;
            pc += 1;
            break;
          }
          case Op.IN: {
            const b = stack[--sp]!;
            stack[sp - 1] = contains(b, stack[sp - 1]!);
            pc += 1;
            break;
          }
          case Op.NOT_IN: {
            const b = stack[--sp]!;
            stack[sp - 1] = !contains(b, stack[sp - 1]!);
            pc += 1;
            break;
          }
          case Op.NEG:
            stack[sp - 1] = neg(stack[sp - 1]!);
            pc += 1;
            break;
          case Op.NOT:
            stack[sp - 1] = !truthy(stack[sp - 1]!);
            pc += 1;
            break;
          case Op.BUILD_LIST: {
            const n = code[pc + 1]!;
            const items = stack.slice(sp - n, sp);
            checkNewContainer(items, lim, 'this list would have');
            sp -= n;
            stack[sp++] = items;
            pc += 2;
            break;
          }
          case Op.BUILD_OBJECT: {
            const n = code[pc + 1]!;
            const obj: Record<string, RuntimeValue> = {};
            for (let i = sp - 2 * n; i < sp; i += 2) {
              const k = stack[i]!;
              if (typeof k !== 'string' && typeof k !== 'number') throw new VMTypeError(`object keys must be strings, not ${typeName(k)}`);
              setKey(obj, String(k), stack[i + 1]!);
            }
            checkNewContainer(stack, lim, 'this object would have', sp - 2 * n + 1, sp, 2);
            sp -= 2 * n;
            stack[sp++] = obj;
            pc += 2;
            break;
          }
          case Op.INDEX: {
            const k = stack[--sp]!;
            stack[sp - 1] = index(stack[sp - 1]!, k);
            pc += 1;
            break;
          }
          case Op.GET_ATTR:
            stack[sp - 1] = attr(stack[sp - 1]!, consts[code[pc + 1]!] as string);
            pc += 2;
            break;
          case Op.FORMAT: {
            const n = code[pc + 1]!;
            let s = '';
            for (let i = sp - n; i < sp; i++) {
              s += toText(stack[i], lim);
              if (s.length > lim.stringLength) checkStringLength(s.length, lim, 'this f-string would make');
            }
            sp -= n;
            stack[sp++] = s;
            pc += 2;
            break;
          }
          case Op.JUMP:
            pc = code[pc + 1]!;
            break;
          case Op.JUMP_IF_FALSE: {
            const v = stack[--sp]!;
            pc = v === false || (v !== true && !truthy(v)) ? code[pc + 1]! : pc + 2;
            break;
          }
          case Op.JUMP_IF_TRUE: {
            const v = stack[--sp]!;
            pc = v === true || (v !== false && truthy(v)) ? code[pc + 1]! : pc + 2;
            break;
          }
          case Op.AND_JUMP:
            if (!truthy(stack[sp - 1]!)) pc = code[pc + 1]!;
            else {
              sp--;
              pc += 2;
            }
            break;
          case Op.OR_JUMP:
            if (truthy(stack[sp - 1]!)) pc = code[pc + 1]!;
            else {
              sp--;
              pc += 2;
            }
            break;
          case Op.ITER:
            locals[code[pc + 1]!] = new LoopIter(iterate(stack[--sp]!, lim), 0);
            pc += 2;
            break;
          case Op.FOR_NEXT: {
            const it = locals[code[pc + 1]!] as LoopIter;
            if (it.index >= it.items.length) pc = code[pc + 2]!;
            else {
              stack[sp++] = it.items[it.index++]!;
              pc += 3;
            }
            break;
          }
          case Op.CALL_NATIVE: {
            const argc = code[pc + 2]!;
            const args = stack.slice(sp - argc, sp);
            sp -= argc;
            const spec = NATIVES[code[pc + 1]!]!;
            if (argc < spec.minArgs || argc > spec.maxArgs) throw new VMTypeError(`${spec.name}() takes ${spec.minArgs === spec.maxArgs ? spec.minArgs : `${spec.minArgs} to ${spec.maxArgs}`} arguments, got ${argc}`);
            stack[sp++] = NATIVE_IMPLS[code[pc + 1]!]!(args, lim);
            pc += 3;
            break;
          }
          case Op.STEP: {
            if (this.checkingTriggers) {
              pc += 2;
              break;
            }
            if (this.steps >= this.pauseAtStep) {
              this.pauseAtStep = Number.POSITIVE_INFINITY;
              f.pc = ip;
              this.sp = sp;
              return { kind: 'pause' };
            }
            if (++this.steps > this.maxSteps) {
              throw this.error('step-budget', `step budget exceeded: more than ${this.maxSteps} steps (raise --max-steps if this is expected)`);
            }
            if (f.code.metadata.generated === true && ++this.generatedSteps > this.generatedStepBudget) {
              throw this.error('generated-step-budget', `generated playbook '${f.code.name}' exceeded the step budget for generated code (${this.generatedStepBudget} steps)`);
            }
            pc += 2;
            // State triggers first: they are deterministic, and the NL trigger check below
            // returns an effect, which would otherwise push them past this step.
            if (this.stateDirty && this.stateTriggers.length > 0) {
              f.pc = pc;
              this.sp = sp;
              if (fireStateTriggers(this)) {
                f = this.frames[this.frames.length - 1]!;
                code = f.code.code;
                consts = f.code.consts as RuntimeValue[];
                locals = f.locals;
                pc = f.pc;
                sp = this.sp;
                // The triggered playbook's first step judges the NL triggers still owed.
                break;
              }
            }
            if (this.nlEvent && this.nlTriggers.length > 0) {
              this.nlEvent = false;
              const candidates = nlTriggerCandidates(this, f);
              if (candidates.length > 0) {
                f.pc = pc;
                this.sp = sp;
                this.effectPc = ip;
                return this.effect({ kind: 'triggers', seq: 0, candidates, at: this.context({ ...f, pc: pc - 2 }) }, 'triggers');
              }
            }
            break;
          }
          case Op.CALL: {
            f.pc = pc;
            this.sp = sp;
            this.effectPc = ip;
            const site = f.code.calls[code[pc + 1]!]!;
            const effect = this.call(site, f, pc + 2);
            if (effect) return effect;
            f = this.frames[this.frames.length - 1]!;
            code = f.code.code;
            consts = f.code.consts as RuntimeValue[];
            locals = f.locals;
            pc = f.pc;
            sp = this.sp;
            break;
          }
          case Op.RETURN: {
            // A state change in the playbook's last step still fires its triggers before the return.
            if (this.stateDirty && this.stateTriggers.length > 0 && !this.checkingTriggers) {
              f.pc = pc;
              this.sp = sp;
              if (fireStateTriggers(this)) {
                f = this.frames[this.frames.length - 1]!;
                code = f.code.code;
                consts = f.code.consts as RuntimeValue[];
                locals = f.locals;
                pc = f.pc;
                sp = this.sp;
                break;
              }
            }
            const value = stack[--sp]!;
            const done = this.frames.pop()!;
            for (let i = done.base; i < sp; i++) stack[i] = null;
            sp = done.base;
            if (done.hostReturn) {
              this.sp = sp;
              // A meeting playbook the model called ends its meeting here too.
              if (done.meeting !== undefined || done.replyTo !== undefined) this.frameEnded(done, value);
              this.status = 'waiting';
              // Back to the effect the host is still performing (its result is still owed).
              if (done.hostResume) {
                this.pending = done.hostResume.pending;
                this.effectPc = done.hostResume.effectPc;
              }
              return { kind: 'host-return', value: toPlain(value, new ByteBudget(lim.stateBytes, `the value ${done.code.name} returns holds`)) };
            }
            if (done.meeting !== undefined || done.replyTo !== undefined) {
              this.sp = sp;
              this.frameEnded(done, value);
            }
            if (this.contextLogs && this.frames.length > 0 && !done.discard) this.logReturn(done, value);
            if (this.checkingTriggers && done.code.kind === 'markdown' && this.frames.length === 0) {
              this.sp = sp;
              return { kind: 'end', status: 'finished', value: toPlain(value, new ByteBudget(lim.stateBytes, 'the result holds')) };
            }
            if (!done.discard) stack[sp++] = value;
            if (this.frames.length === 0) {
              // The instance is idle: its next begin playbook, an invitation or a message comes on its next turn.
              this.result = toPlain(value, new ByteBudget(lim.stateBytes, `the value ${done.code.name} returns holds`));
              this.sp = sp;
              return SWITCH;
            }
            f = this.frames[this.frames.length - 1]!;
            code = f.code.code;
            consts = f.code.consts as RuntimeValue[];
            locals = f.locals;
            pc = f.pc;
            break;
          }
          case Op.HALT:
            f.pc = pc + 1;
            this.sp = sp;
            return this.endProgram();
          case Op.SAY: {
            const text = toText(stack[--sp], lim);
            stack[sp] = null;
            f.pc = pc + 1;
            this.sp = sp;
            this.effectPc = ip;
            return this.effect({ kind: 'say', seq: 0, text, recipient: 'user', at: this.context({ ...f, pc: ip }) }, 'none');
          }
          case Op.ASK: {
            f.pc = pc + 2;
            this.sp = sp;
            const prompt = consts[code[pc + 1]!] as string;
            const variable = this.storeTarget(f, pc + 2);
            this.effectPc = ip;
            return this.effect({ kind: 'ask', seq: 0, prompt, variable, at: this.context({ ...f, pc }) }, 'text');
          }
          case Op.NL_STEP:
          case Op.NL_VALUE:
          case Op.NL_COND: {
            const op = code[pc] as Op;
            const info = f.code.nl[code[pc + 1]!]!;
            let next = pc + 2;
            const fused: NLInfo[] = [];
            // Steps of an enforced procedure each get their own conversation (their own contract).
            if (op === Op.NL_STEP && this.fuse && f.plan === undefined && this.stateTriggers.length === 0 && this.nlTriggers.length === 0) {
              // Consecutive natural-language steps with nothing in between run in one model call.
              while (code[next] === Op.STEP && code[next + 2] === Op.NL_STEP && this.steps + fused.length + 1 <= this.maxSteps) {
                fused.push(f.code.nl[code[next + 3]!]!);
                next += 4;
              }
              this.steps += fused.length;
            }
            f.pc = next;
            this.sp = sp;
            const mode = op === Op.NL_STEP ? 'step' : op === Op.NL_VALUE ? 'value' : 'cond';
            this.effectPc = ip;
            return this.effect(
              { kind: 'nl', seq: 0, mode, info, fused, vars: this.visibleVars(f, info), at: this.context({ ...f, pc }) },
              mode === 'step' ? 'none' : mode === 'cond' ? 'bool' : 'value',
            );
          }
          case Op.PLAN_BEGIN: {
            const plan = this.plans[f.plan!]!;
            const k = code[pc + 1]!;
            f.pc = pc;
            this.sp = sp;
            if (completedEarly(this, f, k)) {
              pc = code[pc + 2]!;
              break;
            }
            const r = beginStep(plan, f.code.plan!, k, this.clock);
            if (typeof r === 'object') {
              abandonPlan(plan, this.clock);
              throw this.error('contract-violation', r.message);
            }
            pc = r === 'skip' ? code[pc + 2]! : pc + 3;
            break;
          }
          case Op.PLAN_END:
            f.pc = pc;
            this.sp = sp;
            closePlanStep(this, f, code[pc + 1]!);
            pc += 2;
            break;
          case Op.PLAN_CHECK: {
            f.pc = pc;
            this.sp = sp;
            const plan = this.plans[f.plan!]!;
            if (plan.current >= 0) closePlanStep(this, f, plan.current);
            const v = finishPlan(plan, this.clock);
            if (v) throw this.error('plan-incomplete', `${f.code.name}: ${v.message}`);
            pc += 1;
            break;
          }
          default:
            throw this.error('type-error', `invalid opcode ${String(code[pc])} at ${pc}`);
        }
      }
    } catch (err) {
      const top = this.frames[this.frames.length - 1];
      if (top === f) f.pc = ip;
      this.sp = sp;
      this.status = 'failed';
      if (err instanceof PbRuntimeError) throw err;
      if (err instanceof VMFault) throw new PbRuntimeError(err.code, err.message, this.callStack());
      if (err instanceof VMLimitError) throw new PbRuntimeError('limit-exceeded', err.message, this.callStack());
      if (err instanceof VMZeroDivision) throw new PbRuntimeError('division-by-zero', err.message, this.callStack());
      if (err instanceof VMIndexError) throw new PbRuntimeError('index-error', err.message, this.callStack());
      if (err instanceof VMKeyError) throw new PbRuntimeError('key-error', err.message, this.callStack());
      if (err instanceof VMValueError) throw new PbRuntimeError('value-error', err.message, this.callStack());
      if (err instanceof VMTypeError) throw new PbRuntimeError('type-error', err.message, this.callStack());
      if (err instanceof RangeError) {
        // A value larger than V8 can hold (the limits should have stopped it first).
        if (/^Invalid (string|array) length|allocation failed/.test(err.message)) throw new PbRuntimeError('limit-exceeded', `value too large: ${err.message}`, this.callStack());
        throw new PbRuntimeError('stack-overflow', `internal limit reached: ${err.message}`, this.callStack());
      }
      throw err;
    }
  }
}
