// pb run | resume | inspect
import type { Command } from 'commander';
import { configureModel, type ConfiguredModel } from '../model-config.js';
import { ReplayFileError } from '../replay-file.js';
import { InvalidArgumentError } from 'commander';
import { LoadError, loadProgram } from '../load-program.js';
import { describeOutcome, inspectRun, resumeRun, runProgram, StateError, type RunResult } from '../run.js';
import { ToolLoadError } from '../tools.js';
import { writeStderr } from '../console-io.js';
import { EXIT } from './exit-codes.js';
import type { Value } from '../../vm/pbasm/program.js';
import { LimitConfigError, parseLimit, type Limits } from '../../vm/limits.js';

/** --arg name=value (repeatable); the value is JSON when it parses as JSON, else text. */
function collectArg(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected name=value');
  const name = value.slice(0, eq).replace(/^\$/, '');
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // Plain text.
  }
  return { ...previous, [name]: parsed };
}

/** --limit name=value (repeatable): one of the limits of vm/limits.ts. */
function collectLimit(value: string, previous: Partial<Limits> = {}): Partial<Limits> {
  try {
    const [key, n] = parseLimit(value);
    return { ...previous, [key]: n };
  } catch (err) {
    if (err instanceof LimitConfigError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

const LIMIT_HELP = 'set a limit on values and run state: list-length, string-length, nesting or state-bytes (repeatable; e.g. state-bytes=1g)';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function finish(result: RunResult, stats: boolean, started: number, configured?: ConfiguredModel): void {
  const { outcome, machine } = result;
  if (configured && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  if (stats) {
    const ms = performance.now() - started;
    writeStderr(`pb: ${outcome.status}: ${machine.steps} steps, ${machine.seq} effects, ${ms.toFixed(1)} ms`);
    if (configured) writeStderr(configured.stats.report().replace(/^/gm, 'pb: '));
  }
  if (outcome.status === 'failed') {
    writeStderr(describeOutcome(outcome, machine, result.state) ?? outcome.error.message);
    process.exitCode = EXIT.runtime;
    return;
  }
  process.exitCode = EXIT.ok;
}

function handle(err: unknown): void {
  if (err instanceof LoadError) {
    writeStderr(err.rendered);
    process.exitCode = err.diagnostics.length ? EXIT.compile : EXIT.io;
  } else if (err instanceof StateError || err instanceof ToolLoadError) {
    writeStderr(err.message);
    process.exitCode = EXIT.io;
  } else throw err;
}

interface RunFlags {
  input?: string;
  tools?: string;
  state?: string;
  maxSteps?: number;
  stats?: boolean;
  model?: string;
  record?: string;
  replay?: string;
  maxModelCalls?: number;
  contextBudget?: number;
  library?: string;
  arg?: Record<string, unknown>;
  limit?: Partial<Limits>;
}

/** The model for this run, if any; prints where replies come from. */
function model(opts: RunFlags) {
  const tty = !!process.stderr.isTTY;
  const progress = (line: string, live: boolean) => {
    if (live) process.stderr.write(`\r\x1b[K${line}`);
    else writeStderr(line);
  };
  try {
    const configured = configureModel(opts, process.env, progress, tty);
    if (configured) writeStderr(configured.banner);
    return configured;
  } catch (err) {
    if (err instanceof ReplayFileError) {
      writeStderr(err.message);
      process.exitCode = EXIT.io;
      return null;
    }
    throw err;
  }
}

function withModelOptions(cmd: Command): Command {
  return cmd
    .option('--model <id>', 'model id (default: $PB_MODEL or the built-in default)')
    .option('--record <file>', 'also write every model reply to this replay file')
    .option('--replay <file>', 'answer model calls from a replay file; makes no model call')
    .option('--max-model-calls <n>', 'stop with an error after this many model calls', positiveInt)
    .option('--context-budget <tokens>', "token budget of each frame's history before older entries are compacted", positiveInt)
    .option('--library <dir>', 'playbook library GeneratePlaybook reuses and fills (default: .pb-library)');
}

export function registerRunCommands(program: Command): void {
  withModelOptions(program.command('run'))
    .description('run a program (.pb or .pbasm); stdout carries only what it says')
    .argument('<file>', 'program to run')
    .option('--input <file>', 'read user input from a file instead of stdin')
    .option('--tools <module>', 'TS/JS module whose exported functions are host tools')
    .option('--state <dir>', 'journal and snapshot the run here, so `pb resume` can continue it')
    .option('--max-steps <n>', 'stop with an error after this many steps', positiveInt)
    .option('--arg <name=value>', 'argument of the entry playbook (repeatable; JSON or text)', collectArg)
    .option('--limit <name=value>', LIMIT_HELP, collectLimit)
    .option('--stats', 'print run statistics to stderr at the end')
    .action(async (file: string, opts: RunFlags) => {
      const started = performance.now();
      try {
        const loaded = loadProgram(file);
        if (loaded.rendered) writeStderr(loaded.rendered);
        const configured = model(opts);
        if (configured === null) return;
        const result = await runProgram(loaded.program, { input: opts.input, tools: opts.tools, state: opts.state, maxSteps: opts.maxSteps, limits: opts.limit, model: configured?.host, args: opts.arg as Record<string, Value> | undefined, library: opts.library, warn: (m) => writeStderr(`pb: ${m}`) });
        finish(result, !!opts.stats, started, configured);
      } catch (err) {
        handle(err);
      }
    });

  withModelOptions(program.command('resume'))
    .description('continue a durable run from its state directory')
    .argument('<dir>', 'state directory given to `pb run --state`')
    .option('--input <file>', 'read further user input from this file')
    .option('--tools <module>', 'load host tools from this module (default: the one the run started with)')
    .option('--max-steps <n>', 'new step budget', positiveInt)
    .option('--limit <name=value>', `${LIMIT_HELP}; default: the run's own`, collectLimit)
    .option('--stats', 'print run statistics to stderr at the end')
    .action(async (dir: string, opts: RunFlags) => {
      const started = performance.now();
      try {
        const configured = model(opts);
        if (configured === null) return;
        const result = await resumeRun(dir, { input: opts.input, tools: opts.tools, maxSteps: opts.maxSteps, limits: opts.limit, model: configured?.host, library: opts.library, warn: (m) => writeStderr(`pb: ${m}`) });
        finish(result, !!opts.stats, started, configured);
      } catch (err) {
        handle(err);
      }
    });

  program
    .command('inspect')
    .description('show where a durable run stands: call stack, variables, last effects')
    .argument('<dir>', 'state directory')
    .option('--json', 'print as JSON')
    .option('-n, --last <n>', 'number of recent effects to show', positiveInt, 10)
    .action(async (dir: string, opts: { json?: boolean; last: number }) => {
      try {
        const r = await inspectRun(dir, opts.last);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        const lines = [`run ${r.runId} in ${r.dir}: ${r.status}${r.ended?.message && !r.status.includes(r.ended.message) ? ` (${r.ended.message})` : ''}`, `  ${r.steps} steps, ${r.effects} effects; last snapshot: ${r.snapshotAt}`, 'call stack (innermost last):'];
        if (r.stack.length === 0) lines.push('  (empty)');
        for (const s of r.stack) lines.push(`  ${s.agent}.${s.playbook}  step ${s.step}  (${s.file}:${s.line})`);
        lines.push('variables:');
        for (const [agent, vars] of Object.entries(r.state)) for (const [k, v] of Object.entries(vars)) lines.push(`  ${agent} ${k} = ${JSON.stringify(v)}`);
        for (const [k, v] of Object.entries(r.locals)) lines.push(`  local ${k} = ${JSON.stringify(v)}`);
        if (r.generated.length) {
          lines.push('generated playbooks:');
          for (const g of r.generated) {
            const how = g.attempts === 0 ? 'reused' : `${g.attempts} attempt${g.attempts === 1 ? '' : 's'}`;
            lines.push(`  effect ${g.seq}: ${g.playbook}${g.version ? ` version ${g.version}` : ''} (${g.origin}, ${how})${g.failure ? ` after: ${g.failure.split('\n')[0]}` : ''}`);
            for (const why of g.rejected) lines.push(`    rejected: ${why.split('\n')[0]}`);
          }
        }
        lines.push(`last ${r.lastEffects.length} journal records:`);
        for (const e of r.lastEffects) lines.push(`  ${JSON.stringify(e).slice(0, 160)}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      } catch (err) {
        handle(err);
      }
    });
}
