// The machine's state and the operations every part of it shares: the agent instances and
// the registers of the running one, entering frames, issuing effects, and where things
// stand (call stack, step context). The dispatch loop (vm/machine.ts), the scheduler,
// messages, meetings, triggers and builtins build on it; none of them is imported here.
import type { CodeObject, NLInfo, Program, TriggerInfo, Value } from './pbasm/program.js';
import type { Effect, EffectContext } from './effects.js';
import { PbRuntimeError, type RuntimeErrorCode, type StackEntry } from './errors.js';
import { ByteBudget, resolveLimits, type Limits } from './limits.js';
import { newPlan, type PlanExecution } from './plan.js';
import { toPlain, type RuntimeValue } from './values.js';
import { VMFault, type Frame, type Pending } from './frame.js';
import { newInstance, type Instance, type Meeting, type Message } from './instance.js';

export type { Frame, Pending } from './frame.js';

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

export interface StateTrigger {
  key: string;
  agent: string;
  playbook: CodeObject;
  info: TriggerInfo;
}

/** Agent ids count from here, in creation order (Playbooks AI's numbering); meetings from MEETING_BASE. */
export const AGENT_BASE = 1000;
export const MEETING_BASE = 100;

/** A delivered message, for the journal (the runner drains them in order). */
export interface Delivery {
  n: number;
  to: string;
  message: Message;
}

export abstract class MachineCore {
  readonly program: Program;
  /** Registers of the running instance (saved into it when the scheduler switches). */
  frames: Frame[] = [];
  stack: RuntimeValue[] = [];
  sp = 0;
  stateDirty = false;
  /** Set on a state change or user input; natural-language triggers are judged at the next step. */
  nlEvent = false;
  triggerLast: Record<string, boolean> = {};
  protected pending: Pending = 'none';
  /** Instruction that issued the pending effect, for errors reported by the host. */
  protected effectPc = 0;

  /** Every agent instance, in creation order; `current` is the running one. */
  readonly instances: Instance[] = [];
  readonly byId = new Map<string, Instance>();
  current!: Instance;
  /** $state of each agent class's first instance, by class name. */
  readonly state: Record<string, Record<string, RuntimeValue>> = {};
  readonly meetings: Meeting[] = [];
  /** The human participants: `# Name:Human` agents, else the one user ("human"). */
  readonly humans: Array<{ id: string; klass: string }> = [];
  /** Numbers given to the next agent instance and meeting. */
  nextAgent = AGENT_BASE;
  nextMeeting = MEETING_BASE;
  /** Messages delivered so far (each delivery's number), and those the journal has not taken yet. */
  delivered = 0;
  readonly deliveries: Delivery[] = [];
  /** Keep each delivery for the journal (a durable run); otherwise only count them. */
  journalDeliveries = false;
  /** Set when a message reaches an instance waiting in a model step: the dispatch loop yields to the host. */
  wake = false;
  /** The instance whose host call or model-step wait the runner's innermost loop serves (undefined: the top loop). */
  loopOwner: Instance | undefined;
  /** The host performs natural-language steps (a role-only agent then answers its messages). */
  hasModel = false;
  /** Input has ended: a wait for anyone that no agent can answer ends like an idle instance. */
  inputClosed = false;
  /** After an effect of the running instance completes, the turn passes to the next instance. */
  rotate = false;

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
  result: Value = null;
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
  /** Code objects linked at run time (generated playbooks); they are part of every snapshot. */
  readonly linked: CodeObject[] = [];

  /** Code objects by agent, then name: a call looks its callee up without building a key string. */
  private readonly codeIndex = new Map<string, Map<string, CodeObject>>();
  readonly stateTriggers: StateTrigger[] = [];
  readonly nlTriggers: StateTrigger[] = [];
  checkingTriggers = false;

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
      for (const pb of agent.playbooks) {
        this.link(pb);
        for (const t of pb.triggers) {
          const key = `${agent.name}.${pb.name}.${t.id}`;
          if (t.kind === 'state' && t.cond) this.stateTriggers.push({ key, agent: agent.name, playbook: pb, info: t });
          if (t.kind === 'nl' && (pb.kind === 'markdown' || pb.kind === 'react' || pb.kind === 'raw')) this.nlTriggers.push({ key, agent: agent.name, playbook: pb, info: t });
        }
      }
    }
    // Until start() creates the instances, the registers belong to a placeholder.
    this.current = newInstance('', '', []);
    this.loadRegisters(this.current);
  }

  /**
   * Creates the instances of program start: one of every AI agent (a standby agent waits to be
   * created), in declaration order, with its begin playbooks; without any begin trigger in the
   * program, Main (else its only playbook) of the agent that has it.
   */
  start(): void {
    if (this.status !== 'ready') return;
    const agents = this.program.agents.filter((a) => a.kind !== 'human');
    const begins = (name: string) => this.program.agents.find((a) => a.name === name)!.playbooks.filter((pb) => pb.triggers.some((t) => t.kind === 'begin')).map((pb) => pb.name);
    let fallback: { agent: string; name: string } | undefined;
    if (!agents.some((a) => begins(a.name).length > 0)) {
      const all = agents.flatMap((a) => a.playbooks.map((pb) => ({ agent: a.name, pb })));
      const main = all.find((x) => x.pb.name === 'Main') ?? (all.filter((x) => x.pb.kind === 'markdown').length === 1 ? all.find((x) => x.pb.kind === 'markdown') : undefined);
      if (main) fallback = { agent: main.agent, name: main.pb.name };
    }
    for (const a of this.program.agents) {
      if (a.kind === 'human') {
        this.humans.push({ id: `agent ${this.nextAgent++}`, klass: a.name });
        continue;
      }
      if (a.metadata.startup_mode === 'standby') continue;
      const entry = fallback ? (fallback.agent === a.name ? [fallback.name] : []) : begins(a.name);
      this.createInstance(a.name, entry);
    }
    if (this.humans.length === 0) this.humans.push({ id: 'human', klass: 'User' });
    const first = this.instances[0];
    if (first) this.switchTo(first);
    this.status = 'running';
  }

  /** The playbooks that run first: every instance's begin playbooks. */
  entryPlaybooks(): CodeObject[] {
    return this.instances.flatMap((i) => i.entry.map((n) => this.lookup(i.klass, n))).filter((c): c is CodeObject => c !== undefined);
  }

  /** Creates an instance of an agent class; it runs its begin playbooks when its turn comes. */
  createInstance(klass: string, entry?: string[], vars: Record<string, RuntimeValue> = {}): Instance {
    const agent = this.program.agents.find((a) => a.name === klass);
    const begins = entry ?? (agent?.playbooks.filter((pb) => pb.triggers.some((t) => t.kind === 'begin')).map((pb) => pb.name) ?? []);
    const inst = newInstance(`agent ${this.nextAgent++}`, klass, begins, vars);
    this.instances.push(inst);
    this.byId.set(inst.id, inst);
    this.state[klass] ??= inst.vars;
    return inst;
  }

  /** The first instance of an agent class, created on first use (a standby agent, say). */
  instanceOf(klass: string): Instance | undefined {
    for (const i of this.instances) if (i.klass === klass) return i;
    const agent = this.program.agents.find((a) => a.name === klass);
    if (!agent || agent.kind === 'human') return undefined;
    return this.createInstance(klass);
  }

  /** Makes `inst` the running instance: the registers of the current one are saved into it. */
  switchTo(inst: Instance): void {
    if (inst === this.current) return;
    this.saveRegisters();
    this.current = inst;
    this.loadRegisters(inst);
  }

  /** Makes `inst` the running instance without saving the registers (a restored machine). */
  adopt(inst: Instance): void {
    this.current = inst;
    this.loadRegisters(inst);
  }

  saveRegisters(): void {
    const c = this.current;
    c.frames = this.frames;
    c.stack = this.stack;
    c.sp = this.sp;
    c.pending = this.pending;
    c.effectPc = this.effectPc;
    c.stateDirty = this.stateDirty;
    c.nlEvent = this.nlEvent;
    c.triggerLast = this.triggerLast;
  }

  private loadRegisters(inst: Instance): void {
    this.frames = inst.frames;
    this.stack = inst.stack;
    this.sp = inst.sp;
    this.pending = inst.pending;
    this.effectPc = inst.effectPc;
    this.stateDirty = inst.stateDirty;
    this.nlEvent = inst.nlEvent;
    this.triggerLast = inst.triggerLast;
  }

  /** The pending effect of the running instance (the snapshot keeps it). */
  get pendingEffect(): { pending: Pending; effectPc: number } {
    return { pending: this.pending, effectPc: this.effectPc };
  }

  setPendingEffect(pending: Pending, effectPc: number): void {
    this.pending = pending;
    this.effectPc = effectPc;
  }

  lookup(agent: string, name: string): CodeObject | undefined {
    return this.codeIndex.get(agent)?.get(name);
  }

  /** Makes a code object callable by agent and name. */
  link(code: CodeObject): void {
    let byName = this.codeIndex.get(code.agent);
    if (!byName) this.codeIndex.set(code.agent, (byName = new Map()));
    byName.set(code.name, code);
  }

  /** Links a playbook generated during the run. */
  linkGenerated(code: CodeObject): void {
    this.linked.push(code);
    this.link(code);
  }

  /** Where each frame stands; callers are attributed to the step of their CALL. */
  callStack(): StackEntry[] {
    return this.frameStack(this.frames, this.status === 'waiting' ? this.effectPc : undefined);
  }

  /** The call stack of any instance (`pb inspect` shows every one). */
  frameStack(frames: Frame[], topPc?: number): StackEntry[] {
    const last = frames.length - 1;
    return frames.map((f, i) => {
      // While an effect is pending, the top frame is at the instruction that issued it.
      const at = i === last ? (topPc ?? f.pc) : f.pc - 1;
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

  context(f: Frame): EffectContext {
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
  sourcePath(code: CodeObject, file: number | undefined): string {
    // A generated source's playbooks share its path; each new version of it has its own.
    if (code.metadata.generated === true) return `<generated>/${typeof code.metadata.unit === 'string' ? code.metadata.unit : code.name}.pb`;
    return this.program.files[file ?? code.file]?.path ?? '?';
  }

  error(code: RuntimeErrorCode, message: string): VMFault {
    return new VMFault(code, message);
  }

  /** A runtime error at the current instruction, with the call stack. */
  runtimeError(code: RuntimeErrorCode, message: string): PbRuntimeError {
    return new PbRuntimeError(code, message, this.callStack());
  }

  /** The instance a call of `target` runs as: the caller's own, else the target agent's first instance. */
  protected selfFor(target: CodeObject, caller: Frame | undefined): Instance {
    if (caller && this.byId.get(caller.self)?.klass === target.agent) return this.byId.get(caller.self)!;
    if (!caller && this.current.klass === target.agent) return this.current;
    return this.instanceOf(target.agent) ?? this.current;
  }

  /** Pushes a frame for a call; arguments are on the stack (positional, then keyword values). */
  enter(target: CodeObject, argc: number, kwnames: readonly string[], discard: boolean, trigger?: string, self?: Instance): Frame {
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
    const owner = self ?? this.selfFor(target, this.frames[this.frames.length - 1]);
    const frame: Frame = { code: target, pc: 0, locals, base, discard, self: owner.id, vars: owner.vars, ...(trigger ? { trigger } : {}) };
    // Values are never mutated in place, so keeping references is a faithful copy.
    if (target.metadata.generated === true) frame.args = locals.slice(0, params.length) as RuntimeValue[];
    if (target.plan !== undefined) frame.plan = this.plans.push(newPlan(target.agent, target.name, target.metadata, target.plan, this.clock)) - 1;
    this.frames.push(frame);
    return frame;
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

  effect(e: Exclude<Effect, { kind: 'end' | 'host-return' | 'pause' }>, pending: Pending): Effect {
    // effectPc was set by the dispatch loop to the instruction that asked for this effect.
    e.seq = this.nextSeq();
    if (e.kind === 'tool') e.callId = `${this.runId}:${e.seq}`;
    this.pending = pending;
    this.status = 'waiting';
    return e;
  }

  /** Pops a call's arguments (positional, then keyword values) as plain values. */
  popArgs(argc: number, kwnames: readonly string[], callee: string): { args: Value[]; kwargs: Record<string, Value> } {
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

  /** Pushes a value onto an instance's operand stack (the registers, when it is the running one). */
  pushTo(inst: Instance, v: RuntimeValue): void {
    if (inst === this.current) this.stack[this.sp++] = v;
    else inst.stack[inst.sp++] = v;
  }

  /** Runs a step's predicate on its result: true or false, or the error it raised. */
  abstract predicate(code: CodeObject, result: Value): { value: boolean } | { error: string };

  /** Variables an NL step may read: the ones it mentions, from locals and agent state. */
  abstract visibleVars(f: Frame, info: NLInfo): Record<string, Value>;

  /** End program: every instance ends. */
  abstract endProgram(): Effect;

  /** Runs a side-effect-free code object (a trigger condition, a step predicate) to completion. */
  abstract evaluate(cond: CodeObject, args?: Value[], self?: Instance): boolean;
}

export function structuredCloneValue(v: Value): RuntimeValue {
  return typeof v === 'object' && v !== null ? (JSON.parse(JSON.stringify(v)) as Value) : v;
}
