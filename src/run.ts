// Running programs: fresh runs (optionally durable with a state directory), resuming a
// durable run, and reading where a run stands. This is the host side of the VM: it wires
// console I/O, host tools, the model and the run store into a Runner.
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { encodeProgram, decodeProgram } from '../vm/pbasm/container.js';
import { FormatError, sha256 } from '../vm/pbasm/envelope.js';
import type { Program, Value } from '../vm/pbasm/program.js';
import type { Effect } from '../vm/effects.js';
import { Machine } from '../vm/machine.js';
import { toPlain } from '../vm/values.js';
import { PbRuntimeError, StateWriteError } from '../vm/errors.js';
import { LIMIT_RANGES, type Limits } from '../vm/limits.js';
import { decodeJournal, encodeRecord, type JournalRecord } from '../vm/durable/journal.js';
import { captureMachine, decodeSnapshot, encodeSnapshot, restoreMachine, type SnapshotFile } from '../vm/durable/snapshot.js';
import { ReplayCaughtUp, ReplayEnd, replayFromJournal, Runner, type DurableSink, type ModelHost, type RunOutcome, type RunnerIO, type RunnerOptions, type ToolHost } from '../vm/runner.js';
import type { DeviationReport, GeneratedReport } from '../vm/linker.js';
import type { PlanExecution } from '../vm/plan.js';
import { clipText as clip } from '../vm/model/context.js';
import { consoleIO, FileLineReader, StreamLineReader } from './console-io.js';
import { LocalDirRunStore, RunStoreError, type RunStore } from './run-store.js';
import { loadToolModule, ModuleToolHost } from './tools.js';
import { DEFAULT_GENERATOR, ModelPlaybookGenerator } from './generate.js';
import { DEFAULT_LIBRARY_DIR, LocalDirLibrary, type PlaybookLibrary } from './library.js';
import { snapshotPolicy } from './snapshot-policy.js';
import { ConversationFailed } from '../vm/durable/retry.js';
import { isSystemError, systemErrorText } from './io-errors.js';

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
  /**
   * Agent state set in every agent before the program starts, by variable name without `$`
   * (Playbooks AI's initial_state; `pb run --message` sets `startup_message`).
   */
  initialState?: Record<string, Value>;
  /** Overrides console I/O (tests, embedding). */
  io?: RunnerIO;
  /** Custom run store (defaults to a local directory at `state`). */
  store?: RunStore;
  sync?: SyncPolicy;
  /** Playbook library for GeneratePlaybook (default: a .pb-library directory, made on first use). */
  library?: PlaybookLibrary | string;
  /** Told about notable events on the way: a generated playbook regenerated after failing. */
  warn?: (message: string) => void;
  /** Limit of a host tool call that sets none of its own (ms; 0: none; default 120 s). Kept for `pb resume`. */
  toolTimeoutMs?: number;
  /** Raised to stop the run at once (SIGINT): runProgram rejects with Interrupted, the state stays resumable. */
  interrupt?: AbortSignal;
}

export interface RunResult {
  outcome: RunOutcome;
  machine: Machine;
  /** Where the durable state lives, when there is one. */
  state?: string;
}

/** A state directory that cannot be used: corrupt, truncated, finished, locked, unwritable. */
export class StateError extends Error {}

/** A run store's failure, or a system error (permission, full disk) on the way, as one line. */
function stateError(where: string, err: unknown, doing: string): unknown {
  if (err instanceof RunStoreError) return new StateError(`${where}: error: ${err.message}`);
  if (isSystemError(err)) return new StateError(`${where}: error: cannot ${doing}: ${systemErrorText(err)}`);
  return err;
}

/**
 * Makes the --state directory (and its parents) one level at a time: `mkdirSync(recursive)`
 * spins forever where mkdir keeps failing with ENOENT (under /proc). Something there that is
 * no directory is reported as such.
 */
function makeStateDir(dir: string): void {
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    let st;
    try {
      st = statSync(p, { throwIfNoEntry: false });
    } catch (err) {
      throw stateError(dir, err, 'create the state directory');
    }
    if (st) {
      if (!st.isDirectory()) throw new StateError(`${dir}: error: ${p === resolve(dir) ? 'not a directory (--state names the directory that holds a run)' : `${p} is not a directory`}`);
      break;
    }
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw stateError(dir, err, 'create the state directory');
    }
  }
}

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
    private readonly runId: string,
    private readonly programSha: string,
    private readonly host: Record<string, Value>,
    private readonly sync: SyncPolicy,
  ) {}

  append(records: JournalRecord[]): void {
    const parts = records.map(encodeRecord);
    try {
      this.store.appendJournal(parts.length === 1 ? parts[0]! : Buffer.concat(parts), this.sync === 'always');
    } catch (err) {
      throw this.stopped(err, 'write the journal');
    }
  }

  snapshot(machine: Machine, journalRecords: number): void {
    const file: SnapshotFile = { runId: this.runId, programSha: this.programSha, machine: captureMachine(machine), journalRecords, takenAt: new Date().toISOString(), host: this.host };
    try {
      this.store.syncJournal();
      this.store.writeSnapshot(encodeSnapshot(file));
    } catch (err) {
      throw this.stopped(err, 'write a snapshot');
    }
  }

  /** A failed write (full disk, I/O error) stops the run; what is journaled stands, so it resumes from there. */
  private stopped(err: unknown, doing: string): unknown {
    const e = stateError(this.store.location, err, doing);
    return e instanceof StateError ? runKept(this.store.location, e.message) : e;
  }
}

async function toolHost(path: string | undefined, program: Program, runId: string, timeoutMs: number | undefined): Promise<ToolHost> {
  const tools = path ? await loadToolModule(path) : new Map();
  return new ModuleToolHost(tools, program, runId, { ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
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

/** Initial agent state: the same variables in every agent, before anything runs. */
function setInitialState(machine: Machine, state: Record<string, Value> | undefined): void {
  if (!state) return;
  // The instances of program start exist from start(); agents created later start from their own arguments.
  if (machine.status === 'ready') machine.start();
  for (const inst of machine.instances) for (const [k, v] of Object.entries(state)) inst.vars[k.replace(/^\$/, '')] = v;
}

export async function runProgram(program: Program, options: RunOptions = {}): Promise<RunResult> {
  const runId = randomBytes(6).toString('hex');
  const machine = new Machine(program, { maxSteps: options.maxSteps, runId, entryArgs: options.args, limits: options.limits });
  setInitialState(machine, options.initialState);
  machine.clock = new Date().toISOString();
  const io = options.io ?? consoleIO(inputReader(options.input, 0));
  const tools = await toolHost(options.tools, program, runId, options.toolTimeoutMs);
  const generator = makeGenerator(options.library, runId);
  if (!options.state && !options.store) {
    const outcome = await new Runner(machine, { io, tools, model: options.model, generator, generation: generationReports(options.warn), interrupt: options.interrupt }).run();
    for (const w of generator.finish(outcome.status !== 'failed', machine.linked)) options.warn?.(`warning: ${w}`);
    return { outcome, machine };
  }
  // Read (and checked) before the state directory is made.
  const snapshots = snapshotPolicy();
  if (!options.store) makeStateDir(options.state!);
  const store = options.store ?? new LocalDirRunStore(options.state!);
  let release: () => void;
  try {
    release = store.lock();
  } catch (err) {
    throw stateError(store.location, err, 'use the state directory');
  }
  try {
    const bytes = encodeProgram(program);
    const programSha = sha256(bytes).toString('hex');
    const host: Record<string, Value> = {
      inputFile: options.input ? resolve(options.input) : null,
      tools: options.tools ? resolve(options.tools) : null,
      maxSteps: options.maxSteps ?? null,
      toolTimeoutMs: options.toolTimeoutMs ?? null,
      limits: { ...options.limits },
      args: options.args ?? {},
      initialState: options.initialState ?? {},
      // A resumed run keeps using the same playbook library.
      library: typeof options.library === 'object' ? null : resolve(options.library ?? DEFAULT_LIBRARY_DIR),
      created: new Date().toISOString(),
    };
    const sync = options.sync ?? 'snapshot';
    host.sync = sync;
    if (store.exists()) throw new StateError(`${store.location}: error: ${occupied(store)}`);
    try {
      // No initial snapshot: a run without one resumes from a fresh machine and replays the journal.
      store.create(bytes, encodeRecord({ t: 'start', runId, programSha, at: machine.clock, host }));
    } catch (err) {
      // The start record holds the arguments: ones too deep to encode cannot start a durable run.
      if (err instanceof StateWriteError) throw new StateError(`${store.location}: error: ${err.message} (check the --arg values)`);
      throw stateError(store.location, err, 'create the run');
    }
    const sink = new StoreSink(store, runId, programSha, host, sync);
    machine.start();
    const runner = new Runner(machine, { io, tools, model: options.model, generator, durable: sink, journalRecords: 1, generation: generationReports(options.warn), interrupt: options.interrupt, ...snapshots });
    const outcome = await runner.run();
    if (outcome.status !== 'failed' || !outcome.resumable) for (const w of generator.finish(outcome.status !== 'failed', machine.linked)) options.warn?.(`warning: ${w}`);
    return { outcome, machine, state: store.location };
  } catch (err) {
    if (err instanceof RunStoreError) throw storeFailed(store.location, err);
    throw err;
  } finally {
    release();
  }
}

/**
 * The store failed under a running run (a full disk, an I/O error). The journal holds every
 * effect acted on so far and nothing half-written, so the run continues once the cause is gone.
 */
function storeFailed(where: string, err: RunStoreError): StateError {
  return runKept(where, `${where}: error: ${err.message}`);
}

function runKept(where: string, message: string): StateError {
  return new StateError(`${message}; the run is kept: fix the cause, then continue with: pb resume ${where}`);
}

/** Why `pb run --state DIR` will not start there, and the way out that works for the run it holds. */
function occupied(store: RunStore): string {
  const dir = store.location;
  const elsewhere = `remove it (rm -r ${dir}) or choose another --state directory`;
  let records: JournalRecord[];
  try {
    records = decodeJournal(store.readJournal()).records;
  } catch (err) {
    if (!(err instanceof FormatError) && !(err instanceof RunStoreError)) throw err;
    return `already holds a run whose journal cannot be read (${err.message}); ${elsewhere}`;
  }
  if (records[0]?.t !== 'start') return `already holds a damaged run (its journal has no start record); ${elsewhere}`;
  const last = records[records.length - 1];
  if (last?.t === 'end' && last.final) return `already holds a run that has ended (${last.status} at ${last.at}); ${elsewhere}`;
  return `already holds a run that has not ended; continue it with 'pb resume ${dir}', or remove the directory or choose another --state directory`;
}

interface LoadedRun {
  program: Program;
  programSha: string;
  snapshot?: SnapshotFile;
  start: Extract<JournalRecord, { t: 'start' }>;
  records: JournalRecord[];
  tornTail: boolean;
  /** Bytes of a zero-filled torn tail (what a power loss leaves); 0 for a record cut short. */
  zeroTail: number;
  validLength: number;
}

function loadRun(store: RunStore): LoadedRun {
  const where = store.location;
  try {
    const programBytes = store.readProgram();
    const program = decodeProgram(programBytes);
    const programSha = sha256(programBytes).toString('hex');
    // The snapshot first: a live run (pb inspect) may snapshot meanwhile, and the journal only
    // grows, so a journal read after the snapshot always holds the records it covers.
    const snapBytes = store.readSnapshot();
    const journal = decodeJournal(store.readJournal());
    const start = journal.records[0];
    if (!start || start.t !== 'start') throw new StateError(`${where}: error: journal has no start record (empty or truncated journal)`);
    if (start.programSha !== programSha) throw new StateError(`${where}: error: program.pbasm is not the program this run started with`);
    const snapshot = snapBytes ? decodeSnapshot(snapBytes) : undefined;
    if (snapshot) {
      if (snapshot.programSha !== programSha) throw new StateError(`${where}: error: snapshot belongs to a different program than program.pbasm`);
      // Another run of the same program passes the program check; its state is not this run's.
      if (snapshot.runId !== start.runId) throw new StateError(`${where}: error: snapshot.pbs belongs to run ${snapshot.runId}, not to this run (${start.runId}, as journal.pbj says)`);
      if (journal.records.length < snapshot.journalRecords) {
        throw new StateError(
          `${where}: error: truncated journal: it has ${journal.records.length} records, the snapshot was taken after ${snapshot.journalRecords}`,
        );
      }
    }
    return { program, programSha, snapshot, start, records: journal.records, tornTail: journal.tornTail, zeroTail: journal.zeroTail, validLength: journal.validLength };
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
    const initial = run.start.host?.initialState;
    setInitialState(m, initial && typeof initial === 'object' && !Array.isArray(initial) ? (initial as Record<string, Value>) : undefined);
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
  /** Overrides the tool call limit the run started with (ms; 0: none). */
  toolTimeoutMs?: number;
  interrupt?: AbortSignal;
}

export async function resumeRun(dir: string, options: ResumeOptions = {}): Promise<RunResult> {
  const snapshots = snapshotPolicy();
  const store = options.store ?? new LocalDirRunStore(dir);
  if (!store.exists()) throw new StateError(`${dir}: error: not a pbvm state directory (no journal.pbj)`);
  let release: () => void;
  try {
    release = store.lock();
  } catch (err) {
    throw stateError(dir, err, 'use the state directory');
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
      options.warn?.(
        run.zeroTail
          ? `warning: ${dir}: dropping a zero-filled journal tail of ${run.zeroTail} bytes (writes lost to a power failure)`
          : `warning: ${dir}: dropping an incomplete final journal record (a write interrupted by the crash)`,
      );
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
    const toolTimeoutMs = options.toolTimeoutMs ?? (typeof host.toolTimeoutMs === 'number' ? host.toolTimeoutMs : undefined);
    const tools = await toolHost(toolsPath, run.program, machine.runId, toolTimeoutMs);
    const sync: SyncPolicy = host.sync === 'always' ? 'always' : 'snapshot';
    const sink = new StoreSink(store, run.start.runId, run.programSha, { ...host, limits, ...(options.input ? { inputFile: resolve(options.input) } : {}) }, sync);
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
      ...snapshots,
      interrupt: options.interrupt,
    });
    const outcome = await runner.run();
    if (outcome.status !== 'failed' || !outcome.resumable) for (const w of generator.finish(outcome.status !== 'failed', machine.linked)) options.warn?.(`warning: ${w}`);
    return { outcome, machine, state: dir };
  } catch (err) {
    if (err instanceof RunStoreError) throw storeFailed(dir, err);
    throw err;
  } finally {
    release();
  }
}

/**
 * Where a run stands (`pb inspect`, `pb audit`): finished, halted (End program) and failed are
 * ended runs; incomplete is a journal without an end record: its process is still running, or
 * was killed or crashed, and `pb resume` continues it.
 */
export type RunStatus = 'finished' | 'halted' | 'failed' | 'incomplete';

/** How a run ended: its last journal record, when that is an end record. */
export interface RunEnd {
  status: 'finished' | 'halted' | 'failed';
  at: string;
  /** False for a failure that `pb resume` can get past. */
  final: boolean;
  message: string | null;
}

export interface RunReport {
  dir: string;
  runId: string;
  status: RunStatus;
  /** Whether `pb resume` can continue the run. */
  resumable: boolean;
  /** For an incomplete run, the effect it had begun and not finished (a tool call, a question), in words; else null. */
  waitingOn: string | null;
  /** For an incomplete run waiting on nothing: the last effect the journal has, where its replay caught up; else null. */
  lastEffect: string | null;
  steps: number;
  effects: number;
  /** When the last snapshot was taken (ISO time), or null when there is none (the run replays from the start). */
  snapshotAt: string | null;
  stack: Array<{ agent: string; playbook: string; step: string; line: number; file: string }>;
  state: Record<string, Record<string, Value>>;
  locals: Record<string, Value>;
  lastEffects: JournalRecord[];
  /** Every playbook GeneratePlaybook linked, and every repaired version, in order. */
  generated: GeneratedInfo[];
  /** How the run ended, or null when it has not. */
  ended: RunEnd | null;
  /** Every agent instance: its call stack, the messages waiting in its inbox, what it waits for. */
  instances: InstanceReport[];
  /** Meetings that are going on. */
  meetings: Array<{ id: string; topic: string; host: string; participants: string[]; shared: Record<string, Value> }>;
}

export interface InstanceReport {
  id: string;
  klass: string;
  /** running: frames on its stack; waiting: blocked in WaitForMessage; idle: in its message loop. */
  status: 'running' | 'waiting' | 'idle';
  waitingFor: string | null;
  stack: Array<{ agent: string; playbook: string; step: string; line: number; file: string }>;
  inbox: Value[];
  state: Record<string, Value>;
}

function instanceReports(machine: Machine): InstanceReport[] {
  machine.saveRegisters();
  return machine.instances.map((inst) => {
    const state: Record<string, Value> = {};
    for (const [k, v] of Object.entries(inst.vars)) state[`$${k}`] = toPlain(v);
    const status = inst.wait ? 'waiting' : inst.frames.length ? 'running' : 'idle';
    const top = inst === machine.current && machine.status === 'waiting' ? machine.pendingEffect.effectPc : undefined;
    return {
      id: inst.id,
      klass: inst.klass,
      status,
      waitingFor: inst.wait?.source ?? null,
      stack: machine.frameStack(inst.frames, top).map((s) => ({ agent: s.agent, playbook: s.playbook, step: s.step, line: s.line, file: s.file })),
      inbox: inst.inbox.map((m) => ({ ...m })),
      state,
    };
  });
}

/** status, resumable, waitingOn and ended of a run, from its journal and its replay. */
function standing(run: LoadedRun, waitingOn?: string, lastEffect?: string): Pick<RunReport, 'status' | 'resumable' | 'waitingOn' | 'lastEffect' | 'ended'> {
  const last = run.records[run.records.length - 1];
  if (last?.t === 'end') {
    const ended: RunEnd = { status: last.status, at: last.at, final: last.final, message: last.message ?? null };
    return { status: last.status, resumable: !last.final, waitingOn: null, lastEffect: null, ended };
  }
  return { status: 'incomplete', resumable: true, waitingOn: waitingOn ?? null, lastEffect: waitingOn ? null : lastEffect ?? null, ended: null };
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
 * Reads where a run stands, without taking its lock or changing anything: the last snapshot
 * is re-executed against the journal (performing nothing, calling no model). It stops at the
 * first effect the journal has no result for, or as soon as the last journaled effect has
 * been replayed: past that, only a live process (or `pb resume`) knows where the run is, and
 * re-executing further could take as long as the run itself, or forever (`While True`).
 * A run whose journal ends with its final 'end' record is replayed to that end.
 */
async function replayRun(dir: string): Promise<{ run: LoadedRun; machine: Machine; waitingOn?: string; lastEffect?: string }> {
  const store = new LocalDirRunStore(dir);
  if (!store.exists()) throw new StateError(`${dir}: error: not a pbvm state directory (no journal.pbj)`);
  const run = loadRun(store);
  const machine = machineAt(run, dir, undefined, runLimits(run.start.host ?? {}));
  const io: RunnerIO = { writeLines: () => {}, readLine: async () => null };
  // A run that used the model replays its journaled replies through a driver (natural-language
  // steps included); the model itself is never called: the first unrecorded call ends the replay.
  const usedModel = run.records.some((r) => r.t === 'model');
  const model: ModelHost | undefined = usedModel ? { model: { id: 'journal', complete: async () => Promise.reject(new Error('inspect calls no model')) } } : undefined;
  const runner = new Runner(machine, { io, model, replay: replayFromJournal(run.records), replayOnly: true, generator: new ModelPlaybookGenerator() });
  try {
    const outcome = await runner.run();
    return { run, machine, lastEffect: outcome.status === 'failed' ? `failed on replay: ${outcome.error.message}` : lastEffectText(runner.lastEffect, run, machine) };
  } catch (err) {
    if (err instanceof ReplayCaughtUp) return { run, machine, lastEffect: lastEffectText(err.last, run, machine) };
    if (!(err instanceof ReplayEnd)) throw err;
    // An effect the run had begun: a tool call in flight, a question not yet answered, a model call (kind 'end').
    const e = err.effect.kind === 'end' ? runner.lastEffect : err.effect;
    return e ? { run, machine, waitingOn: effectText(e) } : { run, machine, lastEffect: 'no effect journaled yet' };
  }
}

function effectText(e: Effect): string {
  if (!('at' in e)) return e.kind;
  return `${e.kind}${e.kind === 'tool' ? ` ${e.name} (call ${e.callId})` : ''} at step ${e.at.step}`;
}

function lastEffectText(e: Effect | undefined, run: LoadedRun, machine: Machine): string {
  if (e) return effectText(e);
  if (!run.snapshot) return 'no effect journaled yet';
  const top = machine.callStack().pop();
  return `no effect since the last snapshot${top ? `, taken at step ${top.step}` : ''}`;
}

/** Where a run's enforced procedures stand: every plan, step by step (`pb audit`). */
export interface AuditReport {
  dir: string;
  runId: string;
  status: RunStatus;
  resumable: boolean;
  waitingOn: string | null;
  lastEffect: string | null;
  plans: PlanExecution[];
}

export async function auditRun(dir: string): Promise<AuditReport> {
  const { run, machine, waitingOn, lastEffect } = await replayRun(dir);
  const { status, resumable, waitingOn: waiting, lastEffect: last } = standing(run, waitingOn, lastEffect);
  return { dir, runId: run.start.runId, status, resumable, waitingOn: waiting, lastEffect: last, plans: machine.plans };
}

export async function inspectRun(dir: string, lastN = 10): Promise<RunReport> {
  const { run, machine, waitingOn, lastEffect } = await replayRun(dir);
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
  const { status, resumable, waitingOn: waiting, lastEffect: last, ended } = standing(run, waitingOn, lastEffect);
  const effects = run.records.filter((r) => r.t !== 'start' && r.t !== 'resume');
  return {
    dir,
    runId: run.start.runId,
    status,
    resumable,
    waitingOn: waiting,
    lastEffect: last,
    steps: machine.steps,
    effects: machine.seq,
    snapshotAt: run.snapshot?.takenAt ?? null,
    stack: machine.callStack().map((s) => ({ agent: s.agent, playbook: s.playbook, step: s.step, line: s.line, file: s.file })),
    state,
    locals,
    lastEffects: effects.slice(-lastN),
    generated: generatedInfo(run.records),
    ended,
    instances: instanceReports(machine),
    meetings: machine.meetings.filter((x) => !x.ended).map((x) => ({ id: x.id, topic: x.topic, host: x.host, participants: [...x.participants], shared: x.shared })),
  };
}

/** Says how to get a natural-language step to run when no model is configured. */
export const NO_MODEL_HINT = 'no model is configured: set ANTHROPIC_API_KEY to run natural-language steps on Claude, or pass --replay FILE to answer them from recorded replies';

export function describeOutcome(outcome: RunOutcome, machine: Machine, state?: string): string | undefined {
  if (outcome.status !== 'failed') return undefined;
  const formatted = outcome.error.format(machine.program, (path) => machine.sourceText(path));
  const text = outcome.error.code === 'needs-model' ? `${formatted}\n${NO_MODEL_HINT}` : formatted;
  if (!state) return text;
  // (A conversation that failed by its own replies is started afresh by the resume: vm/durable/retry.ts.)
  const afresh = outcome.error instanceof ConversationFailed ? ' (it starts that conversation afresh)' : '';
  return outcome.resumable
    ? `${text}\nrun state kept in ${state}; fix the cause, then continue with: pb resume ${state}${afresh}`
    : `${text}\nrun state kept in ${state} (this error is in the program itself; resuming would fail the same way)`;
}

export { PbRuntimeError };
