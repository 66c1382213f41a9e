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

export function registerCompilerCommands(program: Command): void {
  program
    .command('check')
    .description('compile .pb files and report diagnostics only')
    .argument('<files...>', '.pb files to check')
    .option('--json', 'print diagnostics as JSON on stdout')
    .option('-q, --quiet', 'print errors only, no warnings')
    .option('--strict', 'also fail (exit 1) on code-looking steps read as natural language (malformed-code, nl-fallback, unknown-interpolation)')
    .action((files: string[], opts: { json?: boolean; quiet?: boolean; strict?: boolean }) => {
      const all: Diagnostic[] = [];
      let failed = false;
      for (const file of files) {
        try {
          const r = compileFile(file);
          const shown = opts.quiet ? r.diagnostics.filter((d) => d.severity === 'error' || (opts.strict && STRICT_CODES.has(d.code))) : r.diagnostics;
          all.push(...r.diagnostics);
          if (!opts.json && shown.length) process.stderr.write(`${formatDiagnostics(shown, r.sources)}\n`);
          if (r.errorCount > 0) failed = true;
        } catch (err) {
          if (!(err instanceof LoadError)) throw err;
          process.stderr.write(`${err.rendered}\n`);
          process.exitCode = EXIT.io;
          return;
        }
      }
      const strictFailures = opts.strict ? all.filter((d) => d.severity === 'warning' && STRICT_CODES.has(d.code)).length : 0;
      if (opts.json) process.stdout.write(`${JSON.stringify({ diagnostics: all }, null, 2)}\n`);
      else {
        const strict = strictFailures ? ` (--strict: ${strictFailures} warning${strictFailures === 1 ? '' : 's'} fail the check)` : '';
        process.stderr.write(`${files.length} file${files.length === 1 ? '' : 's'} checked: ${summary(all)}${strict}\n`);
      }
      process.exitCode = failed || strictFailures > 0 ? EXIT.compile : EXIT.ok;
    });

  program
    .command('compile')
    .description('compile a .pb file to a .pbasm bytecode container')
    .argument('<file>', '.pb source')
    .option('-o, --output <file>', 'output path (default: <file> with .pbasm)')
    .option('--json', 'print diagnostics as JSON on stdout')
    .action((file: string, opts: { output?: string; json?: boolean }) => {
      let r;
      try {
        r = compileFile(file);
      } catch (err) {
        return fail(err);
      }
      if (opts.json) process.stdout.write(`${JSON.stringify({ diagnostics: r.diagnostics }, null, 2)}\n`);
      else if (r.diagnostics.length) process.stderr.write(`${formatDiagnostics(r.diagnostics, r.sources)}\n`);
      if (!r.program) {
        if (!opts.json) process.stderr.write(`${file}: not compiled: ${summary(r.diagnostics)}\n`);
        process.exitCode = EXIT.compile;
        return;
      }
      const out = opts.output ?? file.replace(/\.(pb|md)$/i, '') + '.pbasm';
      const bytes = encodeProgram(r.program);
      try {
        writeFileAtomic(out, bytes);
      } catch (err) {
        process.stderr.write(`${out}: error: cannot write: ${(err as Error).message}\n`);
        process.exitCode = EXIT.io;
        return;
      }
      if (!opts.json) process.stderr.write(`${file} -> ${out} (${bytes.length} bytes; ${summary(r.diagnostics)})\n`);
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
