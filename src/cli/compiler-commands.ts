// pb check | compile | disasm
import type { Command } from 'commander';
import { disassemble } from '../../compiler/disasm.js';
import { countErrors, formatDiagnostics, type Diagnostic } from '../../compiler/diagnostics.js';
import { encodeProgram } from '../../vm/pbasm/container.js';
import { writeFileAtomic } from '../atomic-write.js';
import { compileFile, LoadError, loadProgram } from '../load-program.js';
import { EXIT } from './exit-codes.js';

function summary(ds: Diagnostic[]): string {
  const errors = countErrors(ds);
  const warnings = ds.length - errors;
  return `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
}

/**
 * Warnings `pb check --strict` fails on: code that was read as natural language because it
 * does not parse or names an unknown variable (a typo would otherwise become a model call).
 */
export const STRICT_CODES: ReadonlySet<string> = new Set(['malformed-code', 'nl-fallback', 'unknown-interpolation']);

function fail(err: unknown): void {
  if (err instanceof LoadError) {
    process.stderr.write(`${err.rendered}\n`);
    process.exitCode = err.diagnostics.length ? EXIT.compile : EXIT.io;
    return;
  }
  throw err;
}

/** One file's result in `pb check --json` and `pb compile --json` (documented in the README). */
export interface FileReport {
  file: string;
  /** ok: compiled (maybe with warnings); errors: compile errors; unreadable: could not be read; unwritable: the output could not be written. */
  status: 'ok' | 'errors' | 'unreadable' | 'unwritable';
  errors: number;
  warnings: number;
  diagnostics: Diagnostic[];
  /** The one-line error for unreadable or unwritable, else null. */
  message: string | null;
}

function report(file: string, diagnostics: Diagnostic[], shown: Diagnostic[] = diagnostics): FileReport {
  const errors = countErrors(diagnostics);
  return { file, status: errors ? 'errors' : 'ok', errors, warnings: diagnostics.length - errors, diagnostics: shown, message: null };
}

function unreadable(file: string, err: LoadError): FileReport {
  return { file, status: 'unreadable', errors: 0, warnings: 0, diagnostics: [], message: err.message };
}

const printJson = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** x.pb, x.md, x.yaml, x.yml, x.json -> x.pbasm */
export function defaultOutput(file: string): string {
  return `${file.replace(/\.(pb|md|ya?ml|json)$/i, '')}.pbasm`;
}

export function registerCompilerCommands(program: Command): void {
  program
    .command('check')
    .description('compile .pb (or Locus .yaml/.json) files and report diagnostics only')
    .argument('<files...>', 'files to check')
    .option('--json', 'print one JSON report for all files on stdout (shape: see the README)')
    .option('-q, --quiet', 'print errors only, no warnings')
    .option('--strict', 'also fail (exit 1) on code-looking steps read as natural language (malformed-code, nl-fallback, unknown-interpolation)')
    .action((files: string[], opts: { json?: boolean; quiet?: boolean; strict?: boolean }) => {
      // Every file is checked, also after one that cannot be read.
      const reports: FileReport[] = [];
      for (const file of files) {
        try {
          const r = compileFile(file);
          const shown = opts.quiet ? r.diagnostics.filter((d) => d.severity === 'error' || (opts.strict && STRICT_CODES.has(d.code))) : r.diagnostics;
          reports.push(report(file, r.diagnostics, shown));
          if (!opts.json && shown.length) process.stderr.write(`${formatDiagnostics(shown, r.sources)}\n`);
        } catch (err) {
          if (!(err instanceof LoadError)) throw err;
          reports.push(unreadable(file, err));
          if (!opts.json) process.stderr.write(`${err.rendered}\n`);
        }
      }
      const errors = reports.reduce((n, r) => n + r.errors, 0);
      const warnings = reports.reduce((n, r) => n + r.warnings, 0);
      const unread = reports.filter((r) => r.status === 'unreadable').length;
      const strictFailures = opts.strict ? reports.reduce((n, r) => n + r.diagnostics.filter((d) => d.severity === 'warning' && STRICT_CODES.has(d.code)).length, 0) : 0;
      if (opts.json) printJson({ files: reports, errors, warnings, unreadable: unread, ...(opts.strict ? { strictFailures } : {}) });
      // (When no file could be read, the one-line errors say it all.)
      else if (unread < files.length) {
        const strict = strictFailures ? ` (--strict: ${strictFailures} warning${strictFailures === 1 ? '' : 's'} fail the check)` : '';
        process.stderr.write(`${files.length} file${files.length === 1 ? '' : 's'} checked: ${unread ? `${unread} unreadable, ` : ''}${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}${strict}\n`);
      }
      process.exitCode = unread ? EXIT.io : errors || strictFailures > 0 ? EXIT.compile : EXIT.ok;
    });

  program
    .command('compile')
    .description('compile a .pb (or Locus .yaml/.json) file to a .pbasm bytecode container')
    .argument('<file>', 'source: .pb, .yaml, .yml or .json')
    .option('-o, --output <file>', 'output path (default: <file> with its extension replaced by .pbasm)')
    .option('--json', 'print a JSON report on stdout (shape: see the README)')
    .action((file: string, opts: { output?: string; json?: boolean }) => {
      let r;
      try {
        r = compileFile(file);
      } catch (err) {
        if (!(err instanceof LoadError) || !opts.json) return fail(err);
        printJson({ ...unreadable(file, err), output: null, bytes: null });
        process.exitCode = EXIT.io;
        return;
      }
      const base = report(file, r.diagnostics);
      if (!opts.json && r.diagnostics.length) process.stderr.write(`${formatDiagnostics(r.diagnostics, r.sources)}\n`);
      if (!r.program) {
        if (opts.json) printJson({ ...base, output: null, bytes: null });
        else process.stderr.write(`${file}: not compiled: ${summary(r.diagnostics)}\n`);
        process.exitCode = EXIT.compile;
        return;
      }
      const out = opts.output ?? defaultOutput(file);
      const bytes = encodeProgram(r.program);
      try {
        writeFileAtomic(out, bytes);
      } catch (err) {
        const message = `${out}: error: cannot write: ${(err as Error).message}`;
        if (opts.json) printJson({ ...base, status: 'unwritable', message, output: null, bytes: null });
        else process.stderr.write(`${message}\n`);
        process.exitCode = EXIT.io;
        return;
      }
      if (opts.json) printJson({ ...base, output: out, bytes: bytes.length });
      else process.stderr.write(`${file} -> ${out} (${bytes.length} bytes; ${summary(r.diagnostics)})\n`);
    });

  program
    .command('disasm')
    .description('print the PBAsm listing of a .pbasm or .pb file')
    .argument('<file>', '.pbasm container or .pb source')
    .action((file: string) => {
      try {
        const loaded = loadProgram(file);
        if (loaded.rendered) process.stderr.write(`${loaded.rendered}\n`);
        process.stdout.write(disassemble(loaded.program));
      } catch (err) {
        fail(err);
      }
    });
}
