// Loads a program for the CLI and the API: a .pb source is compiled, a .pbasm container
// is decoded and verified. Either way the caller gets a Program or diagnostics.
import { readFileSync } from 'node:fs';
import { compileSource, type CompileOptions, type CompileResult } from '../compiler/compile.js';
import { compileLocus, isLocusPath } from '../compiler/locus.js';
import { formatDiagnostics, type Diagnostic } from '../compiler/diagnostics.js';
import { decodeProgram, looksLikePbasm } from '../vm/pbasm/container.js';
import { FormatError } from '../vm/pbasm/envelope.js';
import type { Program } from '../vm/pbasm/program.js';
import { nodeSourceHost } from './source-host.js';

export class LoadError extends Error {
  constructor(
    message: string,
    readonly diagnostics: Diagnostic[] = [],
    readonly rendered = message,
  ) {
    super(message);
  }
}

export function compileFile(path: string, options: CompileOptions = {}): CompileResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LoadError(`${path}: error: cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return compileText(text, path, options);
}

/** A `.pb` source, or a Locus playbook (`.yaml`, `.yml`, `.json`). */
function compileText(text: string, path: string, options: CompileOptions): CompileResult {
  return isLocusPath(path) ? compileLocus(text, path, options) : compileSource(text, path, { host: nodeSourceHost, ...options });
}

export interface LoadedProgram {
  program: Program;
  diagnostics: Diagnostic[];
  rendered: string;
}

/** A .pbasm file (by content), a .pb source or a Locus playbook; throws LoadError on any problem. */
export function loadProgram(path: string, options: CompileOptions = {}): LoadedProgram {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new LoadError(`${path}: error: cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (looksLikePbasm(bytes) || path.endsWith('.pbasm')) {
    try {
      return { program: decodeProgram(bytes), diagnostics: [], rendered: '' };
    } catch (err) {
      if (err instanceof FormatError) throw new LoadError(`${path}: error: ${err.message}`);
      throw err;
    }
  }
  const result = compileText(bytes.toString('utf8'), path, options);
  const rendered = formatDiagnostics(result.diagnostics, result.sources);
  if (!result.program) throw new LoadError(`${path}: ${result.errorCount} error(s)`, result.diagnostics, rendered);
  return { program: result.program, diagnostics: result.diagnostics, rendered };
}
