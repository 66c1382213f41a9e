// Running programs: fresh runs (optionally durable with a state directory), resuming a
// durable run, and reading where a run stands. This is the host side of the VM: it wires
// console I/O, host tools, the model and the run store into a Runner.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { encodeProgram, decodeProgram } from '../vm/pbasm/container.js';
import { FormatError, sha256 } from '../vm/pbasm/envelope.js';
import type { Program, Value } from '../vm/pbasm/program.js';
import { Machine } from '../vm/machine.js';
import { PbRuntimeError } from '../vm/errors.js';
import { decodeJournal, encodeRecord, type JournalRecord } from '../vm/durable/journal.js';
import { captureMachine, decodeSnapshot, encodeSnapshot, restoreMachine, type SnapshotFile } from '../vm/durable/snapshot.js';
import { replayFromJournal, Runner, type DurableSink, type ModelHost, type RunOutcome, type RunnerIO, type ToolHost } from '../vm/runner.js';
import { consoleIO, FileLineReader, StreamLineReader } from './console-io.js';
import { LocalDirRunStore, RunStoreError, type RunStore } from './run-store.js';
import { loadToolModule, ModuleToolHost } from './tools.js';

export interface RunOptions {
  /** State directory: makes the run durable and resumable. */
  state?: string;
  /** Read user input from this file instead of stdin. */
  input?: string;
  /** Module whose exported functions become host tools. */
  tools?: string;
  maxSteps?: number;
  model?: ModelHost;
  /** Overrides console I/O (tests, embedding). */
  io?: RunnerIO;
  /** Custom run store (defaults to a local directory at `state`). */
  store?: RunStore;
}

export interface RunResult {
  outcome: RunOutcome;
  machine: Machine;
  /** Where the durable state lives, when there is one. */
  state?: string;
}

/** A state directory that cannot be used: corrupt, truncated, finished, locked. */
export class StateError extends Error {}

/** Journal records that must reach the disk before the effect they announce happens. */
const SYNCED: ReadonlySet<JournalRecord['t']> = new Set(['start', 'tool-start', 'tool-done', 'input', 'model', 'generate', 'end']);

class StoreSink implements DurableSink {
  constructor(
    private readonly store: RunStore,
    private readonly programSha: string,
    private readonly host: Record<string, Value>,
  ) {}

  append(records: JournalRecord[]): void {
    const parts = records.map(encodeRecord);
    this.store.appendJournal(parts.length === 1 ? parts[0]! : Buffer.concat(parts), records.some((r) => SYNCED.has(r.t)));
  }

  snapshot(machine: Machine, journalRecords: number): void {
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

export async function runProgram(program: Program, options: RunOptions = {}): Promise<RunResult> {
  const runId = randomBytes(6).toString('hex');
  const machine = new Machine(program, { maxSteps: options.maxSteps, runId });
  const io = options.io ?? consoleIO(inputReader(options.input, 0));
  const tools = await toolHost(options.tools, program, runId);
  if (!options.state && !options.store) {
    const outcome = await new Runner(machine, { io, tools, model: options.model }).run();
    return { outcome, machine };
  }
  const store = options.store ?? new LocalDirRunStore(options.state!);
  const release = store.lock();
  try {
    const bytes = encodeProgram(program);
    const programSha = sha256(bytes).toString('hex');
    try {
      store.create(bytes);
    } catch (err) {
      if (err instanceof RunStoreError) throw new StateError(err.message);
      throw err;
    }
    const host: Record<string, Value> = {
      inputFile: options.input ? resolve(options.input) : null,
      tools: options.tools ? resolve(options.tools) : null,
      maxSteps: options.maxSteps ?? null,
      created: new Date().toISOString(),
    };
    const sink = new StoreSink(store, programSha, host);
    sink.append([{ t: 'start', runId, programSha, at: new Date().toISOString() }]);
    machine.start();
    const runner = new Runner(machine, { io, tools, model: options.model, durable: sink, journalRecords: 1 });
    runner.checkpoint();
    const outcome = await runner.run();
    return { outcome, machine, state: store.location };
  } finally {
    release();
  }
}

interface LoadedRun {
  program: Program;
  programSha: string;
  snapshot: SnapshotFile;
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
    const snapBytes = store.readSnapshot();
    if (!snapBytes) throw new StateError(`${where}: error: no snapshot (snapshot.pbs is missing); the run cannot be resumed`);
    const snapshot = decodeSnapshot(snapBytes);
    if (snapshot.programSha !== programSha) throw new StateError(`${where}: error: snapshot belongs to a different program than program.pbasm`);
    const journal = decodeJournal(store.readJournal());
    if (journal.records.length < snapshot.journalRecords) {
      throw new StateError(
        `${where}: error: truncated journal: it has ${journal.records.length} records, the snapshot was taken after ${snapshot.journalRecords}`,
      );
    }
    return { program, programSha, snapshot, records: journal.records, tornTail: journal.tornTail, validLength: journal.validLength };
  } catch (err) {
    if (err instanceof FormatError) throw new StateError(`${where}: error: ${err.message}`);
    if (err instanceof RunStoreError) throw new StateError(`${where}: error: ${err.message}`);
    throw err;
  }
}

export interface ResumeOptions {
  input?: string;
  tools?: string;
  maxSteps?: number;
  model?: ModelHost;
  io?: RunnerIO;
  store?: RunStore;
  /** Told about recoverable oddities, e.g. a torn journal tail being dropped. */
  warn?: (message: string) => void;
}

export async function resumeRun(dir: string, options: ResumeOptions = {}): Promise<RunResult> {
  const store = options.store ?? new LocalDirRunStore(dir);
  if (!store.exists()) throw new StateError(`${dir}: error: not a pbvm state directory (no program.pbasm or journal.pbj)`);
  let release: () => void;
  try {
    release = store.lock();
  } catch (err) {
    if (err instanceof RunStoreError) throw new StateError(`${dir}: error: ${err.message}`);
    throw err;
  }
  try {
    const run = loadRun(store);
    const end = [...run.records].reverse().find((r) => r.t === 'end') as Extract<JournalRecord, { t: 'end' }> | undefined;
    const lastIsEnd = run.records[run.records.length - 1]?.t === 'end';
    if (end && end.final && lastIsEnd) {
      const how = end.status === 'failed' ? `failed: ${end.message ?? 'runtime error'}` : `${end.status} at ${end.at}`;
      throw new StateError(`${dir}: error: the run has already ended (${how}); there is nothing to resume`);
    }
    const status = run.snapshot.machine.status;
    if (status === 'finished' || status === 'halted') throw new StateError(`${dir}: error: the run has already ended (${status}); there is nothing to resume`);
    if (run.tornTail) {
      options.warn?.(`${dir}: dropping an incomplete final journal record (a write interrupted by the crash)`);
      store.truncateJournal(run.validLength);
    }
    const host = run.snapshot.host;
    const maxSteps = options.maxSteps ?? (typeof host.maxSteps === 'number' ? host.maxSteps : undefined);
    let machine: Machine;
    try {
      machine = restoreMachine(run.program, run.snapshot.machine, { maxSteps });
    } catch (err) {
      if (err instanceof FormatError) throw new StateError(`${dir}: error: ${err.message}`);
      throw err;
    }
    const inputsSeen = run.records.filter((r) => r.t === 'input').length;
    const inputFile = options.input ?? (typeof host.inputFile === 'string' ? host.inputFile : undefined);
    const io = options.io ?? consoleIO(inputReader(inputFile, options.input ? 0 : inputsSeen));
    const toolsPath = options.tools ?? (typeof host.tools === 'string' ? host.tools : undefined);
    const tools = await toolHost(toolsPath, run.program, machine.runId);
    const sink = new StoreSink(store, run.programSha, { ...host, ...(options.input ? { inputFile: resolve(options.input) } : {}) });
    sink.append([{ t: 'resume', at: new Date().toISOString(), fromSeq: machine.seq }]);
    const runner = new Runner(machine, {
      io,
      tools,
      model: options.model,
      durable: sink,
      replay: replayFromJournal(run.records),
      journalRecords: run.records.length + 1,
    });
    const outcome = await runner.run();
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
  ended?: { status: string; message?: string; at: string; final: boolean };
}

/** Reads where a run stands, without taking its lock or changing anything. */
export function inspectRun(dir: string, lastN = 10): RunReport {
  const store = new LocalDirRunStore(dir);
  if (!store.exists()) throw new StateError(`${dir}: error: not a pbvm state directory (no program.pbasm or journal.pbj)`);
  const run = loadRun(store);
  let machine: Machine;
  try {
    machine = restoreMachine(run.program, run.snapshot.machine);
  } catch (err) {
    if (err instanceof FormatError) throw new StateError(`${dir}: error: ${err.message}`);
    throw err;
  }
  const top = machine.frames[machine.frames.length - 1];
  const locals: Record<string, Value> = {};
  if (top) {
    top.code.locals.forEach((name, i) => {
      const v = top.locals[i];
      if (!name.startsWith('%') && v !== undefined) locals[name] = plain(v);
    });
  }
  const state: Record<string, Record<string, Value>> = {};
  for (const [agent, vars] of Object.entries(machine.state)) {
    state[agent] = {};
    for (const [k, v] of Object.entries(vars)) state[agent]![`$${k}`] = plain(v);
  }
  const end = [...run.records].reverse().find((r) => r.t === 'end') as Extract<JournalRecord, { t: 'end' }> | undefined;
  const effects = run.records.filter((r) => r.t !== 'out-done' && r.t !== 'start' && r.t !== 'resume');
  return {
    dir,
    runId: machine.runId,
    status: end && run.records[run.records.length - 1]?.t === 'end' ? end.status : machine.status,
    steps: machine.steps,
    effects: machine.seq,
    snapshotAt: run.snapshot.takenAt,
    stack: machine.callStack().map((s) => ({ agent: s.agent, playbook: s.playbook, step: s.step, line: s.line, file: s.file })),
    state,
    locals,
    lastEffects: effects.slice(-lastN),
    ...(end ? { ended: { status: end.status, at: end.at, final: end.final, ...(end.message ? { message: end.message } : {}) } } : {}),
  };
}

function plain(v: unknown): Value {
  return JSON.parse(JSON.stringify(v, (_k, x) => (x === undefined ? null : typeof x === 'object' && x && x.constructor?.name === 'PlaybookRef' ? String(x) : x))) as Value;
}

export function describeOutcome(outcome: RunOutcome, program: Program, state?: string): string | undefined {
  if (outcome.status !== 'failed') return undefined;
  const text = outcome.error.format(program);
  if (!state) return text;
  return outcome.resumable
    ? `${text}\nrun state kept in ${state}; fix the cause, then continue with: pb resume ${state}`
    : `${text}\nrun state kept in ${state} (this error is in the program itself; resuming would fail the same way)`;
}

export { PbRuntimeError };
