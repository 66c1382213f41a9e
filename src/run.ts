// Running programs: fresh runs (optionally durable with a state directory), resuming a
// durable run, and reading where a run stands. This is the host side of the VM: it wires
// console I/O, host tools, the model and the run store into a Runner.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { encodeProgram, decodeProgram } from '../vm/pbasm/container.js';
import { FormatError, sha256 } from '../vm/pbasm/envelope.js';
import type { Program, Value } from '../vm/pbasm/program.js';
import { Machine } from '../vm/machine.js';
import { toPlain } from '../vm/values.js';
import { PbRuntimeError, StateWriteError } from '../vm/errors.js';
import { LIMIT_RANGES, type Limits } from '../vm/limits.js';
import { decodeJournal, encodeRecord, type JournalRecord } from '../vm/durable/journal.js';
import { captureMachine, decodeSnapshot, encodeSnapshot, restoreMachine, type SnapshotFile } from '../vm/durable/snapshot.js';
import { ReplayEnd, replayFromJournal, Runner, type DurableSink, type ModelHost, type RunOutcome, type RunnerIO, type RunnerOptions, type ToolHost } from '../vm/runner.js';
import type { DeviationReport, GeneratedReport } from '../vm/linker.js';
import type { PlanExecution } from '../vm/plan.js';
import { clipText as clip } from '../vm/model/context.js';
import { consoleIO, FileLineReader, StreamLineReader } from './console-io.js';
import { LocalDirRunStore, RunStoreError, type RunStore } from './run-store.js';
import { loadToolModule, ModuleToolHost } from './tools.js';
import { DEFAULT_GENERATOR, ModelPlaybookGenerator } from './generate.js';
import { DEFAULT_LIBRARY_DIR, LocalDirLibrary, type PlaybookLibrary } from './library.js';

export interface RunOptions {
  /** State directory: makes the run durable and resumable. */
  state?: string;
  /** Read user input from this file instead of stdin. */
  input?: string;
  /** Module whose exported functions become host tools. */
  tools?: string;
  maxSteps?: number;
  /** Bounds on values and run state (vm/limits.ts); kept with a durable run for `pb resume`. */
  limits?: Partial<Limits>;
  model?: ModelHost;
  /** Arguments of the entry playbook(s), by parameter name. */
  args?: Record<string, Value>;
  /** Overrides console I/O (tests, embedding). */
  io?: RunnerIO;
  /** Custom run store (defaults to a local directory at `state`). */
  store?: RunStore;
  sync?: SyncPolicy;
  /** Playbook library for GeneratePlaybook (default: a .pb-library directory, made on first use). */
  library?: PlaybookLibrary | string;
  /** Told about notable events on the way: a generated playbook regenerated after failing. */
  warn?: (message: string) => void;
}

export interface RunResult {
  outcome: RunOutcome;
  machine: Machine;
  /** Where the durable state lives, when there is one. */
  state?: string;
}

/** A state directory that cannot be used: corrupt, truncated, finished, locked. */
export class StateError extends Error {}

/**
 * How hard journal writes push to disk. 'snapshot' (default, like SQLite's WAL with
 * synchronous=NORMAL): appends are plain writes, which survive any process crash incl.
 * kill -9; the journal is fsynced before each snapshot that refers to it. 'always' also
 * fsyncs every append, so a power loss forgets nothing either, at a cost per effect.
 */
export type SyncPolicy = 'snapshot' | 'always';

class StoreSink implements DurableSink {
  constructor(
    private readonly store: RunStore,
    private readonly programSha: string,
    private readonly host: Record<string, Value>,
    private readonly sync: SyncPolicy,
  ) {}

  append(records: JournalRecord[]): void {
    const parts = records.map(encodeRecord);
    this.store.appendJournal(parts.length === 1 ? parts[0]! : Buffer.concat(parts), this.sync === 'always');
  }

  snapshot(machine: Machine, journalRecords: number): void {
    this.store.syncJournal();
    const file: SnapshotFile = { programSha: this.programSha, machine: captureMachine(machine), journalRecords, takenAt: new Date().toISOString(), host: this.host };
    this.store.writeSnapshot(encodeSnapshot(file));
  }
}

async function toolHost(path: string | undefined, program: Program, runId: string): Promise<ToolHost> {
  const tools = path ? await loadToolModule(path) : new Map();
  return new ModuleToolHost(tools, program, runId);
}

function inputReader(path: string | undefined, skip: number) {
  return path ? new FileLineReader(path, skip) : new StreamLineReader(process.stdin);
}

/** The generator for GeneratePlaybook, with the playbook library it reuses and fills. */
function makeGenerator(library: PlaybookLibrary | string | undefined, runId: string): ModelPlaybookGenerator {
  const lib = typeof library === 'object' ? library : new LocalDirLibrary(library ?? DEFAULT_LIBRARY_DIR, { validate: false });
  return new ModelPlaybookGenerator(DEFAULT_GENERATOR, { library: lib, runId });
}

/** Reports what GeneratePlaybook linked, and each regeneration of a failed generated playbook (vm/linker.ts). */
function generationReports(warn: ((message: string) => void) | undefined): RunnerOptions['generation'] {
  if (!warn) return undefined;
  return {
    onGenerated: (g: GeneratedReport) =>
      warn(`GeneratePlaybook("${clip(g.goal, 60)}"): ${g.attempts === 0 ? `reused ${g.playbook} from the library (${g.origin})` : `the model wrote ${g.playbook} (${g.attempts} attempt${g.attempts === 1 ? '' : 's'}; ${g.origin.startsWith('library:') ? `stored as ${g.origin}` : g.origin})`}`),
    onDeviation: (d: DeviationReport) => warn(`generated playbook '${d.playbook}' failed: ${d.failure}; running a regenerated version (${d.revision + 1}, ${d.origin})`),
  };
}

export async function runProgram(program: Program, options: RunOptions = {}): Promise<RunResult> {
  const runId = randomBytes(6).toString('hex');
  const machine = new Machine(program, { maxSteps: options.maxSteps, runId, entryArgs: options.args, limits: options.limits });
  machine.clock = new Date().toISOString();
  const io = options.io ?? consoleIO(inputReader(options.input, 0));
  const tools = await toolHost(options.tools, program, runId);
  const generator = makeGenerator(options.library, runId);
  if (!options.state && !options.store) {
    const outcome = await new Runner(machine, { io, tools, model: options.model, generator, generation: generationReports(options.warn) }).run();
    for (const w of generator.finish(outcome.status !== 'failed')) options.warn?.(`warning: ${w}`);
    return { outcome, machine };
  }
  const store = options.store ?? new LocalDirRunStore(options.state!);
  let release: () => void;
  try {
    release = store.lock();
  } catch (err) {
    if (err instanceof RunStoreError) throw new StateError(`${store.location}: error: ${err.message}`);
    throw err;
  }
  try {
    const bytes = encodeProgram(program);
    const programSha = sha256(bytes).toString('hex');
    const host: Record<string, Value> = {
      inputFile: options.input ? resolve(options.input) : null,
      tools: options.tools ? resolve(options.tools) : null,
      maxSteps: options.maxSteps ?? null,
      limits: { ...options.limits },
      args: options.args ?? {},
      // A resumed run keeps using the same playbook library.
      library: typeof options.library === 'object' ? null : resolve(options.library ?? DEFAULT_LIBRARY_DIR),
      created: new Date().toISOString(),
    };
    const sync = options.sync ?? 'snapshot';
    host.sync = sync;
    try {
      // No initial snapshot: a run without one resumes from a fresh machine and replays the journal.
      store.create(bytes, encodeRecord({ t: 'start', runId, programSha, at: machine.clock, host }));
    } catch (err) {
      if (err instanceof RunStoreError) throw new StateError(`${store.location}: error: ${err.message}`);
      // The start record holds the arguments: ones too deep to encode cannot start a durable run.
      if (err instanceof StateWriteError) throw new StateError(`${store.location}: error: ${err.message} (check the --arg values)`);
      throw err;
    }
    const sink = new StoreSink(store, programSha, host, sync);
    machine.start();
    const runner = new Runner(machine, { io, tools, model: options.model, generator, durable: sink, journalRecords: 1, generation: generationReports(options.warn) });
    const outcome = await runner.run();
    if (outcome.status !== 'failed' || !outcome.resumable) for (const w of generator.finish(outcome.status !== 'failed')) options.warn?.(`warning: ${w}`);
    return { outcome, machine, state: store.location };
  } finally {
    release();
  }
}

interface LoadedRun {
  program: Program;
  programSha: string;
  snapshot?: SnapshotFile;
  start: Extract<JournalRecord, { t: 'start' }>;
  records: JournalRecord[];
  tornTail: boolean;
  validLength: number;
}

function loadRun(store: RunStore): LoadedRun {
  const where = store.location;
  try {
    const programBytes = store.readProgram();
    const program = decodeProgram(programBytes);
    const programSha = sha256(programBytes).toString('hex');
    const journal = decodeJournal(store.readJournal());
    const start = journal.records[0];
    if (!start || start.t !== 'start') throw new StateError(`${where}: error: journal has no start record (empty or truncated journal)`);
    if (start.programSha !== programSha) throw new StateError(`${where}: error: program.pbasm is not the program this run started with`);
    const snapBytes = store.readSnapshot();
    const snapshot = snapBytes ? decodeSnapshot(snapBytes) : undefined;
    if (snapshot) {
      if (snapshot.programSha !== programSha) throw new StateError(`${where}: error: snapshot belongs to a different program than program.pbasm`);
      if (journal.records.length < snapshot.journalRecords) {
        throw new StateError(
          `${where}: error: truncated journal: it has ${journal.records.length} records, the snapshot was taken after ${snapshot.journalRecords}`,
        );
      }
    }
    return { program, programSha, snapshot, start, records: journal.records, tornTail: journal.tornTail, validLength: journal.validLength };
  } catch (err) {
    if (err instanceof FormatError) throw new StateError(`${where}: error: ${err.message}`);
    if (err instanceof RunStoreError) throw new StateError(`${where}: error: ${err.message}`);
    throw err;
  }
}

/** The limits a run was started with (host.limits), with `override` applied; unknown entries are ignored. */
function runLimits(host: Record<string, Value>, override?: Partial<Limits>): Partial<Limits> {
  const out: Partial<Limits> = {};
  const saved = host.limits;
  if (saved && typeof saved === 'object' && !Array.isArray(saved)) {
    for (const key of Object.keys(LIMIT_RANGES) as Array<keyof Limits>) {
      const v = saved[key];
      // One this build no longer allows (its range changed) falls back to the default.
      if (typeof v === 'number' && v >= LIMIT_RANGES[key][0] && v <= LIMIT_RANGES[key][1] && Number.isInteger(v)) out[key] = v;
    }
  }
  return { ...out, ...override };
}

/** The machine as of the last snapshot, or a fresh one when the run has none yet. */
function machineAt(run: LoadedRun, dir: string, maxSteps?: number, limits?: Partial<Limits>): Machine {
  if (!run.snapshot) {
    const args = run.start.host?.args;
    const entryArgs = args && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, Value>) : {};
    const m = new Machine(run.program, { maxSteps, runId: run.start.runId, entryArgs, limits });
    m.clock = run.start.at;
    m.start();
    return m;
  }
  try {
    return restoreMachine(run.program, run.snapshot.machine, { maxSteps, limits });
  } catch (err) {
    if (err instanceof FormatError) throw new StateError(`${dir}: error: ${err.message}`);
    throw err;
  }
}

export interface ResumeOptions {
  library?: PlaybookLibrary | string;
  input?: string;
  tools?: string;
  maxSteps?: number;
  /** Limits to use from now on (the ones the run started with otherwise). */
  limits?: Partial<Limits>;
  model?: ModelHost;
  io?: RunnerIO;
  store?: RunStore;
  /** Told about recoverable oddities, e.g. a torn journal tail being dropped. */
  warn?: (message: string) => void;
}

export async function resumeRun(dir: string, options: ResumeOptions = {}): Promise<RunResult> {
  const store = options.store ?? new LocalDirRunStore(dir);
  if (!store.exists()) throw new StateError(`${dir}: error: not a pbvm state directory (no journal.pbj)`);
  let release: () => void;
  try {
    release = store.lock();
  } catch (err) {
    if (err instanceof RunStoreError) throw new StateError(`${dir}: error: ${err.message}`);
    throw err;
  }
  if (!store.exists()) {
    release();
    throw new StateError(`${dir}: error: not a pbvm state directory (no journal.pbj)`);
  }
  try {
    const run = loadRun(store);
    const end = [...run.records].reverse().find((r) => r.t === 'end') as Extract<JournalRecord, { t: 'end' }> | undefined;
    const lastIsEnd = run.records[run.records.length - 1]?.t === 'end';
    if (end && end.final && lastIsEnd) {
      const how = end.status === 'failed' ? `failed: ${end.message ?? 'runtime error'}` : `${end.status} at ${end.at}`;
      throw new StateError(`${dir}: error: the run has already ended (${how}); there is nothing to resume`);
    }
    if (run.tornTail) {
      options.warn?.(`warning: ${dir}: dropping an incomplete final journal record (a write interrupted by the crash)`);
      store.truncateJournal(run.validLength);
    }
    const host = run.start.host ?? {};
    const maxSteps = options.maxSteps ?? (typeof host.maxSteps === 'number' ? host.maxSteps : undefined);
    const limits = runLimits(host, options.limits);
    const machine = machineAt(run, dir, maxSteps, limits);
    const inputsSeen = run.records.filter((r) => r.t === 'input').length;
    const inputFile = options.input ?? (typeof host.inputFile === 'string' ? host.inputFile : undefined);
    const io = options.io ?? consoleIO(inputReader(inputFile, options.input ? 0 : inputsSeen));
    const toolsPath = options.tools ?? (typeof host.tools === 'string' ? host.tools : undefined);
    const tools = await toolHost(toolsPath, run.program, machine.runId);
    const sync: SyncPolicy = host.sync === 'always' ? 'always' : 'snapshot';
    const sink = new StoreSink(store, run.programSha, { ...host, limits, ...(options.input ? { inputFile: resolve(options.input) } : {}) }, sync);
    sink.append([{ t: 'resume', at: new Date().toISOString(), fromSeq: machine.seq }]);
    const generator = makeGenerator(options.library ?? (typeof host.library === 'string' ? host.library : undefined), machine.runId);
    const runner = new Runner(machine, {
      io,
      tools,
      model: options.model,
      generator,
      generation: generationReports(options.warn),
      durable: sink,
      replay: replayFromJournal(run.records),
      journalRecords: run.records.length + 1,
    });
    const outcome = await runner.run();
    if (outcome.status !== 'failed' || !outcome.resumable) for (const w of generator.finish(outcome.status !== 'failed')) options.warn?.(`warning: ${w}`);
    return { outcome, machine, state: dir };
  } finally {
    release();
  }
}

export interface RunReport {
  dir: string;
  runId: string;
  status: string;
  steps: number;
  effects: number;
  snapshotAt: string;
  stack: Array<{ agent: string; playbook: string; step: string; line: number; file: string }>;
  state: Record<string, Record<string, Value>>;
  locals: Record<string, Value>;
  lastEffects: JournalRecord[];
  /** Every playbook GeneratePlaybook linked, and every repaired version, in order. */
  generated: GeneratedInfo[];
  ended?: { status: string; message?: string; at: string; final: boolean };
}

export interface GeneratedInfo {
  seq: number;
  playbook: string;
  origin: string;
  /** Model attempts (0 when reused from the library), with the reasons earlier ones were rejected. */
  attempts: number;
  rejected: string[];
  /** For a repaired version: its number (2, 3, ...) and the failure that led to it. */
  version?: number;
  failure?: string;
}

function generatedInfo(records: JournalRecord[]): GeneratedInfo[] {
  const out: GeneratedInfo[] = [];
  for (const r of records) {
    if (r.t !== 'generate' || !r.result || typeof r.result !== 'object' || Array.isArray(r.result)) continue;
    const g = r.result as Record<string, Value>;
    const attempts = Array.isArray(g.attempts) ? (g.attempts as Array<Record<string, Value>>) : [];
    out.push({
      seq: r.seq,
      playbook: String(g.entry ?? '?'),
      origin: String(g.origin ?? '?'),
      attempts: attempts.length,
      rejected: attempts.filter((a) => a && a.accepted === false).map((a) => String(a.reason ?? '')),
      ...(typeof g.revision === 'number' ? { version: g.revision + 1, failure: String(g.failure ?? '') } : {}),
    });
  }
  return out;
}

/**
 * Reads where a run stands, without taking its lock or changing anything: the last
 * snapshot is re-executed against the journal (performing nothing) up to the first
 * effect the journal has no record of.
 */
/** Re-executes a run's journal (performing nothing, calling no model) to where it stands. */
async function replayRun(dir: string): Promise<{ run: LoadedRun; machine: Machine; waitingOn?: string }> {
  const store = new LocalDirRunStore(dir);
  if (!store.exists()) throw new StateError(`${dir}: error: not a pbvm state directory (no journal.pbj)`);
  const run = loadRun(store);
  const machine = machineAt(run, dir, undefined, runLimits(run.start.host ?? {}));
  const io: RunnerIO = { writeLines: () => {}, readLine: async () => null };
  let waitingOn: string | undefined;
  try {
    // A run that used the model replays its journaled replies through a driver (natural-language
    // steps included); the model itself is never called: the first unrecorded call ends the replay.
    const usedModel = run.records.some((r) => r.t === 'model');
    const model: ModelHost | undefined = usedModel ? { model: { id: 'journal', complete: async () => Promise.reject(new Error('inspect calls no model')) } } : undefined;
    const outcome = await new Runner(machine, { io, model, replay: replayFromJournal(run.records), replayOnly: true, generator: new ModelPlaybookGenerator() }).run();
    if (outcome.status === 'failed') waitingOn = `failed: ${outcome.error.message}`;
  } catch (err) {
    if (!(err instanceof ReplayEnd)) throw err;
    const e = err.effect;
    waitingOn = e.kind === 'end' || e.kind === 'host-return' ? undefined : `${e.kind}${e.kind === 'tool' ? ` ${e.name} (call ${e.callId})` : ''} at step ${e.at.step}`;
  }
  return { run, machine, ...(waitingOn ? { waitingOn } : {}) };
}

/** Where a run's enforced procedures stand: every plan, step by step (`pb audit`). */
export interface AuditReport {
  dir: string;
  runId: string;
  status: string;
  plans: PlanExecution[];
}

export async function auditRun(dir: string): Promise<AuditReport> {
  const { run, machine, waitingOn } = await replayRun(dir);
  const end = [...run.records].reverse().find((r) => r.t === 'end') as Extract<JournalRecord, { t: 'end' }> | undefined;
  const ended = end && run.records[run.records.length - 1]?.t === 'end';
  return { dir, runId: run.start.runId, status: ended ? end!.status : waitingOn ? `waiting on ${waitingOn}` : machine.status, plans: machine.plans };
}

export async function inspectRun(dir: string, lastN = 10): Promise<RunReport> {
  const { run, machine, waitingOn } = await replayRun(dir);
  const top = machine.frames[machine.frames.length - 1];
  const locals: Record<string, Value> = {};
  if (top) {
    top.code.locals.forEach((name, i) => {
      const v = top.locals[i];
      if (!name.startsWith('%') && v !== undefined) locals[name] = toPlain(v);
    });
  }
  const state: Record<string, Record<string, Value>> = {};
  for (const [agent, vars] of Object.entries(machine.state)) {
    state[agent] = {};
    for (const [k, v] of Object.entries(vars)) state[agent]![`$${k}`] = toPlain(v);
  }
  const end = [...run.records].reverse().find((r) => r.t === 'end') as Extract<JournalRecord, { t: 'end' }> | undefined;
  const ended = end && run.records[run.records.length - 1]?.t === 'end';
  const effects = run.records.filter((r) => r.t !== 'start' && r.t !== 'resume');
  return {
    dir,
    runId: run.start.runId,
    status: ended ? end!.status : waitingOn ? `waiting on ${waitingOn}` : machine.status,
    steps: machine.steps,
    effects: machine.seq,
    snapshotAt: run.snapshot?.takenAt ?? 'none (replayed from the start)',
    stack: machine.callStack().map((s) => ({ agent: s.agent, playbook: s.playbook, step: s.step, line: s.line, file: s.file })),
    state,
    locals,
    lastEffects: effects.slice(-lastN),
    generated: generatedInfo(run.records),
    ...(end ? { ended: { status: end.status, at: end.at, final: end.final, ...(end.message ? { message: end.message } : {}) } } : {}),
  };
}

export function describeOutcome(outcome: RunOutcome, machine: Machine, state?: string): string | undefined {
  if (outcome.status !== 'failed') return undefined;
  const text = outcome.error.format(machine.program, (path) => machine.sourceText(path));
  if (!state) return text;
  return outcome.resumable
    ? `${text}\nrun state kept in ${state}; fix the cause, then continue with: pb resume ${state}`
    : `${text}\nrun state kept in ${state} (this error is in the program itself; resuming would fail the same way)`;
}

export { PbRuntimeError };
