// Runtime errors carry where they happened: agent, playbook, PBAsm step id and source
// position, plus the call stack, and render like compile diagnostics.
import { codeFrame } from './pbasm/source-frame.js';
import type { Program } from './pbasm/program.js';

export interface StackEntry {
  agent: string;
  playbook: string;
  step: string;
  file: string;
  line: number;
  col: number;
}

export type RuntimeErrorCode =
  | 'undefined-variable'
  | 'type-error'
  | 'index-error'
  | 'key-error'
  | 'value-error'
  | 'division-by-zero'
  | 'foreign-call'
  | 'step-budget'
  | 'stack-overflow'
  | 'call-error'
  | 'undefined-playbook'
  | 'not-public'
  | 'tool-error'
  | 'needs-model'
  | 'input-eof'
  | 'model-error'
  | 'generation-error'
  | 'generated-step-budget'
  | 'failed'
  | 'contract-violation'
  | 'step-failed'
  | 'plan-incomplete'
  | 'unsupported'
  /** Agent instances wait for each other's messages and none can go on. */
  | 'deadlock'
  /** A value the program made (or was handed) broke a limit of vm/limits.ts. */
  | 'limit-exceeded'
  /** The run state could not be snapshotted or journaled; the previous snapshot and journal stand. */
  | 'state-unwritable';

/** Frames shown at each end of a long call stack in a formatted error. */
const STACK_ENDS = 10;

export class PbRuntimeError extends Error {
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    readonly stack_: StackEntry[],
  ) {
    super(message);
    this.name = 'PbRuntimeError';
  }

  get where(): StackEntry | undefined {
    return this.stack_[this.stack_.length - 1];
  }

  /**
   * `file:line:col: error: message`, a code frame, then the call stack innermost first.
   * `sourceText` finds sources the program does not hold (generated playbooks'; see Machine.sourceText).
   */
  format(program: Program, sourceText?: (path: string) => string | undefined): string {
    const at = this.where;
    if (!at) return `error: ${this.message}`;
    const fileIndex = program.files.findIndex((f) => f.path === at.file);
    const text = fileIndex >= 0 ? program.sources[fileIndex] : sourceText?.(at.file);
    const lineText = text?.split(/\r\n|\r|\n/)[at.line - 1];
    const head = `${at.file}:${at.line}:${at.col}: error: ${this.message}`;
    const frame = codeFrame(lineText, at.line, at.col, Math.max(1, (lineText?.length ?? 1) - at.col + 1));
    // Innermost first; runs of identical frames (deep recursion) collapse to one line and a count.
    const entries: Array<{ line: string; frames: number }> = [];
    for (const s of [...this.stack_].reverse()) {
      const line = `  in ${s.agent}.${s.playbook} step ${s.step} (${s.file}:${s.line})`;
      const last = entries[entries.length - 1];
      if (last && last.line === line) last.frames++;
      else entries.push({ line, frames: 1 });
    }
    // A long stack of different frames (mutual recursion) shows its two ends and a count.
    const shown = entries.length > STACK_ENDS * 2 + 1 ? [...entries.slice(0, STACK_ENDS), undefined, ...entries.slice(-STACK_ENDS)] : entries;
    const hidden = entries.slice(STACK_ENDS, -STACK_ENDS).reduce((n, e) => n + e.frames, 0);
    const lines: string[] = [];
    for (const e of shown) {
      if (!e) {
        lines.push(`  ... ${hidden} more frames ...`);
        continue;
      }
      lines.push(e.line);
      const repeats = e.frames - 1;
      if (repeats > 0) lines.push(`  ... (previous line repeated ${repeats} more time${repeats === 1 ? '' : 's'})`);
    }
    return `${head}${frame}\n${lines.join('\n')}`;
  }
}

/**
 * A playbook the model called from a natural-language step failed for good (a generated one
 * whose versions ran out). Its frames are gone; the model is told, as the call's tool result,
 * and its step goes on: the caller's plan deals with it.
 */
export class PlaybookCallFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlaybookCallFailed';
  }
}

/**
 * The plan of an enforced procedure rejected a tool the model called (vm/plan.ts). The call
 * did not run; the model gets a structured tool result saying why, with the step's hints.
 */
export class ToolCallRejected extends Error {
  constructor(
    readonly tool: string,
    readonly reason: string,
    readonly expectedTools: string[],
    readonly hints: string[],
  ) {
    super(`call to '${tool}' rejected: ${reason}`);
    this.name = 'ToolCallRejected';
  }
}

/**
 * The model asked to call something it may not call from a natural-language step: a name that
 * is no playbook or tool, a playbook of another agent that is not public, or a python playbook
 * (pbvm does not run python). Nothing ran; the model gets a tool error with the reason and the
 * names it can call, and its step goes on (as in Playbooks AI).
 */
export class PlaybookCallRefused extends Error {
  constructor(
    readonly name_: string,
    readonly reason: string,
    readonly callable: string[],
  ) {
    super(`call to '${name_}' refused: ${reason}`);
    this.name = 'PlaybookCallRefused';
  }
}

/**
 * The run state could not be encoded for a snapshot or a journal record (over the state-bytes
 * limit, or the encoder refused it). Nothing was written; the runner reports `state-unwritable`.
 */
export class StateWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateWriteError';
  }
}
