#!/usr/bin/env node
// The `pb` command line.
import { Command, CommanderError } from 'commander';
import { registerCompilerCommands } from './compiler-commands.js';
import { registerRunCommands } from './run-commands.js';
import { registerLibraryCommands } from './library-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { EXIT } from './exit-codes.js';
import { VERSION } from '../version.js';

const program = new Command();
program
  .name('pb')
  .description('pbvm: compile and run markdown playbooks (.pb) on a durable stack VM')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

registerCompilerCommands(program);
registerRunCommands(program);
registerLibraryCommands(program);
registerAuditCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
  } else {
    process.stderr.write(`pb: error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = EXIT.internal;
  }
}
