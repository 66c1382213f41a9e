// What a Runner needs from its host and hands back: the program's input and output, host
// tools, the model, where a durable run keeps its state, and how a run ends.
import type { Effect, ToolEffect } from './effects.js';
import type { PbRuntimeError } from './errors.js';
import type { Machine } from './machine.js';
import type { DriverOptions } from './model/driver.js';
import type { CallSite, Model, ModelReply } from './model/protocol.js';
import type { PlaybookGenerator } from './generate.js';
import type { LinkerOptions } from './linker.js';
import type { Value } from './pbasm/program.js';
import type { JournalRecord } from './durable/journal.js';
import type { ReplayLog } from './durable/replay-log.js';

export type { GenerateEffect, NLEffect, ToolEffect } from './effects.js';

export interface RunnerIO {
  /** Writes complete lines to the program's output (stdout); one call per flush. */
  writeLines(lines: string[]): void;
  /** Reads one line of user input; null at end of input. */
  readLine(): Promise<string | null>;
}

/** Thrown by a ToolHost when no tool of that name exists (a call that takes too long: ToolTimeout). */
export class ToolNotFound extends Error {}

export interface ToolHost {
  call(effect: ToolEffect): Promise<unknown>;
  /** Tool names the model may call (listed in its prompt). */
  names?(): string[];
  /** The same tools as `Name(param, ...)`, for the model's listing. */
  signatures?(): string[];
}

/** The model configuration a runner uses for natural-language work. */
export interface ModelHost {
  model: Model;
  driver?: Partial<Omit<DriverOptions, 'model'>>;
  /** Stop with an error after this many model calls in this process. */
  maxCalls?: number;
  /**
   * Have the model phrase the question of a deterministic `Ask user for $x` (default false: the
   * question is the step's own words). An agent's `phrase_questions: true|false` metadata wins.
   * A durable run must be resumed with the same setting (`pb run --phrase` writes it into the
   * program's agent metadata instead, so it is kept with the run).
   */
  phraseAsks?: boolean;
  /** Told about every completed model call (accounting, progress). */
  onCall?: (site: CallSite, reply: ModelReply, replayed: boolean) => void;
}

/** Where a durable run keeps its journal and snapshots. */
export interface DurableSink {
  append(records: JournalRecord[]): void;
  snapshot(machine: Machine, journalRecords: number): void;
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
  /**
   * Re-execute only what the journal recorded, performing nothing: stop at the first new
   * effect, or (ReplayCaughtUp) as soon as the last journaled one has been replayed.
   */
  replayOnly?: boolean;
  /** Raised to stop the run at once (the runner throws Interrupted); the journal stays resumable. */
  interrupt?: AbortSignal;
  /** Writes, checks and compiles playbooks for GeneratePlaybook (injected by the host). */
  generator?: PlaybookGenerator;
  /** Generated playbooks may call GeneratePlaybook up to this depth. */
  maxGenerationDepth?: number;
  /** Regeneration limits, and reports of what was generated (vm/linker.ts). */
  generation?: Omit<LinkerOptions, 'generator' | 'maxGenerationDepth'>;
}

export type RunOutcome =
  | { status: 'finished' | 'halted'; value: Value }
  | { status: 'failed'; error: PbRuntimeError; resumable: boolean };

