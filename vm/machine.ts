// The PBAsm stack machine. `run()` executes instructions synchronously until the program
// needs something from outside (output, input, a tool, the model) or ends, and returns
// that Effect. The caller performs it and calls `resume(result)` (or `fail(...)`).
// All mutable state lives in plain fields so that a snapshot can capture it exactly.
import { Op } from './pbasm/opcodes.js';
import type { CallSite, CodeObject, NLInfo, PlanSpec, Program, TriggerInfo, Value } from './pbasm/program.js';
import { abandonPlan, beginStep, closeStep, countIteration, decideTool, recordTool, setModelResult, finishPlan, newPlan, stepProblems, toolDone, type PlanExecution, type ToolVerdict, type Violation, type ViolationKind } from './plan.js';
import { NATIVES } from './pbasm/natives-table.js';
import { NATIVE_IMPLS } from '../stdlib/natives.js';
import type { Effect, EffectContext } from './effects.js';
import { PbRuntimeError, type RuntimeErrorCode, type StackEntry } from './errors.js';
import { ByteBudget, checkNewContainer, checkStringLength, checkValue, resolveLimits, VMLimitError, type Limits } from './limits.js';
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

export interface Frame {
  code: CodeObject;
  pc: number;
  /** undefined marks a local that has not been assigned. */
  locals: (RuntimeValue | undefined)[];
  /** Operand stack height when the frame was entered. */
  base: number;
  /** Result is dropped on return (trigger playbooks). */
  discard: boolean;
  /** Set for a frame started by a state trigger: "agent.playbook.T1". */
  trigger?: string;
  /** Started by the host (a playbook the model called): its return goes back to the host. */
  hostReturn?: boolean;
  /** The effect the host was performing when it started this frame; restored when it ends. */
  hostResume?: { pending: Pending; effectPc: number };
  /** Arguments a generated playbook was called with, so a regenerated version can be rerun with them. */
  args?: RuntimeValue[];
  /** For an enforced procedure: index of this call's plan in Machine.plans. */
  plan?: number;
  /** Model context: this frame's recent history (see vm/model/context.ts). */
  log?: string[];
  /** Log entries folded away by compaction, and a one-line summary of them. */
  folded?: number;
  summary?: string;
}

export interface MachineOptions {
  maxSteps?: number;
  maxDepth?: number;
  runId?: string;
  /** Keep per-frame context logs (calls and returns) for the model. */
  contextLogs?: boolean;
  /** Run consecutive natural-language steps in one model call. */
  fuse?: boolean;
  /** Arguments for entry playbooks, by parameter name (pb run --arg name=value). */
  entryArgs?: Record<string, Value>;
  /** Bounds on the size and nesting of values (vm/limits.ts); unset ones take the defaults. */
  limits?: Partial<Limits>;
}

export type MachineStatus = 'ready' | 'running' | 'waiting' | 'finished' | 'halted' | 'failed';

interface StateTrigger {
  key: string;
  agent: string;
  playbook: CodeObject;
  info: TriggerInfo;
}

const STACK_SIZE = 1 << 16;

/** A runtime failure raised inside the dispatch loop; converted to PbRuntimeError (with the
 * call stack at the failing instruction) by the loop's catch. Not an Error: no stack capture. */
class VMFault {
  constructor(
    readonly code: RuntimeErrorCode,
    readonly message: string,
  ) {}
}
/** Effects that leave a value on the stack when resumed. */
export type Pending = 'none' | 'value' | 'bool' | 'text' | 'triggers';

export class Machine {
  readonly program: Program;
  readonly frames: Frame[] = [];
  readonly stack: RuntimeValue[] = new Array(STACK_SIZE);
  sp = 0;
  /** Agent state ($vars), per agent. */
  readonly state: Record<string, Record<string, RuntimeValue>> = {};
  readonly artifacts: Record<string, Value> = {};
  /** Effects issued so far; an effect's sequence number is its identity across replays. */
  seq = 0;
  /** Effect numbers a resume jumps over (from → to): failed conversations retried afresh (vm/durable/retry.ts). */
  seqSkips: ReadonlyMap<number, number> = new Map();
  /** Steps executed (for --max-steps). */
  steps = 0;
  /** run() returns a 'pause' effect at the first step boundary once `steps` reaches this (the host's chance to stop). */
  pauseAtStep = Number.POSITIVE_INFINITY;
  status: MachineStatus = 'ready';
  maxSteps: number;
  maxDepth: number;
  runId: string;
  /** Begin playbooks still to run, in declaration order. */
  entry: Array<{ agent: string; name: string }> = [];
  entryIndex = 0;
  /** Last truth value of each state trigger, so it fires only when the condition turns true. */
  triggerLast: Record<string, boolean> = {};
  stateDirty = false;
  result: Value = null;

  /** Set on a state change or user input; natural-language triggers are judged at the next step. */
  nlEvent = false;
  /** Plans of the enforced procedures called so far (vm/plan.ts), oldest first; `pb audit` prints them. */
  readonly plans: PlanExecution[] = [];
  /**
   * Time of the latest effect (ISO 8601), set by the runner from the journal on replay, so
   * plan timestamps come out the same when a run is resumed.
   */
  clock = new Date(0).toISOString();
  /** Steps run inside generated playbooks, against their own budget. */
  generatedSteps = 0;
  generatedStepBudget = 10_000;
  contextLogs: boolean;
  fuse: boolean;
  entryArgs: Record<string, Value>;
  readonly limits: Limits;

  private readonly codeIndex = new Map<string, CodeObject>();
  private readonly triggers: StateTrigger[] = [];
  private readonly nlTriggers: StateTrigger[] = [];
  private pending: Pending = 'none';
  /** Instruction that issued the pending effect, for errors reported by the host. */
  private effectPc = 0;
  private checkingTriggers = false;

  constructor(program: Program, options: MachineOptions = {}) {
    this.program = program;
    this.maxSteps = options.maxSteps ?? Number.POSITIVE_INFINITY;
    this.maxDepth = options.maxDepth ?? 1000;
    this.runId = options.runId ?? 'run';
    this.contextLogs = options.contextLogs ?? false;
    this.fuse = options.fuse ?? true;
    this.entryArgs = options.entryArgs ?? {};
    this.limits = resolveLimits(options.limits);
    for (const agent of program.agents) {
      this.state[agent.name] = {};
      for (const pb of agent.playbooks) {
        this.codeIndex.set(`${agent.name}.${pb.name}`, pb);
        for (const t of pb.triggers) {
          const key = `${agent.name}.${pb.name}.${t.id}`;
          if (t.kind === 'state' && t.cond) this.triggers.push({ key, agent: agent.name, playbook: pb, info: t });
          if (t.kind === 'nl' && (pb.kind === 'markdown' || pb.kind === 'react' || pb.kind === 'raw')) this.nlTriggers.push({ key, agent: agent.name, playbook: pb, info: t });
        }
      }
    }
  }

  /** Chooses entry playbooks: every begin trigger in declaration order, else Main, else the only playbook. */
  start(): void {
    const begins: Array<{ agent: string; name: string }> = [];
    for (const a of this.program.agents) {
      for (const pb of a.playbooks) if (pb.triggers.some((t) => t.kind === 'begin')) begins.push({ agent: a.name, name: pb.name });
    }
    if (begins.length === 0) {
      const all = this.program.agents.flatMap((a) => a.playbooks.map((pb) => ({ agent: a.name, pb })));
      const main = all.find((x) => x.pb.name === 'Main') ?? (all.filter((x) => x.pb.kind === 'markdown').length === 1 ? all.find((x) => x.pb.kind === 'markdown') : undefined);
      if (main) begins.push({ agent: main.agent, name: main.pb.name });
    }
    this.entry = begins;
    this.entryIndex = 0;
    this.status = 'running';
  }

  lookup(agent: string, name: string): CodeObject | undefined {
    return this.codeIndex.get(`${agent}.${name}`);
  }

  /** Code objects linked at run time (generated playbooks); they are part of every snapshot. */
  readonly linked: CodeObject[] = [];

  /** Makes a code object callable by agent and name. */
  link(code: CodeObject): void {
    this.codeIndex.set(`${code.agent}.${code.name}`, code);
  }

  /** Links a playbook generated during the run. */
  linkGenerated(code: CodeObject): void {
    this.linked.push(code);
    this.link(code);
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
      case 'triggers':
        this.fireNLTriggers(Array.isArray(result) ? result.filter((x): x is string => typeof x === 'string') : []);
        break;
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

  /** Where each frame stands; callers are attributed to the step of their CALL. */
  callStack(): StackEntry[] {
    const last = this.frames.length - 1;
    return this.frames.map((f, i) => {
      // While an effect is pending, the top frame is at the instruction that issued it.
      const at = i === last ? (this.status === 'waiting' ? this.effectPc : f.pc) : f.pc - 1;
      const step = f.code.steps[f.code.stepOf[Math.max(0, Math.min(at, f.code.stepOf.length - 1))] ?? -1];
      return {
        agent: f.code.agent,
        playbook: f.code.name,
        step: step?.id ?? '--',
        file: this.sourcePath(f.code, step?.file),
        line: step?.line ?? f.code.line,
        col: step?.col ?? 1,
      };
    });
  }

  private context(f: Frame): EffectContext {
    const step = f.code.steps[f.code.stepOf[f.pc] ?? -1];
    return {
      agent: f.code.agent,
      playbook: f.code.name,
      step: step?.id ?? '--',
      line: step?.line ?? f.code.line,
      file: this.sourcePath(f.code, step?.file),
    };
  }

  /** The file a code object's lines refer to; generated playbooks have their own source. */
  private sourcePath(code: CodeObject, file: number | undefined): string {
    // A generated source's playbooks share its path; each new version of it has its own.
    if (code.metadata.generated === true) return `<generated>/${typeof code.metadata.unit === 'string' ? code.metadata.unit : code.name}.pb`;
    return this.program.files[file ?? code.file]?.path ?? '?';
  }

  private error(code: RuntimeErrorCode, message: string): VMFault {
    return new VMFault(code, message);
  }

  /** Pushes a frame for a call; arguments are on the stack (positional, then keyword values). */
  private enter(target: CodeObject, argc: number, kwnames: readonly string[], discard: boolean, trigger?: string): void {
    if (this.frames.length >= this.maxDepth) {
      throw this.error('stack-overflow', `call depth limit of ${this.maxDepth} exceeded calling '${target.name}' (runaway recursion?)`);
    }
    const params = target.params;
    const locals: (RuntimeValue | undefined)[] = new Array(target.locals.length);
    const positional = argc - kwnames.length;
    const base = this.sp - argc;
    if (positional > params.length) {
      throw this.error('call-error', `'${target.name}' takes ${params.length} argument${params.length === 1 ? '' : 's'}, got ${positional}`);
    }
    for (let i = 0; i < positional; i++) locals[i] = this.stack[base + i];
    for (let k = 0; k < kwnames.length; k++) {
      const slot = params.findIndex((p) => p.name === kwnames[k]);
      if (slot < 0) throw this.error('call-error', `'${target.name}' has no parameter '${kwnames[k]}'`);
      if (locals[slot] !== undefined) throw this.error('call-error', `argument '${kwnames[k]}' given twice in call to '${target.name}'`);
      locals[slot] = this.stack[base + positional + k];
    }
    for (let i = 0; i < params.length; i++) {
      if (locals[i] !== undefined) continue;
      const p = params[i]!;
      if (!p.hasDefault) throw this.error('call-error', `missing argument '${p.name}' in call to '${target.name}'`);
      locals[i] = structuredCloneValue(p.default ?? null);
    }
    for (let i = base; i < this.sp; i++) this.stack[i] = null;
    this.sp = base;
    const frame: Frame = { code: target, pc: 0, locals, base, discard, ...(trigger ? { trigger } : {}) };
    // Values are never mutated in place, so keeping references is a faithful copy.
    if (target.metadata.generated === true) frame.args = locals.slice(0, params.length) as RuntimeValue[];
    if (target.plan !== undefined) frame.plan = this.plans.push(newPlan(target.agent, target.name, target.metadata, target.plan, this.clock)) - 1;
    this.frames.push(frame);
  }

  /** Starts the next entry playbook; false when none is left. */
  private startNextEntry(): boolean {
    while (this.entryIndex < this.entry.length) {
      const e = this.entry[this.entryIndex++]!;
      const code = this.lookup(e.agent, e.name);
      if (!code) continue;
      if (code.kind === 'foreign') {
        throw new PbRuntimeError('foreign-call', `cannot run python playbook '${code.name}': pbvm does not execute python code blocks`, [
          { agent: code.agent, playbook: code.name, step: '--', file: this.program.files[code.file]?.path ?? '?', line: code.line, col: 1 },
        ]);
      }
      if (code.kind === 'code') {
        // A code playbook as entry point: call it like a tool with no arguments.
        this.frames.push({ code: ENTRY_SHIM, pc: 0, locals: [], base: this.sp, discard: true });
        this.stack[this.sp++] = new PlaybookRef(code.agent, code.name);
        return true;
      }
      // Entry parameters come from --arg; one that is not given is None, as a caller would leave it.
      const given = (n: string) => Object.prototype.hasOwnProperty.call(this.entryArgs, n);
      const names = code.params.filter((p) => given(p.name) || !p.hasDefault).map((p) => p.name);
      for (const n of names) this.stack[this.sp++] = given(n) ? this.entryArgs[n]! : null;
      try {
        for (const n of names) if (given(n)) checkValue(this.entryArgs[n], this.limits, `argument '${n}' holds`);
        this.enter(code, names.length, names, true);
      } catch (err) {
        if (err instanceof VMFault) throw new PbRuntimeError(err.code, err.message, this.callStack());
        if (err instanceof VMLimitError) throw new PbRuntimeError('limit-exceeded', err.message, [{ agent: code.agent, playbook: code.name, step: '--', file: this.program.files[code.file]?.path ?? '?', line: code.line, col: 1 }]);
        throw err;
      }
      return true;
    }
    return false;
  }

  run(): Effect {
    if (this.status === 'ready') this.start();
    if (this.status === 'finished' || this.status === 'halted') return { kind: 'end', status: this.status, value: this.result };
    this.status = 'running';
    if (this.frames.length === 0 && !this.startNextEntry()) {
      this.status = 'finished';
      return { kind: 'end', status: 'finished', value: this.result };
    }
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
            const vars = this.state[f.code.agent]!;
            const v = vars[name];
            if (v === undefined) throw this.error('undefined-variable', `variable '$${name}' is not set`);
            stack[sp++] = v;
            pc += 2;
            break;
          }
          case Op.STORE_STATE:
            this.state[f.code.agent]![consts[code[pc + 1]!] as string] = stack[--sp]!;
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
            if (this.stateDirty && this.triggers.length > 0) {
              f.pc = pc;
              this.sp = sp;
              if (this.fireTriggers()) {
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
              const candidates = this.nlTriggerCandidates(f);
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
            if (this.stateDirty && this.triggers.length > 0 && !this.checkingTriggers) {
              f.pc = pc;
              this.sp = sp;
              if (this.fireTriggers()) {
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
              this.status = 'waiting';
              // Back to the effect the host is still performing (its result is still owed).
              if (done.hostResume) {
                this.pending = done.hostResume.pending;
                this.effectPc = done.hostResume.effectPc;
              }
              return { kind: 'host-return', value: toPlain(value, new ByteBudget(lim.stateBytes, `the value ${done.code.name} returns holds`)) };
            }
            if (this.contextLogs && this.frames.length > 0 && !done.discard) this.logReturn(done, value);
            if (this.checkingTriggers && done.code.kind === 'markdown' && this.frames.length === 0) {
              this.sp = sp;
              return { kind: 'end', status: 'finished', value: toPlain(value, new ByteBudget(lim.stateBytes, 'the result holds')) };
            }
            if (!done.discard) stack[sp++] = value;
            if (this.frames.length === 0) {
              this.result = toPlain(value, new ByteBudget(lim.stateBytes, `the value ${done.code.name} returns holds`));
              this.sp = sp;
              if (!this.startNextEntry()) {
                this.status = 'finished';
                return { kind: 'end', status: 'finished', value: this.result };
              }
              sp = this.sp;
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
            if (this.plans.length) this.finishPlansOnHalt();
            this.status = 'halted';
            return { kind: 'end', status: 'halted', value: null };
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
            if (op === Op.NL_STEP && this.fuse && f.plan === undefined && this.triggers.length === 0 && this.nlTriggers.length === 0) {
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
            if (this.completedEarly(f, k)) {
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
            this.closePlanStep(f, code[pc + 1]!);
            pc += 2;
            break;
          case Op.PLAN_CHECK: {
            f.pc = pc;
            this.sp = sp;
            const plan = this.plans[f.plan!]!;
            if (plan.current >= 0) this.closePlanStep(f, plan.current);
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

  /** The variable an ASK stores into (the STORE that follows it), for prompts and journals. */
  private storeTarget(f: Frame, pc: number): string {
    const op = f.code.code[pc] as Op;
    const arg = f.code.code[pc + 1]!;
    if (op === Op.STORE_STATE) return `$${String(f.code.consts[arg])}`;
    if (op === Op.STORE_LOCAL) return f.code.locals[arg] ?? '?';
    return '?';
  }

  private effect(e: Exclude<Effect, { kind: 'end' | 'host-return' | 'pause' }>, pending: Pending): Effect {
    // effectPc was set by the dispatch loop to the instruction that asked for this effect.
    e.seq = this.nextSeq();
    if (e.kind === 'tool') e.callId = `${this.runId}:${e.seq}`;
    this.pending = pending;
    this.status = 'waiting';
    return e;
  }

  /** Variables an NL step may read: the ones it mentions, from locals and agent state. */
  visibleVars(f: Frame, info: NLInfo): Record<string, Value> {
    const out: Record<string, Value> = {};
    const vars = this.state[f.code.agent]!;
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

  /** Performs a CALL: pushes a frame (returns undefined) or returns an effect. */
  private call(site: CallSite, f: Frame, returnPc: number): Effect | undefined {
    const argc = site.argc;
    if (site.kind === 'builtin') return this.builtin(site, f, returnPc);
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
    this.enter(target, argc, site.kwnames, false);
    f.pc = returnPc;
    return undefined;
  }

  private popArgs(argc: number, kwnames: readonly string[], callee: string): { args: Value[]; kwargs: Record<string, Value> } {
    const base = this.sp - argc;
    const positional = argc - kwnames.length;
    const args: Value[] = [];
    const kwargs: Record<string, Value> = {};
    // Arguments leave the VM (journal, tool, model): together they stay within state-bytes.
    const budget = new ByteBudget(this.limits.stateBytes, `the arguments of '${callee}' hold`);
    for (let i = 0; i < positional; i++) args.push(toPlain(this.stack[base + i], budget));
    for (let k = 0; k < kwnames.length; k++) kwargs[kwnames[k]!] = toPlain(this.stack[base + positional + k], budget);
    for (let i = base; i < this.sp; i++) this.stack[i] = null;
    this.sp = base;
    return { args, kwargs };
  }

  private toolEffect(name: string, argc: number, kwnames: readonly string[], f: Frame, returnPc: number, block?: { agent: string; index: number }): Effect {
    const { args, kwargs } = this.popArgs(argc, kwnames, name);
    // An enforced procedure judges the call before it runs; a rejected one never runs.
    const verdict = this.judgeTool(name, kwnames.length ? { args, kwargs } : args, this.peekSeq(), 'code');
    if (verdict && !verdict.ok) {
      // Code cannot recover from a rejection the way the model can: the procedure stops here.
      abandonPlan(this.plans[verdict.plan]!, this.clock);
      throw this.error('contract-violation', `call to '${name}' rejected: ${verdict.violation.message}`);
    }
    const ctx = this.context(f);
    f.pc = returnPc;
    return this.effect({ kind: 'tool', seq: 0, callId: '', name, args, kwargs, ...(block ? { block } : {}), at: ctx }, 'value');
  }

  private builtin(site: CallSite, f: Frame, returnPc: number): Effect | undefined {
    const { args, kwargs } = this.popArgs(site.argc, site.kwnames, site.name);
    const named = (i: number, name: string): Value | undefined => (name in kwargs ? kwargs[name] : args[i]);
    const ctx = this.context(f);
    f.pc = returnPc;
    switch (site.name) {
      case 'Say': {
        const two = args.length + Object.keys(kwargs).length >= 2;
        const message = two ? named(1, 'message') : named(0, 'message') ?? named(0, 'recipient');
        const recipient = two ? toText(named(0, 'recipient') ?? 'user') : 'user';
        return this.effect({ kind: 'say', seq: 0, text: toText(message ?? null), recipient, at: ctx }, 'none');
      }
      case 'Ask':
        return this.effect({ kind: 'ask', seq: 0, prompt: toText(named(0, 'question') ?? ''), variable: '', at: ctx }, 'text');
      case 'WaitForMessage':
        return this.effect({ kind: 'ask', seq: 0, prompt: '', variable: '', at: ctx }, 'text');
      case 'EndProgram':
        if (this.plans.length) this.finishPlansOnHalt();
        this.status = 'halted';
        return { kind: 'end', status: 'halted', value: null };
      case 'SaveArtifact': {
        const name = toText(named(0, 'name') ?? null);
        this.artifacts[name] = { summary: named(1, 'summary') ?? null, content: named(2, 'content') ?? null };
        this.stack[this.sp++] = `Artifact[${name}]`;
        return undefined;
      }
      case 'LoadArtifact': {
        const name = toText(named(0, 'name') ?? null).replace(/^Artifact\[(.*)\]$/, '$1');
        const a = this.artifacts[name];
        if (a === undefined) throw this.error('call-error', `no artifact named '${name}'`);
        this.stack[this.sp++] = (a as Record<string, Value>).content ?? null;
        return undefined;
      }
      case 'Fail':
        // An explicit failure: inside a generated playbook it asks for a corrected version.
        throw this.error('failed', toText(named(0, 'reason') ?? 'the playbook reported a failure'));
      case 'GeneratePlaybook':
        return this.effect({ kind: 'generate', seq: 0, goal: toText(named(0, 'goal') ?? ''), name: (named(1, 'name') as string) ?? null, at: ctx }, 'value');
      default:
        throw this.error('unsupported', `builtin '${site.name}' is not supported by this VM`);
    }
  }

  /** Next effect sequence number, for effects the host performs inside a natural-language step. */
  nextSeq(): number {
    this.seq = this.peekSeq();
    return this.seq;
  }

  /** The number the next effect will get. */
  peekSeq(): number {
    let next = this.seq + 1;
    if (this.seqSkips.size === 0) return next;
    // Each skip leads strictly forward (checked when the journal is read), so this ends.
    for (let to = this.seqSkips.get(next); to !== undefined && to > next; to = this.seqSkips.get(next)) next = to;
    return next;
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
      this.state[frame.code.agent]![bare] = value;
      this.stateDirty = true;
      this.nlEvent = true;
    }
  }

  /** The run stops for good (an error no resume can get past): the procedures still running fail. */
  abandonPlans(why: string): void {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const p = this.frames[i]!.plan;
      if (p !== undefined && this.plans[p]!.status === 'running') abandonPlan(this.plans[p]!, this.clock, why);
    }
  }

  /**
   * The program ends (End program) inside enforced procedures: each one's open step is judged
   * as at its end, and the plan as at a return (required steps not done make it failed).
   */
  private finishPlansOnHalt(): void {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i]!;
      if (f.plan === undefined || this.plans[f.plan]!.status !== 'running') continue;
      const plan = this.plans[f.plan]!;
      const k = plan.current;
      if (k >= 0 && plan.steps[k]!.status === 'in_progress') {
        const problems = stepProblems(plan, f.code.plan!, k, this.clock, (code, result) => this.predicate(code, result));
        closeStep(plan, k, problems.length ? 'failed' : 'completed', this.clock, problems);
      }
      finishPlan(plan, this.clock);
    }
  }

  /**
   * Judges a tool call against every enforced procedure on the call stack: each one's current
   * step must accept it (an inner procedure, or a recursive call, never widens an outer one's
   * contract). A rejection is recorded on the plan that rejected it (the innermost that did);
   * an accepted call on every plan. Undefined when no procedure is running.
   */
  judgeTool(name: string, args: Value, seq: number, by: 'code' | 'model'): (ToolVerdict & { plan: number }) | undefined {
    const governing: Frame[] = [];
    for (let i = this.frames.length - 1; i >= 0; i--) if (this.frames[i]!.plan !== undefined) governing.push(this.frames[i]!);
    if (governing.length === 0) return undefined;
    const decisions = governing.map((f) => decideTool(this.plans[f.plan!]!, f.code.plan!, name, this.clock));
    const refused = decisions.findIndex((d) => !d.ok);
    if (refused >= 0) {
      const f = governing[refused]!;
      return { ...recordTool(this.plans[f.plan!]!, f.code.plan!, decisions[refused]!, name, args, seq, by, this.clock), plan: f.plan! };
    }
    governing.forEach((f, i) => recordTool(this.plans[f.plan!]!, f.code.plan!, decisions[i]!, name, args, seq, by, this.clock));
    return { ok: true, step: (decisions[0] as { step: number }).step, plan: governing[0]!.plan! };
  }

  /** A tool call judged by the plan finished (on replay too, so the plan is rebuilt exactly). */
  planToolDone(seq: number, result: Value | undefined, error?: string): void {
    for (let i = this.plans.length - 1; i >= 0; i--) {
      const p = this.plans[i]!;
      if (p.status === 'running') toolDone(p, seq, result, error);
    }
  }

  /** The step of an enforced procedure that frame `f` is running, if any. */
  planStepOf(f: Frame): { plan: PlanExecution; spec: PlanSpec; k: number } | undefined {
    if (f.plan === undefined || !f.code.plan) return undefined;
    const plan = this.plans[f.plan]!;
    return plan.current >= 0 ? { plan, spec: f.code.plan, k: plan.current } : undefined;
  }

  /**
   * Counts a model turn against max_iterations of every plan whose step is running (the turn is
   * part of that step); when one has none left, returns the error that stops its procedure.
   */
  planIteration(): PbRuntimeError | undefined {
    const counting = this.frames.filter((f) => f.plan !== undefined && this.plans[f.plan]!.status === 'running' && this.plans[f.plan]!.current >= 0);
    for (const f of counting) {
      const plan = this.plans[f.plan!]!;
      if (plan.iterations >= plan.maxIterations) return this.planExhausted(f, countIteration(plan, this.clock)!);
    }
    for (const f of counting) countIteration(this.plans[f.plan!]!, this.clock);
    return undefined;
  }

  /**
   * max_iterations is spent: frame f's current step fails with the violation, its plan fails,
   * and the returned error (step-failed) stops the run, since no step of the plan may ask again.
   */
  planExhausted(f: Frame, violation: Violation): PbRuntimeError {
    const at = this.planStepOf(f)!;
    const ex = at.plan.steps[at.k]!;
    closeStep(at.plan, at.k, 'failed', this.clock, [violation.message], 'max-iterations');
    at.plan.status = 'failed';
    at.plan.finishedAt = this.clock;
    return new PbRuntimeError('step-failed', `${ex.required ? 'required' : 'optional'} step '${ex.id}' of ${f.code.name} failed: ${violation.message}`, this.callStack());
  }

  /** The result the model gave for frame f's current plan step. */
  planSetResult(f: Frame, result: Value): void {
    const at = this.planStepOf(f);
    if (at) setModelResult(at.plan, at.k, result);
  }

  /** Ends frame f's current plan step (the model finished, skipped or ran out of turns). */
  planClose(f: Frame, status: 'completed' | 'skipped' | 'failed', problems: string[], kind?: ViolationKind): void {
    const at = this.planStepOf(f);
    if (at) closeStep(at.plan, at.k, status, this.clock, problems, kind);
  }

  /** What keeps frame f's current plan step from completing (empty: it may complete). */
  planStepProblems(f: Frame): string[] {
    const at = this.planStepOf(f);
    if (!at) return [];
    return stepProblems(at.plan, at.spec, at.k, this.clock, (code, result) => this.predicate(code, result));
  }

  /**
   * Closes plan step k of frame f at its end (PLAN_END, or a return inside it): completed when
   * nothing is missing; an optional step that made no call is skipped; otherwise failed, and a
   * failed required step stops the playbook.
   */
  private closePlanStep(f: Frame, k: number): void {
    const plan = this.plans[f.plan!]!;
    const spec = f.code.plan!;
    const ex = plan.steps[k]!;
    if (ex.status === 'in_progress') {
      const problems = stepProblems(plan, spec, k, this.clock, (code, result) => this.predicate(code, result));
      const declined = !spec.steps[k]!.required && ex.toolCalls.every((c) => c.outcome === 'rejected');
      closeStep(plan, k, problems.length === 0 ? 'completed' : declined ? 'skipped' : 'failed', this.clock, problems);
    } else if (plan.current === k) plan.current = -1;
    if (ex.status === 'failed' && spec.steps[k]!.required) {
      plan.status = 'failed';
      plan.finishedAt = this.clock;
      const why = ex.violations[ex.violations.length - 1]?.message ?? 'it did not complete';
      throw new VMFault('step-failed', `required step '${ex.id}' of ${f.code.name} failed: ${why}`);
    }
  }

  /**
   * Without strict_sequence, a step can be done before the machine reaches it (its tools ran
   * for it during an earlier step). Then it completes now and is not run again.
   */
  private completedEarly(f: Frame, k: number): boolean {
    const plan = this.plans[f.plan!]!;
    const ex = plan.steps[k]!;
    if (plan.strictSequence || ex.status !== 'in_progress' || !ex.toolCalls.some((c) => c.outcome === 'ok')) return false;
    if (stepProblems(plan, f.code.plan!, k, this.clock, (code, result) => this.predicate(code, result)).length) return false;
    closeStep(plan, k, 'completed', this.clock);
    return true;
  }

  /** Runs a step's predicate on its result: true or false, or the error it raised. */
  private predicate(code: CodeObject, result: Value): { value: boolean } | { error: string } {
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
    const dot = name.indexOf('.');
    const agent = dot > 0 ? name.slice(0, dot) : from.code.agent;
    const bare = dot > 0 ? name.slice(dot + 1) : name;
    const target = this.lookup(agent, bare);
    if (!target) return false;
    if (target.agent !== from.code.agent && !target.public) throw new PbRuntimeError('not-public', `playbook '${target.agent}.${target.name}' is not public`, this.callStack());
    if (target.kind === 'foreign') throw new PbRuntimeError('foreign-call', `cannot call python playbook '${target.name}'`, this.callStack());
    if (target.kind === 'code') return false;
    const names = Object.keys(args).filter((k) => target.params.some((p) => p.name === k.replace(/^\$/, '')));
    for (const k of names) this.stack[this.sp++] = args[k]!;
    try {
      this.enter(target, names.length, names.map((k) => k.replace(/^\$/, '')), false);
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
      const p = this.frames[i]!.plan;
      if (p !== undefined && this.plans[p]!.status === 'running') abandonPlan(this.plans[p]!, this.clock, `the call of ${this.frames[i]!.code.name} was abandoned (its playbook failed)`);
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
      this.enter(target, args.length, [], old.discard, old.trigger);
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

  private logReturn(done: Frame, value: RuntimeValue): void {
    const caller = this.frames[this.frames.length - 1]!;
    // Previews: the entry is clipped to 300 characters, so no value is copied out whole.
    const args = done.code.params.map((p, i) => jsonPreview(done.locals[i], 300)).join(', ');
    const entry = `called ${done.code.name}(${args}) -> ${jsonPreview(value, 300)}`;
    (caller.log ??= []).push(entry.length > 300 ? `${entry.slice(0, 299)}…` : entry);
    if (caller.log.length > 200) caller.log.splice(0, caller.log.length - 200);
  }

  /** Natural-language triggers of the current agent that may fire now (not already running). */
  private nlTriggerCandidates(f: Frame): Array<{ key: string; text: string; playbook: string }> {
    if (this.frames.some((fr) => fr.trigger?.startsWith('nl:'))) return [];
    return this.nlTriggers
      .filter((t) => t.agent === f.code.agent && t.playbook !== f.code)
      .map((t) => ({ key: t.key, text: t.info.text, playbook: t.playbook.name }));
  }

  /** Runs the natural-language triggers the model judged to hold, in declaration order. */
  private fireNLTriggers(keys: string[]): void {
    const chosen = this.nlTriggers.filter((t) => keys.includes(t.key));
    for (const t of [...chosen].reverse()) {
      if (this.frames.length >= this.maxDepth) break;
      const required = t.playbook.params.some((p) => !p.hasDefault);
      if (required) continue;
      this.enter(t.playbook, 0, [], true, `nl:${t.key}`);
    }
  }

  /** Evaluates state triggers after a state change; pushes a frame for the first that fires. */
  private fireTriggers(): boolean {
    this.stateDirty = false;
    const agent = this.frames[this.frames.length - 1]!.code.agent;
    for (const t of this.triggers) {
      if (t.agent !== agent) continue;
      const now = this.evaluate(t.info.cond!);
      const before = this.triggerLast[t.key] ?? false;
      this.triggerLast[t.key] = now;
      if (!now || before) continue;
      if (this.frames.some((fr) => fr.trigger === t.key)) continue;
      this.enter(t.playbook, 0, [], true, t.key);
      return true;
    }
    return false;
  }

  /**
   * Runs a side-effect-free code object (a trigger condition, a step predicate) to completion.
   * A trigger condition that reads an unset variable is false; a predicate's errors propagate.
   */
  private evaluate(cond: CodeObject, args?: Value[]): boolean {
    const savedFrames = this.frames.splice(0, this.frames.length);
    const savedSp = this.sp;
    const savedStatus = this.status;
    const savedPending = this.pending;
    this.checkingTriggers = true;
    try {
      const locals: (RuntimeValue | undefined)[] = new Array(cond.locals.length);
      (args ?? []).forEach((a, i) => (locals[i] = a));
      this.frames.push({ code: cond, pc: 0, locals, base: this.sp, discard: false });
      const r = this.run();
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

/** A frame placeholder under a code playbook started as the entry point. */
const ENTRY_SHIM: CodeObject = {
  name: '<entry>',
  title: '<entry>',
  agent: '',
  kind: 'markdown',
  description: '',
  notes: [],
  metadata: {},
  public: false,
  params: [],
  locals: [],
  code: [Op.CALL, 0, Op.RETURN],
  consts: [],
  calls: [{ agent: '', name: '<entry>', kind: 'value', argc: 0, kwnames: [], crossAgent: false }],
  nl: [],
  steps: [],
  stepOf: [-1, -1, -1],
  triggers: [],
  file: 0,
  line: 1,
};

function structuredCloneValue(v: Value): RuntimeValue {
  return typeof v === 'object' && v !== null ? (JSON.parse(JSON.stringify(v)) as Value) : v;
}
