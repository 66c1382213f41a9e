// Diagnostics are API: `file:line:col: severity: message`, then a code frame.
import { codeFrame } from '../vm/pbasm/source-frame.js';
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  /** Stable identifier, e.g. "undefined-playbook". */
  code: string;
  message: string;
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  /** Characters to underline (at least 1). */
  length: number;
}

export interface SourceLookup {
  /** The text of `line` (1-based) in `file`, when available. */
  lineText(file: string, line: number): string | undefined;
}

export function formatDiagnostic(d: Diagnostic, sources?: SourceLookup): string {
  const head = `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}`;
  return head + codeFrame(sources?.lineText(d.file, d.line), d.line, d.col, d.length);
}

export function formatDiagnostics(ds: readonly Diagnostic[], sources?: SourceLookup): string {
  return ds.map((d) => formatDiagnostic(d, sources)).join('\n');
}

export function countErrors(ds: readonly Diagnostic[]): number {
  let n = 0;
  for (const d of ds) if (d.severity === 'error') n++;
  return n;
}

/** Stable order: by file, line, column, then errors before warnings. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.col - b.col ||
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1),
  );
}
