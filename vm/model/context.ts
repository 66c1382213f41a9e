// Stack-shaped model context. Each frame keeps its own short log of what happened in it
// (model actions, lines said, answers, calls and their results). A return drops the callee's
// log and leaves one line in the caller. Past a budget, old entries fold into a summary, so a
// loop's context stays flat however long it runs. The call stack, the live variables and the
// current step are always rendered fresh. Large values are shown as named artifacts.
import type { Value } from '../pbasm/program.js';
import type { Frame, Machine } from '../machine.js';
import { currentMeeting } from '../messages.js';
import { toPlain, type RuntimeValue } from '../values.js';

export interface ContextOptions {
  /** Token budget of a frame's log before compaction (4 chars per token). */
  logBudgetTokens: number;
  /** Values whose JSON is longer than this become artifacts in the prompt. */
  artifactChars: number;
}

/**
 * A frame's log keeps roughly its last half-dozen entries: enough for the model to see what
 * just happened, small enough that a loop's request at iteration 1,000 is the size it was
 * at iteration 10. Older entries fold into a count (the summary).
 */
export const DEFAULT_CONTEXT: ContextOptions = { logBudgetTokens: 200, artifactChars: 1500 };

const ENTRY_CHARS = 300;

export function clipText(s: string, max = ENTRY_CHARS): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** Adds an entry to a frame's log, folding the oldest entries into the summary past the budget. */
export function appendLog(frame: Frame, entry: string, options: ContextOptions = DEFAULT_CONTEXT): void {
  const log = (frame.log ??= []);
  log.push(clipText(entry));
  const budget = options.logBudgetTokens * 4;
  let total = 0;
  for (const e of log) total += e.length + 1;
  let folded = 0;
  let latest = '';
  while (total > budget && log.length > 1) {
    total -= log[0]!.length + 1;
    latest = log.shift()!;
    folded++;
  }
  if (folded > 0) {
    // The summary stays one short line: how much was folded, and the latest folded entry.
    frame.folded = (frame.folded ?? 0) + folded;
    frame.summary = clipText(latest, 160);
  }
}

function shown(name: string, v: RuntimeValue | undefined, m: Machine, options: ContextOptions): string {
  const plain = toPlain(v);
  const json = JSON.stringify(plain);
  if (json.length <= options.artifactChars) return `${name} = ${json}`;
  const artifact = `var:${name}`;
  m.artifacts[artifact] = { summary: `value of ${name}`, content: plain };
  return `${name} = Artifact[${artifact}]: ${typeof plain === 'string' ? 'text' : Array.isArray(plain) ? `list of ${plain.length}` : 'object'}, ${json.length} chars, starts ${clipText(json, 120)}`;
}

/** The dynamic part of a request: stack, variables, this frame's history. */
export function renderContext(m: Machine, frame: Frame, options: ContextOptions = DEFAULT_CONTEXT): string {
  const stack = m
    .callStack()
    .map((s) => `${s.agent}.${s.playbook} (step ${s.step})`)
    .join(' > ');
  const vars: string[] = [];
  const code = frame.code;
  code.locals.forEach((name, i) => {
    if (name.startsWith('%')) return;
    const v = frame.locals[i];
    if (v === undefined) return;
    vars.push(shown(code.params.some((p) => p.name === name) ? `$${name}` : name, v, m, options));
  });
  const state = frame.vars ?? m.state[code.agent] ?? {};
  for (const [k, v] of Object.entries(state)) {
    if (code.params.some((p) => p.name === k)) continue;
    vars.push(shown(`$${k}`, v, m, options));
  }
  const parts = [`Call stack: ${stack || '(none)'}`, `Variables:${vars.length ? `\n${vars.map((v) => `  ${v}`).join('\n')}` : ' (none)'}`];
  // In a program of several agents, who this agent is and the meeting it is in.
  if (m.instances.length > 1 || m.humans.some((h) => h.id !== 'human')) {
    parts.unshift(`You are ${frame.self} (${code.agent}).`);
    const meeting = currentMeeting(m, m.frames);
    if (meeting) parts.push(`Meeting: ${meeting.id} (${meeting.topic}), participants ${meeting.participants.join(', ')}; shared state ${JSON.stringify(meeting.shared)}`);
  }
  const log = frame.log ?? [];
  if (frame.folded || log.length) {
    parts.push('History of this playbook:');
    if (frame.folded) parts.push(`  - (${frame.folded} earlier entries, summarized; the latest of them: ${frame.summary ?? ''})`);
    for (const e of log) parts.push(`  - ${e}`);
  }
  return parts.join('\n');
}

export function describeValue(v: Value): string {
  return clipText(typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'null', 160);
}
