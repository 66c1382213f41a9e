// pb run | resume | inspect
import type { Command } from 'commander';
import { configureModel, type ConfiguredModel } from '../model-config.js';
import { ReplayFileError } from '../replay-file.js';
import { InvalidArgumentError } from 'commander';
import { LoadError, loadProgram } from '../load-program.js';
import { describeOutcome, inspectRun, resumeRun, runProgram, StateError, type RunResult } from '../run.js';
import { MAX_TOOL_TIMEOUT_MS, ToolLoadError } from '../tools.js';
import { InputFileError, OutputClosed, writeOut, writeStderr } from '../console-io.js';
import { parseWhole, readEnv, SettingError } from '../env-settings.js';
import { isSystemError, systemErrorText } from '../io-errors.js';
import { Interrupted } from '../../vm/interrupt.js';
import { closeStatusLine, setStatusLine, StatusLine, statusLineWanted } from '../status-line.js';
import { EXIT } from './exit-codes.js';
import { startupState } from '../startup-message.js';
import type { Program, Value } from '../../vm/pbasm/program.js';
import { entryArgsProblem } from '../entry-args.js';
import { RESUME_HELP_AFTER, RUN_HELP_AFTER } from './help-text.js';
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
  const n = parseWhole(value, 1, Number.MAX_SAFE_INTEGER);
  if (n === undefined) throw new InvalidArgumentError('expected a whole number greater than 0');
  return n;
}

function milliseconds(value: string): number {
  const n = parseWhole(value, 0, MAX_TOOL_TIMEOUT_MS);
  if (n === undefined) throw new InvalidArgumentError(`expected a whole number of milliseconds from 0 (no limit) to ${MAX_TOOL_TIMEOUT_MS}`);
  return n;
}

/**
 * Under --state, SIGINT/SIGTERM stop the run through its normal ending (journal kept, lock
 * released by the finally blocks) instead of killing the process where it stands.
 */
function interruptible(state: string | undefined): { signal?: AbortSignal; received: () => NodeJS.Signals | undefined; dispose: () => void } {
  if (!state) return { received: () => undefined, dispose: () => undefined };
  const ctl = new AbortController();
  let got: NodeJS.Signals | undefined;
  const on = (sig: NodeJS.Signals) => {
    got = sig;
    ctl.abort();
  };
  process.once('SIGINT', on);
  process.once('SIGTERM', on);
  return {
    signal: ctl.signal,
    received: () => got,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

function finish(result: RunResult, stats: boolean, started: number, configured?: ConfiguredModel): void {
  const { outcome, machine } = result;
  closeStatusLine();
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

/** Turns what stopped a command into one line and an exit code; `state` is the run's directory, if durable. */
function handle(err: unknown, state?: string, signal?: NodeJS.Signals): void {
  closeStatusLine();
  if (err instanceof LoadError) {
    writeStderr(err.rendered);
    process.exitCode = err.diagnostics.length ? EXIT.compile : EXIT.io;
  } else if (err instanceof StateError || err instanceof ToolLoadError || err instanceof InputFileError) {
    writeStderr(err.message);
    process.exitCode = EXIT.io;
  } else if (err instanceof SettingError) {
    writeStderr(`pb: ${err.message}`);
    process.exitCode = EXIT.usage;
  } else if (err instanceof Interrupted) {
    writeStderr(`pb: interrupted; continue with: pb resume ${state}`);
    process.exitCode = signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  } else if (err instanceof OutputClosed) {
    // The reader of stdout went away (`| head`): nothing more to say there; the run can go on later.
    if (state) writeStderr(`pb: stdout was closed; the run stopped; continue with: pb resume ${state}`);
    process.exitCode = EXIT.io;
  } else if (isSystemError(err)) {
    writeStderr(`pb: error: ${systemErrorText(err, true)}`);
    process.exitCode = EXIT.io;
  } else throw err;
}

interface RunFlags {
  input?: string;
  tools?: string;
  state?: string;
  maxSteps?: number;
  toolTimeout?: number;
  stats?: boolean;
  model?: string;
  record?: string;
  replay?: string;
  maxModelCalls?: number;
  contextBudget?: number;
  library?: string;
  arg?: Record<string, unknown>;
  message?: string;
  phrase?: boolean;
  limit?: Partial<Limits>;
}

/**
 * --phrase: every agent that does not say otherwise gets `phrase_questions: true`. It goes into
 * the program itself, so the state directory keeps it and a resume phrases the same way.
 */
function withPhrasedQuestions(program: Program): Program {
  return { ...program, agents: program.agents.map((a) => ('phrase_questions' in a.metadata ? a : { ...a, metadata: { ...a.metadata, phrase_questions: true } })) };
}

/** A run's status in words: `failed (message); pb resume can continue it`, `incomplete, waiting on ...`. */
function standingText(r: { status: string; resumable: boolean; waitingOn: string | null; lastEffect: string | null; ended: { message: string | null } | null }): string {
  const why = r.ended?.message ? ` (${r.ended.message})` : '';
  const waiting = r.waitingOn ? `, waiting on ${r.waitingOn}` : r.lastEffect ? ` (last effect: ${r.lastEffect})` : '';
  const resume = r.status === 'failed' && r.resumable ? '; pb resume can continue it' : r.status === 'incomplete' ? '; pb resume continues it' : '';
  return `${r.status}${why}${waiting}${resume}`;
}

/** The model for this run, if any; prints where replies come from. */
function model(opts: RunFlags) {
  const tty = statusLineWanted(process.env, !!process.stderr.isTTY);
  const status = tty ? new StatusLine((s) => process.stderr.write(s), () => process.stderr.columns) : undefined;
  setStatusLine(status);
  // Whatever ends the process, the terminal is left without a half-drawn status line.
  if (status) process.once('exit', () => status.hide());
  const progress = (line: string, live: boolean) => {
    if (live && status) status.show(line);
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
    .description('run a program (.pb, .pbasm, or a Locus .yaml/.json playbook); stdout carries only what it says')
    .argument('<file>', 'program to run: .pb, .pbasm, .yaml, .yml or .json')
    .option('--phrase', "let the model phrase each `Ask user for $x` question (default: the step's own words; agent metadata phrase_questions: true does the same)")
    .option('--input <file>', 'read user input from a file instead of stdin')
    .option('--tools <module>', 'TS/JS module whose exported functions are host tools')
    .option('--tool-timeout <ms>', 'limit of a host tool call that sets none of its own (default: $PB_TOOL_TIMEOUT_MS or 120000; 0: no limit)', milliseconds)
    .option('--state <dir>', 'journal and snapshot the run here, so `pb resume` can continue it')
    .option('--max-steps <n>', 'stop with an error after this many steps', positiveInt)
    .option('--arg <name=value>', 'argument of the entry playbook (repeatable; JSON or text)', collectArg)
    .option('--limit <name=value>', LIMIT_HELP, collectLimit)
    .option('--stats', 'print run statistics to stderr at the end')
    .option('--message <text>', 'the startup message: $startup_message for a program that reads it (default: piped stdin)')
    .addHelpText('after', RUN_HELP_AFTER)
    .action(async (file: string, opts: RunFlags) => {
      const started = performance.now();
      const stop = interruptible(opts.state);
      try {
        const env = readEnv(process.env);
        const loaded = loadProgram(file);
        if (loaded.rendered) writeStderr(loaded.rendered);
        const problem = entryArgsProblem(loaded.program, (opts.arg ?? {}) as Record<string, Value>);
        if (problem) {
          writeStderr(`pb: error: ${file}: ${problem}`);
          process.exitCode = EXIT.usage;
          return;
        }
        const configured = model(opts);
        if (configured === null) return;
        const initialState = await startupState(loaded.program, opts.message);
        const toolTimeoutMs = opts.toolTimeout ?? env.toolTimeoutMs;
        const program = opts.phrase ? withPhrasedQuestions(loaded.program) : loaded.program;
        const result = await runProgram(program, { input: opts.input, tools: opts.tools, state: opts.state, maxSteps: opts.maxSteps, limits: opts.limit, model: configured?.host, args: opts.arg as Record<string, Value> | undefined, initialState, library: opts.library, warn: (m) => writeStderr(`pb: ${m}`), toolTimeoutMs, interrupt: stop.signal });
        finish(result, !!opts.stats, started, configured);
      } catch (err) {
        handle(err, opts.state, stop.received());
      } finally {
        stop.dispose();
      }
    });

  withModelOptions(program.command('resume'))
    .description('continue a durable run from its state directory')
    .argument('<dir>', 'state directory given to `pb run --state`')
    .option('--input <file>', 'read further user input from this file')
    .option('--tools <module>', 'load host tools from this module (default: the one the run started with)')
    .option('--tool-timeout <ms>', 'limit of a host tool call that sets none of its own (default: the run\'s; 0: no limit)', milliseconds)
    .option('--max-steps <n>', 'new step budget', positiveInt)
    .option('--limit <name=value>', `${LIMIT_HELP}; default: the run's own`, collectLimit)
    .option('--stats', 'print run statistics to stderr at the end')
    .addHelpText('after', RESUME_HELP_AFTER)
    .action(async (dir: string, opts: RunFlags) => {
      const started = performance.now();
      const stop = interruptible(dir);
      try {
        const env = readEnv(process.env);
        const configured = model(opts);
        if (configured === null) return;
        const toolTimeoutMs = opts.toolTimeout ?? env.toolTimeoutMs;
        const result = await resumeRun(dir, { input: opts.input, tools: opts.tools, maxSteps: opts.maxSteps, limits: opts.limit, model: configured?.host, library: opts.library, warn: (m) => writeStderr(`pb: ${m}`), toolTimeoutMs, interrupt: stop.signal });
        finish(result, !!opts.stats, started, configured);
      } catch (err) {
        handle(err, dir, stop.received());
      } finally {
        stop.dispose();
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
          writeOut(JSON.stringify(r, null, 2));
          return;
        }
        const lines = [`run ${r.runId} in ${r.dir}: ${standingText(r)}`, `  ${r.steps} steps, ${r.effects} effects; last snapshot: ${r.snapshotAt ?? 'none (replayed from the start)'}`, 'call stack (innermost last):'];
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
        if (r.instances.length > 1) {
          lines.push('agent instances:');
          for (const i of r.instances) {
            lines.push(`  ${i.id} (${i.klass}): ${i.status}${i.waitingFor ? ` for a message from ${i.waitingFor}` : ''}${i.inbox.length ? `, ${i.inbox.length} message${i.inbox.length === 1 ? '' : 's'} waiting` : ''}`);
            for (const s of i.stack) lines.push(`    ${s.agent}.${s.playbook}  step ${s.step}  (${s.file}:${s.line})`);
            for (const m of i.inbox) lines.push(`    message ${JSON.stringify(m).slice(0, 140)}`);
          }
        }
        for (const m of r.meetings) lines.push(`meeting ${m.id.replace(/^meeting /, '')} (${m.topic}): host ${m.host}, participants ${m.participants.join(', ')}, shared state ${JSON.stringify(m.shared).slice(0, 120)}`);
        lines.push(`last ${r.lastEffects.length} journal records:`);
        for (const e of r.lastEffects) lines.push(`  ${JSON.stringify(e).slice(0, 160)}`);
        writeOut(lines.join('\n'));
      } catch (err) {
        if (err instanceof OutputClosed) return;
        handle(err);
      }
    });
}
