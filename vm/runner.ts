// Drives a Machine: performs the effects it asks for, and, for a durable run, journals
// each one before acting on it. On resume the journal is replayed: a recorded result is
// handed back instead of repeating the effect (Temporal's rule), printed lines are not
// printed again, and a tool call that was in flight is issued again with the same call id.
import type { Effect } from './effects.js';
import { PbRuntimeError, type RuntimeErrorCode } from './errors.js';
import type { Machine } from './machine.js';
import type { Value } from './pbasm/program.js';
import type { JournalRecord } from './durable/journal.js';
import { fromForeign } from './values.js';

export type ToolEffect = Extract<Effect, { kind: 'tool' }>;
export type NLEffect = Extract<Effect, { kind: 'nl' }>;
export type GenerateEffect = Extract<Effect, { kind: 'generate' }>;

export interface RunnerIO {
  /** Writes complete lines to the program's output (stdout); one call per flush. */
  writeLines(lines: string[]): void;
  /** Reads one line of user input; null at end of input. */
  readLine(): Promise<string | null>;
}

/** Thrown by a ToolHost when no tool of that name exists. */
export class ToolNotFound extends Error {}

export interface ToolHost {
  call(effect: ToolEffect): Promise<unknown>;
}

export interface ModelHost {
  /** Performs a natural-language step; returns the value (text, boolean, ...) for the machine. */
  perform(effect: NLEffect, machine: Machine): Promise<{ value: Value; record: Value }>;
  /** Replays a recorded reply into a value (and any side effects the reply implies). */
  replay?(effect: NLEffect, record: Value, machine: Machine): Value;
}

/** Where a durable run keeps its journal and snapshots. */
export interface DurableSink {
  append(records: JournalRecord[]): void;
  snapshot(machine: Machine, journalRecords: number): void;
}

export interface ReplayLog {
  /** Output with seq <= this was written before. */
  outputDoneUpto: number;
  inputs: Map<number, string>;
  toolsStarted: Set<number>;
  toolsDone: Map<number, Value>;
  models: Map<number, Value>;
  generates: Map<number, Value>;
}

export function emptyReplay(): ReplayLog {
  return { outputDoneUpto: 0, inputs: new Map(), toolsStarted: new Set(), toolsDone: new Map(), models: new Map(), generates: new Map() };
}

export function replayFromJournal(records: JournalRecord[]): ReplayLog {
  const r = emptyReplay();
  for (const rec of records) {
    switch (rec.t) {
      case 'out':
        for (const [seq] of rec.lines) if (seq > r.outputDoneUpto) r.outputDoneUpto = seq;
        break;
      case 'input':
        r.inputs.set(rec.seq, rec.text);
        break;
      case 'tool-start':
        r.toolsStarted.add(rec.seq);
        break;
      case 'tool-done':
        r.toolsDone.set(rec.seq, rec.result);
        break;
      case 'model':
        r.models.set(rec.seq, rec.reply);
        break;
      case 'generate':
        r.generates.set(rec.seq, rec.result);
        break;
      default:
        break;
    }
  }
  return r;
}

export interface RunnerOptions {
  io: RunnerIO;
  tools?: ToolHost;
  model?: ModelHost;
  durable?: DurableSink;
  replay?: ReplayLog;
  /** Journal records already on disk (a resumed run). */
  journalRecords?: number;
  /** Flush buffered output after this many lines or milliseconds. */
  flushLines?: number;
  flushMs?: number;
  /** Snapshot at most this often (ms) and at least every this many effects. */
  snapshotMs?: number;
  snapshotEffects?: number;
  /** Called after each effect completes, e.g. for a progress line. */
  onEffect?: (effect: Effect) => void;
  /** Re-execute only what the journal recorded, performing nothing; stop at the first new effect. */
  replayOnly?: boolean;
}

/** Thrown in replay-only mode at the first effect the journal has no record of. */
export class ReplayEnd extends Error {
  constructor(readonly effect: Effect) {
    super('end of recorded history');
  }
}

export type RunOutcome =
  | { status: 'finished' | 'halted'; value: Value }
  | { status: 'failed'; error: PbRuntimeError; resumable: boolean };

/** Failures that a later `pb resume` can get past (the cause is outside the program). */
const RESUMABLE: ReadonlySet<RuntimeErrorCode> = new Set(['tool-error', 'input-eof', 'step-budget', 'needs-model', 'undefined-playbook']);

export class Runner {
  private readonly out: Array<[number, string]> = [];
  private outSince = 0;
  private journalCount: number;
  private lastSnapshot = 0;
  private effectsSinceSnapshot = 0;
  private readonly replay: ReplayLog;

  constructor(
    readonly machine: Machine,
    private readonly options: RunnerOptions,
  ) {
    this.replay = options.replay ?? emptyReplay();
    this.journalCount = options.journalRecords ?? 0;
  }

  private journal(...records: JournalRecord[]): void {
    if (!this.options.durable) return;
    this.options.durable.append(records);
    this.journalCount += records.length;
  }

  private output(seq: number, text: string): void {
    if (seq <= this.replay.outputDoneUpto || this.options.replayOnly) return;
    // One Say is one line: a value with newlines is still one logical line of output.
    if (this.out.length === 0) this.outSince = performance.now();
    this.out.push([seq, text]);
    if (this.out.length >= (this.options.flushLines ?? 256) || performance.now() - this.outSince >= (this.options.flushMs ?? 20)) this.flush();
  }

  /**
   * Journal the lines, then write them. A resume treats journaled lines as printed, so no
   * line is ever printed twice. The record and the write are two consecutive system calls;
   * the only loss window is a kill between them. (Writing first would leave a wider window:
   * a write to a pipe wakes the reader, which can preempt us before the record is appended.)
   */
  flush(): void {
    if (this.out.length === 0) return;
    const lines = this.out.splice(0, this.out.length);
    const texts = lines.map(([, text]) => text);
    this.journal({ t: 'out', lines });
    this.options.io.writeLines(texts);
  }

  private maybeSnapshot(force = false): void {
    const sink = this.options.durable;
    if (!sink) return;
    this.effectsSinceSnapshot++;
    const now = performance.now();
    if (!force && now - this.lastSnapshot < (this.options.snapshotMs ?? 250) && this.effectsSinceSnapshot < (this.options.snapshotEffects ?? 1000)) return;
    this.flush();
    sink.snapshot(this.machine, this.journalCount);
    this.lastSnapshot = now;
    this.effectsSinceSnapshot = 0;
  }

  async run(): Promise<RunOutcome> {
    const m = this.machine;
    for (;;) {
      let effect: Effect;
      try {
        effect = m.run();
      } catch (err) {
        if (err instanceof PbRuntimeError) return this.failed(err);
        throw err;
      }
      try {
        if (effect.kind === 'end') {
          this.flush();
          // The final 'end' record is what marks the run finished; no snapshot is needed.
          this.journal({ t: 'end', status: effect.status, final: true, at: new Date().toISOString() });
          return { status: effect.status, value: effect.value };
        }
        if (effect.kind === 'say') {
          this.output(effect.seq, effect.text);
          m.resume();
          // Snapshots wait for a slower effect; says are cheap and frequent.
          continue;
        }
        this.flush();
        await this.perform(effect);
        this.options.onEffect?.(effect);
        this.maybeSnapshot();
      } catch (err) {
        if (err instanceof PbRuntimeError) return this.failed(err);
        throw err;
      }
    }
  }

  private failed(error: PbRuntimeError): RunOutcome {
    const resumable = RESUMABLE.has(error.code);
    this.flush();
    this.journal({ t: 'end', status: 'failed', final: !resumable, message: error.message, at: new Date().toISOString() });
    return { status: 'failed', error, resumable };
  }

  private async perform(effect: Exclude<Effect, { kind: 'end' | 'say' }>): Promise<void> {
    const m = this.machine;
    switch (effect.kind) {
      case 'ask': {
        if (effect.prompt) {
          this.output(effect.seq, effect.prompt);
          this.flush();
        }
        let text = this.replay.inputs.get(effect.seq);
        if (text === undefined && this.options.replayOnly) throw new ReplayEnd(effect);
        if (text === undefined) {
          const line = await this.options.io.readLine();
          if (line === null) {
            const what = effect.variable && effect.variable !== '?' ? ` for ${effect.variable}` : '';
            throw m.fail('input-eof', `end of input while asking${what}`);
          }
          text = line;
          this.journal({ t: 'input', seq: effect.seq, text });
        }
        m.resume(text);
        return;
      }
      case 'tool': {
        const recorded = this.replay.toolsDone.get(effect.seq);
        if (recorded !== undefined || this.replay.toolsDone.has(effect.seq)) {
          m.resume(recorded ?? null);
          return;
        }
        if (this.options.replayOnly) throw new ReplayEnd(effect);
        const tools = this.options.tools;
        if (!tools) throw m.fail('undefined-playbook', `'${effect.name}' is not a playbook of this program and no host tools are loaded (pb run --tools MODULE)`);
        if (!this.replay.toolsStarted.has(effect.seq)) {
          this.journal({ t: 'tool-start', seq: effect.seq, callId: effect.callId, name: effect.name, args: effect.args, kwargs: effect.kwargs });
        }
        let result: Value;
        try {
          result = fromForeign(await tools.call(effect));
        } catch (err) {
          if (err instanceof ToolNotFound) throw m.fail('undefined-playbook', err.message);
          throw m.fail('tool-error', `tool '${effect.name}' failed (call ${effect.callId}): ${(err as Error)?.message ?? String(err)}`);
        }
        this.journal({ t: 'tool-done', seq: effect.seq, result });
        m.resume(result);
        return;
      }
      case 'nl': {
        const recorded = this.replay.models.get(effect.seq);
        const model = this.options.model;
        if (recorded !== undefined && model?.replay) {
          m.resume(model.replay(effect, recorded, m));
          return;
        }
        if (this.options.replayOnly) throw new ReplayEnd(effect);
        if (!model) {
          const what = effect.mode === 'cond' ? 'condition' : effect.mode === 'value' ? 'value' : 'step';
          throw m.fail('needs-model', `step ${effect.at.step} is a natural-language ${what} and needs a model, but none is configured: ${effect.info.text}`);
        }
        const { value, record } = await model.perform(effect, m);
        this.journal({ t: 'model', seq: effect.seq, reply: record });
        m.resume(value);
        return;
      }
      case 'generate':
        throw m.fail('unsupported', 'GeneratePlaybook is not available: dynamic playbook generation is not enabled in this build');
    }
  }
}
