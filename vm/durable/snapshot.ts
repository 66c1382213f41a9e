// Snapshot of a Machine: everything needed to continue exactly where it stood. Runtime-only
// values (unset locals, loop iterators, playbook references) are tagged so that they
// survive msgpack. The envelope adds magic, versions and a checksum.
import { decodeEnvelope, encodeEnvelope, FormatError, type EnvelopeKind } from '../pbasm/envelope.js';
import { verifyCode } from '../pbasm/verify.js';
import type { CodeObject, Program, Value } from '../pbasm/program.js';
import { Machine, type Frame, type MachineStatus, type Pending } from '../machine.js';
import type { Instance } from '../instance.js';
import { LoopIter, PlaybookRef, spendOn, type RuntimeValue } from '../values.js';
import type { PlanExecution } from '../plan.js';
import { ByteBudget, LIMIT_RANGES, scalarBytes, VMLimitError, type Limits } from '../limits.js';
import { StateWriteError } from '../errors.js';

/**
 * Version 3 holds agent instances (each with its stack, inbox and wait), meetings and the
 * scheduler's position; older readers cannot read it (minimum compatible version 3). Version 2
 * named the run the snapshot belongs to (SnapshotFile.runId). This build still reads versions
 * 1 and 2: their single stack becomes the stack of the instance that was running.
 */
export const SNAPSHOT_FORMAT: EnvelopeKind = { magic: 'PBSN', label: 'snapshot', version: 3, minReadable: 1 };
const SNAPSHOT_MIN_COMPATIBLE = 3;

const UNSET = '\u0000unset';
const ITER = '\u0000iter';
const REF = '\u0000ref';

type Encoded = Value;

function enc(v: RuntimeValue | undefined): Encoded {
  if (v === undefined) return { [UNSET]: 1 };
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(enc);
  if (v instanceof LoopIter) return { [ITER]: [v.items.map(enc), v.index] };
  if (v instanceof PlaybookRef) return { [REF]: [v.agent, v.name] };
  const out: Record<string, Encoded> = {};
  for (const k in v) out[k] = enc((v as Record<string, RuntimeValue>)[k]);
  return out;
}

/** Snapshot values nest at most this deep (the nesting limit's ceiling, plus the snapshot's own levels). */
const MAX_DECODE_DEPTH = LIMIT_RANGES.nesting[1] + 16;

function dec(v: Encoded, depth = 0): RuntimeValue | undefined {
  if (typeof v !== 'object' || v === null) return v;
  if (depth > MAX_DECODE_DEPTH) throw new FormatError(`corrupted snapshot: a value is nested more than ${MAX_DECODE_DEPTH} levels deep`);
  if (Array.isArray(v)) return v.map((x) => dec(x, depth + 1)) as RuntimeValue[];
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const k = keys[0]!;
    if (k === UNSET) return undefined;
    if (k === ITER) {
      const [items, index] = v[k] as [Encoded[], number];
      if (!Array.isArray(items) || typeof index !== 'number') throw new FormatError('corrupted snapshot: malformed loop iterator');
      return new LoopIter(items.map((x) => dec(x, depth + 1)) as RuntimeValue[], index);
    }
    if (k === REF) {
      const [agent, name] = v[k] as [string, string];
      return new PlaybookRef(agent, name);
    }
  }
  const out: Record<string, RuntimeValue> = {};
  for (const k of keys) out[k] = dec(v[k]!, depth + 1) as RuntimeValue;
  return out;
}

/** Approximate encoded size of plain data kept in the state as it is (artifacts, plans, logs). */
function measure(v: unknown, budget: ByteBudget, depth = 0): void {
  if (typeof v !== 'object' || v === null) return budget.spend(scalarBytes(v));
  if (depth > MAX_DECODE_DEPTH) throw new VMLimitError('the run state holds data nested too deep to write');
  budget.spend(5);
  if (Array.isArray(v)) for (const x of v) measure(x, budget, depth + 1);
  else
    for (const k in v) {
      budget.spend(5 + k.length);
      measure((v as Record<string, unknown>)[k], budget, depth + 1);
    }
}

export interface FrameState {
  agent: string;
  name: string;
  pc: number;
  locals: Encoded[];
  base: number;
  discard: boolean;
  /** The instance whose $state the frame uses (absent in format 1 and 2: the agent's first one). */
  self?: string;
  trigger?: string;
  /** Arguments of a generated playbook's call (for deviation handling). */
  args?: Encoded[];
  /** Index of the call's plan in MachineState.plans (enforced procedures). */
  plan?: number;
  meeting?: { id: string; host: boolean };
  replyTo?: string;
  hostReturn?: boolean;
  hostResume?: { pending: string; effectPc: number };
  /** Model context of the frame (vm/model/context.ts). */
  log?: string[];
  folded?: number;
  summary?: string;
}

/** One agent instance: its stack, begin playbooks, inbox and wait (format 3). */
/** The plain-data fields of an instance, kept as they are. */
type PlainInstance = Omit<Instance, 'vars' | 'frames' | 'stack' | 'sp' | 'busy' | 'pending'>;

/** One agent instance: its stack, begin playbooks, inbox and wait (format 3). */
export interface InstanceState extends PlainInstance {
  /** Key of its $state in MachineState.state: the class name for a class's first instance, else its id. */
  vars: string;
  frames: FrameState[];
  stack: Encoded[];
  pending: string;
}

export interface MachineState {
  status: MachineStatus;
  /** $state by class name (a class's first instance) or instance id. */
  state: Record<string, Record<string, Encoded>>;
  instances?: InstanceState[];
  /** Id of the running instance. */
  current?: string;
  /**
   * The turn passes on at the next run() (the running instance has just been resumed from a
   * host effect, and snapshots are taken right then). Missing in older snapshots: false.
   */
  rotate?: boolean;
  meetings?: Value[];
  humans?: Array<{ id: string; klass: string }>;
  nextAgent?: number;
  nextMeeting?: number;
  delivered?: number;
  artifacts: Record<string, Value>;
  seq: number;
  steps: number;
  runId: string;
  result: Value;
  /** Code objects linked at run time (generated playbooks). */
  linked: CodeObject[];
  generatedSteps?: number;
  /** Plans of enforced procedures (vm/plan.ts) and the effect clock their timestamps come from. */
  plans?: PlanExecution[];
  clock?: string;
  /** Formats 1 and 2: one stack for the whole program. */
  frames?: FrameState[];
  stack?: Encoded[];
  entry?: Array<{ agent: string; name: string }>;
  entryIndex?: number;
  triggerLast?: Record<string, boolean>;
  stateDirty?: boolean;
  pending?: string;
  effectPc?: number;
}

/**
 * The machine's state, ready to encode. Throws StateWriteError when it holds more than the
 * state-bytes limit; nothing is changed then, and the previous snapshot stays the run's latest.
 */
export function captureMachine(m: Machine): MachineState {
  try {
    return capture(m, new ByteBudget(m.limits.stateBytes, 'the run state holds'));
  } catch (err) {
    if (err instanceof VMLimitError) throw new StateWriteError(`cannot write a snapshot: ${err.message}`);
    if (err instanceof RangeError) throw new StateWriteError(`cannot write a snapshot: ${err.message}`);
    throw err;
  }
}

function varsKey(m: Machine, inst: Instance): string {
  return m.state[inst.klass] === inst.vars ? inst.klass : inst.id;
}

function captureFrame(f: Frame): FrameState {
  return {
    agent: f.code.agent,
    name: f.code.name,
    pc: f.pc,
    locals: f.locals.map(enc),
    base: f.base,
    discard: f.discard,
    self: f.self,
    ...(f.trigger ? { trigger: f.trigger } : {}),
    ...(f.args ? { args: f.args.map(enc) } : {}),
    ...(f.plan !== undefined ? { plan: f.plan } : {}),
    ...(f.meeting ? { meeting: f.meeting } : {}),
    ...(f.replyTo ? { replyTo: f.replyTo } : {}),
    ...(f.hostReturn ? { hostReturn: true } : {}),
    ...(f.hostResume ? { hostResume: f.hostResume } : {}),
    ...(f.log ? { log: f.log } : {}),
    ...(f.folded ? { folded: f.folded } : {}),
    ...(f.summary ? { summary: f.summary } : {}),
  };
}

function capture(m: Machine, budget: ByteBudget): MachineState {
  m.saveRegisters();
  // Sized before anything is copied: a state too big to write is refused without making its copy.
  for (const inst of m.instances) {
    spendOn(inst.vars, budget);
    for (const f of inst.frames) {
      for (const v of f.locals) spendOn(v, budget);
      if (f.args) for (const v of f.args) spendOn(v, budget);
      if (f.log) measure(f.log, budget);
    }
    for (let i = 0; i < inst.sp; i++) spendOn(inst.stack[i], budget);
    measure(inst.inbox, budget);
  }
  measure(m.artifacts, budget);
  measure(m.plans, budget);
  measure(m.meetings, budget);
  const state: Record<string, Record<string, Encoded>> = {};
  for (const inst of m.instances) state[varsKey(m, inst)] = enc(inst.vars) as Record<string, Encoded>;
  return {
    status: m.status,
    state,
    instances: m.instances.map((inst) => {
      const { vars: _vars, frames, stack, sp, busy: _busy, ...plain } = inst;
      return { ...plain, vars: varsKey(m, inst), frames: frames.map(captureFrame), stack: stack.slice(0, sp).map(enc) };
    }),
    current: m.current.id,
    rotate: m.rotate,
    meetings: m.meetings as unknown as Value[],
    humans: m.humans,
    nextAgent: m.nextAgent,
    nextMeeting: m.nextMeeting,
    delivered: m.delivered,
    artifacts: m.artifacts,
    seq: m.seq,
    steps: m.steps,
    runId: m.runId,
    result: m.result,
    linked: m.linked,
    generatedSteps: m.generatedSteps,
    plans: m.plans,
    clock: m.clock,
  };
}

export function restoreMachine(program: Program, s: MachineState, options: { maxSteps?: number; maxDepth?: number; limits?: Partial<Limits> } = {}): Machine {
  try {
    return restore(program, s, options);
  } catch (err) {
    // A snapshot too deep for the JS stack, or malformed in a way the checks below miss.
    if (err instanceof RangeError || err instanceof TypeError) throw new FormatError(`corrupted snapshot: ${err.message}`);
    throw err;
  }
}

const PENDING = new Set(['none', 'value', 'bool', 'text', 'triggers']);

function restoreFrame(m: Machine, f: FrameState, plans: number): Frame {
  const code = m.lookup(f.agent, f.name);
  if (!code) throw new FormatError(`snapshot refers to playbook '${f.agent}.${f.name}', which the program does not define`);
  if (!Number.isInteger(f.pc) || f.pc < 0 || f.pc > code.code.length) throw new FormatError(`snapshot frame ${f.agent}.${f.name} has an invalid pc`);
  const self = (f.self !== undefined ? m.byId.get(f.self) : undefined) ?? m.instanceOf(f.agent);
  if (!self) throw new FormatError(`snapshot frame ${f.agent}.${f.name} belongs to no agent instance`);
  const frame: Frame = { code, pc: f.pc, locals: f.locals.map((v) => dec(v)), base: f.base, discard: f.discard, self: self.id, vars: self.vars };
  if (frame.locals.length !== code.locals.length) throw new FormatError(`snapshot frame ${f.agent}.${f.name} has ${frame.locals.length} locals, the code has ${code.locals.length}`);
  if (f.trigger) frame.trigger = f.trigger;
  if (Array.isArray(f.args)) frame.args = f.args.map((a) => dec(a) as RuntimeValue);
  if (f.plan !== undefined) {
    if (!code.plan || !Number.isInteger(f.plan) || f.plan < 0 || f.plan >= plans) throw new FormatError(`snapshot frame ${f.agent}.${f.name} refers to a missing plan`);
    frame.plan = f.plan;
  }
  if (f.meeting && typeof f.meeting.id === 'string') frame.meeting = { id: f.meeting.id, host: f.meeting.host === true };
  if (typeof f.replyTo === 'string') frame.replyTo = f.replyTo;
  if (f.hostReturn) frame.hostReturn = true;
  if (f.hostResume && PENDING.has(f.hostResume.pending)) frame.hostResume = { pending: f.hostResume.pending as Pending, effectPc: f.hostResume.effectPc };
  if (Array.isArray(f.log)) frame.log = f.log.filter((e): e is string => typeof e === 'string');
  if (typeof f.folded === 'number') frame.folded = f.folded;
  if (typeof f.summary === 'string') frame.summary = f.summary;
  return frame;
}

function restore(program: Program, s: MachineState, options: { maxSteps?: number; maxDepth?: number; limits?: Partial<Limits> }): Machine {
  const m = new Machine(program, { ...options, runId: s.runId });
  for (const code of s.linked) {
    const problem = verifyCode(code, program.files.length);
    if (problem) throw new FormatError(`snapshot holds an invalid generated playbook '${code.name}': ${problem}`);
    m.linkGenerated(code);
  }
  const plans = s.plans?.length ?? 0;
  if (Array.isArray(s.instances)) restoreInstances(m, s, plans);
  else restoreSingleStack(m, s, plans);
  Object.assign(m.artifacts, s.artifacts);
  m.status = s.status;
  m.seq = s.seq;
  m.steps = s.steps;
  m.result = s.result;
  m.generatedSteps = typeof s.generatedSteps === 'number' ? s.generatedSteps : 0;
  if (Array.isArray(s.plans)) m.plans.push(...s.plans);
  if (typeof s.clock === 'string') m.clock = s.clock;
  return m;
}

function restoreInstances(m: Machine, s: MachineState, plans: number): void {
  if (Array.isArray(s.humans)) m.humans.push(...s.humans);
  for (const is of s.instances!) {
    const vars = s.state[is.vars];
    if (!vars) throw new FormatError(`corrupted snapshot: instance ${is.id} has no state`);
    const inst = m.createInstance(is.klass, is.entry, dec(vars) as Record<string, RuntimeValue>);
    if (inst.id !== is.id) {
      m.byId.delete(inst.id);
      inst.id = is.id;
      m.byId.set(is.id, inst);
    }
    if (is.vars === is.klass) m.state[is.klass] = inst.vars;
    if (!PENDING.has(is.pending)) throw new FormatError(`corrupted snapshot: instance ${is.id} has an invalid pending effect`);
    const { vars: _vars, frames: _frames, stack: _stack, ...plain } = is;
    Object.assign(inst, plain, { pending: is.pending as Pending });
  }
  // Frames after every instance exists: a frame may run as another instance (a cross-agent call).
  s.instances!.forEach((is) => {
    const inst = m.byId.get(is.id)!;
    inst.frames = is.frames.map((f) => restoreFrame(m, f, plans));
    is.stack.forEach((v, i) => (inst.stack[i] = dec(v) as RuntimeValue));
    inst.sp = is.stack.length;
  });
  m.meetings.push(...((s.meetings ?? []) as unknown as Machine['meetings']));
  m.nextAgent = s.nextAgent ?? m.nextAgent;
  m.nextMeeting = s.nextMeeting ?? m.nextMeeting;
  m.delivered = s.delivered ?? 0;
  const current = (s.current !== undefined ? m.byId.get(s.current) : undefined) ?? m.instances[0];
  if (current) m.adopt(current);
  m.rotate = s.rotate === true;
}

/** Formats 1 and 2 ran every agent on one stack: it becomes the stack of the instance of the entry it was running. */
function restoreSingleStack(m: Machine, s: MachineState, plans: number): void {
  m.start();
  const entry = s.entry ?? [];
  const done = entry.slice(0, s.entryIndex ?? 0);
  for (const inst of m.instances) {
    const vars = s.state[inst.klass];
    if (vars) Object.assign(inst.vars, dec(vars) as Record<string, RuntimeValue>);
    inst.entry = entry.filter((e) => e.agent === inst.klass).map((e) => e.name);
    inst.entryIndex = done.filter((e) => e.agent === inst.klass).length;
  }
  const running = done[done.length - 1];
  const owner = (running ? m.instanceOf(running.agent) : undefined) ?? m.instances[0];
  if (!owner) return;
  owner.frames = (s.frames ?? []).map((f) => restoreFrame(m, f, plans));
  (s.stack ?? []).forEach((v, i) => (owner.stack[i] = dec(v) as RuntimeValue));
  owner.sp = (s.stack ?? []).length;
  owner.triggerLast = s.triggerLast ?? {};
  owner.stateDirty = s.stateDirty ?? false;
  owner.pending = PENDING.has(s.pending ?? 'none') ? (s.pending as Pending) : 'none';
  owner.effectPc = s.effectPc ?? 0;
  m.adopt(owner);
}

export interface SnapshotFile {
  /** The run this snapshot belongs to (the journal's start record names it too). */
  runId: string;
  /** sha256 of the program container this snapshot belongs to. */
  programSha: string;
  machine: MachineState;
  /** Journal records that existed when the snapshot was written. */
  journalRecords: number;
  takenAt: string;
  /** Host data (input file position, options) the runner keeps with the run. */
  host: Record<string, Value>;
}

export function encodeSnapshot(s: SnapshotFile): Buffer {
  try {
    return encodeEnvelope(SNAPSHOT_FORMAT, s, SNAPSHOT_MIN_COMPATIBLE);
  } catch (err) {
    // The encoder's own limits (its recursion, buffer and length fields): nothing was written.
    throw new StateWriteError(`cannot write a snapshot: ${(err as Error)?.message ?? String(err)}`);
  }
}

export function decodeSnapshot(bytes: Uint8Array): SnapshotFile {
  const { header, value } = decodeEnvelope(SNAPSHOT_FORMAT, bytes);
  const s = value as SnapshotFile;
  if (!s || typeof s !== 'object' || typeof s.programSha !== 'string' || !s.machine || !(Array.isArray(s.machine.instances) || Array.isArray(s.machine.frames)) || typeof s.machine.runId !== 'string') {
    throw new FormatError('corrupted snapshot: missing fields');
  }
  if (header.version < 2) return { ...s, runId: s.machine.runId };
  if (typeof s.runId !== 'string') throw new FormatError('corrupted snapshot: missing fields');
  if (s.runId !== s.machine.runId) throw new FormatError(`corrupted snapshot: it is of run ${s.runId}, its machine state of run ${s.machine.runId}`);
  return s;
}
