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
  | 'unsupported';

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

  /** `file:line:col: error: message`, a code frame, then the call stack innermost first. */
  format(program: Program): string {
    const at = this.where;
    if (!at) return `error: ${this.message}`;
    const fileIndex = program.files.findIndex((f) => f.path === at.file);
    const lineText = fileIndex >= 0 ? program.sources[fileIndex]?.split(/\r\n|\r|\n/)[at.line - 1] : undefined;
    const head = `${at.file}:${at.line}:${at.col}: error: ${this.message}`;
    const frame = codeFrame(lineText, at.line, at.col, Math.max(1, (lineText?.length ?? 1) - at.col + 1));
    const trace = [...this.stack_].reverse().map((s) => `  in ${s.agent}.${s.playbook} step ${s.step} (${s.file}:${s.line})`);
    return `${head}${frame}\n${trace.join('\n')}`;
  }
}
