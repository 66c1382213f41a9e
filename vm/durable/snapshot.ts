// Snapshot of a Machine: everything needed to continue exactly where it stood. Runtime-only
// values (unset locals, loop iterators, playbook references) are tagged so that they
// survive msgpack. The envelope adds magic, versions and a checksum.
import { decodeEnvelope, encodeEnvelope, FormatError, type EnvelopeKind } from '../pbasm/envelope.js';
import { verifyCode } from '../pbasm/verify.js';
import type { CodeObject, Program, Value } from '../pbasm/program.js';
import { Machine, type Frame, type MachineStatus } from '../machine.js';
import { LoopIter, PlaybookRef, spendOn, type RuntimeValue } from '../values.js';
import type { PlanExecution } from '../plan.js';
import { ByteBudget, LIMIT_RANGES, scalarBytes, VMLimitError, type Limits } from '../limits.js';
import { StateWriteError } from '../errors.js';

/**
 * Version 2 names the run the snapshot belongs to (SnapshotFile.runId), so a resume can
 * refuse a snapshot of another run of the same program. Nothing else changed: a version-1
 * reader still reads it rightly (it ignores the field), hence minimum compatible version 1;
 * and this build reads version 1, whose run is the one its machine state names.
 */
export const SNAPSHOT_FORMAT: EnvelopeKind = { magic: 'PBSN', label: 'snapshot', version: 2, minReadable: 1 };
const SNAPSHOT_MIN_COMPATIBLE = 1;

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
  trigger?: string;
  /** Arguments of a generated playbook's call (for deviation handling). */
  args?: Encoded[];
  /** Index of the call's plan in MachineState.plans (enforced procedures). */
  plan?: number;
  /** Model context of the frame (vm/model/context.ts). */
  log?: string[];
  folded?: number;
  summary?: string;
}

export interface MachineState {
  status: MachineStatus;
  frames: FrameState[];
  stack: Encoded[];
  state: Record<string, Record<string, Encoded>>;
  artifacts: Record<string, Value>;
  seq: number;
  steps: number;
  runId: string;
  entry: Array<{ agent: string; name: string }>;
  entryIndex: number;
  triggerLast: Record<string, boolean>;
  stateDirty: boolean;
  result: Value;
  pending: string;
  effectPc: number;
  /** Code objects linked at run time (generated playbooks). */
  linked: CodeObject[];
  generatedSteps?: number;
  /** Plans of enforced procedures (vm/plan.ts) and the effect clock their timestamps come from. */
  plans?: PlanExecution[];
  clock?: string;
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

function capture(m: Machine, budget: ByteBudget): MachineState {
  // Sized before anything is copied: a state too big to write is refused without making its copy.
  for (const vars of Object.values(m.state)) spendOn(vars, budget);
  for (const f of m.frames) {
    for (const v of f.locals) spendOn(v, budget);
    if (f.args) for (const v of f.args) spendOn(v, budget);
    if (f.log) measure(f.log, budget);
  }
  for (let i = 0; i < m.sp; i++) spendOn(m.stack[i], budget);
  measure(m.artifacts, budget);
  measure(m.plans, budget);
  const internals = m as unknown as { pending: string; effectPc: number };
  const state: Record<string, Record<string, Encoded>> = {};
  for (const [agent, vars] of Object.entries(m.state)) state[agent] = enc(vars) as Record<string, Encoded>;
  return {
    status: m.status,
    frames: m.frames.map((f) => ({
      agent: f.code.agent,
      name: f.code.name,
      pc: f.pc,
      locals: f.locals.map(enc),
      base: f.base,
      discard: f.discard,
      ...(f.trigger ? { trigger: f.trigger } : {}),
      ...(f.args ? { args: f.args.map(enc) } : {}),
      ...(f.plan !== undefined ? { plan: f.plan } : {}),
      ...(f.log ? { log: f.log } : {}),
      ...(f.folded ? { folded: f.folded } : {}),
      ...(f.summary ? { summary: f.summary } : {}),
    })),
    stack: m.stack.slice(0, m.sp).map(enc),
    state,
    artifacts: m.artifacts,
    seq: m.seq,
    steps: m.steps,
    runId: m.runId,
    entry: m.entry,
    entryIndex: m.entryIndex,
    triggerLast: m.triggerLast,
    stateDirty: m.stateDirty,
    result: m.result,
    pending: internals.pending,
    effectPc: internals.effectPc,
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

function restore(program: Program, s: MachineState, options: { maxSteps?: number; maxDepth?: number; limits?: Partial<Limits> }): Machine {
  const m = new Machine(program, { ...options, runId: s.runId });
  for (const code of s.linked) {
    const problem = verifyCode(code, program.files.length);
    if (problem) throw new FormatError(`snapshot holds an invalid generated playbook '${code.name}': ${problem}`);
    m.linkGenerated(code);
  }
  for (const f of s.frames) {
    const code = m.lookup(f.agent, f.name);
    if (!code) throw new FormatError(`snapshot refers to playbook '${f.agent}.${f.name}', which the program does not define`);
    if (!Number.isInteger(f.pc) || f.pc < 0 || f.pc > code.code.length) throw new FormatError(`snapshot frame ${f.agent}.${f.name} has an invalid pc`);
    const frame: Frame = { code, pc: f.pc, locals: f.locals.map((v) => dec(v)), base: f.base, discard: f.discard };
    if (frame.locals.length !== code.locals.length) throw new FormatError(`snapshot frame ${f.agent}.${f.name} has ${frame.locals.length} locals, the code has ${code.locals.length}`);
    if (f.trigger) frame.trigger = f.trigger;
    if (Array.isArray(f.args)) frame.args = f.args.map((a) => dec(a) as RuntimeValue);
    if (f.plan !== undefined) {
      if (!code.plan || !Number.isInteger(f.plan) || f.plan < 0 || f.plan >= (s.plans?.length ?? 0)) throw new FormatError(`snapshot frame ${f.agent}.${f.name} refers to a missing plan`);
      frame.plan = f.plan;
    }
    if (Array.isArray(f.log)) frame.log = f.log.filter((e): e is string => typeof e === 'string');
    if (typeof f.folded === 'number') frame.folded = f.folded;
    if (typeof f.summary === 'string') frame.summary = f.summary;
    m.frames.push(frame);
  }
  s.stack.forEach((v, i) => (m.stack[i] = dec(v) as RuntimeValue));
  m.sp = s.stack.length;
  for (const [agent, vars] of Object.entries(s.state)) m.state[agent] = dec(vars) as Record<string, RuntimeValue>;
  Object.assign(m.artifacts, s.artifacts);
  m.status = s.status;
  m.seq = s.seq;
  m.steps = s.steps;
  m.entry = s.entry;
  m.entryIndex = s.entryIndex;
  m.triggerLast = s.triggerLast;
  m.stateDirty = s.stateDirty;
  m.result = s.result;
  m.generatedSteps = typeof s.generatedSteps === 'number' ? s.generatedSteps : 0;
  if (Array.isArray(s.plans)) m.plans.push(...s.plans);
  if (typeof s.clock === 'string') m.clock = s.clock;
  const internals = m as unknown as { pending: string; effectPc: number };
  internals.pending = s.pending;
  internals.effectPc = s.effectPc;
  return m;
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
  if (!s || typeof s !== 'object' || typeof s.programSha !== 'string' || !s.machine || !Array.isArray(s.machine.frames) || typeof s.machine.runId !== 'string') {
    throw new FormatError('corrupted snapshot: missing fields');
  }
  if (header.version < 2) return { ...s, runId: s.machine.runId };
  if (typeof s.runId !== 'string') throw new FormatError('corrupted snapshot: missing fields');
  if (s.runId !== s.machine.runId) throw new FormatError(`corrupted snapshot: it is of run ${s.runId}, its machine state of run ${s.machine.runId}`);
  return s;
}
