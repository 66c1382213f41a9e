#!/usr/bin/env node
// The `pb` command line.
import { Command, CommanderError } from 'commander';
import { registerCompilerCommands } from './compiler-commands.js';
import { registerRunCommands } from './run-commands.js';
import { registerLibraryCommands } from './library-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { EXIT } from './exit-codes.js';
import { OutputClosed, writeStderr } from '../console-io.js';
import { isSystemError, systemErrorText } from '../io-errors.js';
import { VERSION } from '../version.js';

const program = new Command();
program
  .name('pb')
  .description('pbvm: compile and run markdown playbooks (.pb) on a durable stack VM')
  .version(VERSION)
  // A usage error is one line, with where to find the usage.
  .configureOutput({ outputError: (str, write) => write(`pb: ${str.trimEnd()} (see ${helpHint()})\n`) })
  .exitOverride();

registerCompilerCommands(program);
registerRunCommands(program);
registerLibraryCommands(program);
registerAuditCommands(program);

/** `pb run --help` for an error in `pb run ...`, from the command words on the command line. */
function helpHint(): string {
  const words = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const cmd = program.commands.find((c) => c.name() === words[0]);
  if (!cmd) return 'pb --help';
  const sub = cmd.commands.find((c) => c.name() === words[1]);
  return sub ? `pb ${cmd.name()} ${sub.name()} --help` : `pb ${cmd.name()} --help`;
}

// A reader of stdout that goes away (`pb disasm x.pb | head`) ends the command quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') {
    writeStderr(`pb: error: cannot write to stdout: ${isSystemError(err) ? systemErrorText(err) : err.message}`);
    process.exitCode = EXIT.io;
  }
  process.exit();
});

// Host tools run in this process; a promise one of them rejects with no handler (stray work
// after it answered, or after its call timed out) is reported, and changes no exit code.
process.on('unhandledRejection', (reason) => {
  writeStderr(`pb: warning: a promise rejected with no handler (a host tool's stray work?): ${reason instanceof Error ? reason.message : String(reason)}`);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
  } else if (err instanceof OutputClosed) {
    // Quietly: no one reads stdout any more.
  } else if (isSystemError(err)) {
    writeStderr(`pb: error: ${systemErrorText(err, true)}`);
    process.exitCode = EXIT.io;
  } else {
    process.stderr.write(`pb: error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = EXIT.internal;
  }
}

// Done: exit now rather than wait on whatever a host tool left running (a call that timed
// out, a timer, an open socket). One turn of the event loop first (pending rejections get
// reported), then stdout is flushed.
setImmediate(() => process.stdout.write('', () => process.exit()));
