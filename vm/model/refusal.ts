// What the model may call from a natural-language step, and why a call it asked for is
// refused. A refused call never runs and never ends the run: the model gets a tool error
// naming the reason and what it can call instead (Playbooks AI does the same).
import { PlaybookCallRefused } from '../errors.js';
import type { CodeObject, Program } from '../pbasm/program.js';

/** Names the model can pass to call_playbook from `agent`: its own playbooks, others' public ones, host tools. */
export function callableNames(program: Program, linked: readonly CodeObject[], agent: string, tools: readonly string[]): string[] {
  const out: string[] = [];
  const add = (p: CodeObject) => {
    if (p.kind === 'foreign') return;
    if (p.agent === agent) out.push(p.name);
    else if (p.public) out.push(`${p.agent}.${p.name}`);
  };
  for (const a of program.agents) for (const p of a.playbooks) add(p);
  // Generated playbooks keep a retired name (Name~1) for frames still running them; those are not offered.
  for (const p of linked) if (!p.name.includes('~') && !out.includes(p.agent === agent ? p.name : `${p.agent}.${p.name}`)) add(p);
  for (const t of tools) if (!out.includes(t)) out.push(t);
  return out;
}

export interface CallTarget {
  /** The playbook the name resolves to, if any. */
  target?: CodeObject;
  /** The agent the name addresses (the caller's own when the name has no "Agent." prefix). */
  agent: string;
  agentExists: boolean;
}

/**
 * The refusal for a model's call of `name`, or undefined when the call may go ahead.
 * `tools` are the host tool names, or undefined when the host cannot list them.
 */
export function refusal(name: string, from: string, at: CallTarget, tools: readonly string[] | undefined, callable: () => string[]): PlaybookCallRefused | undefined {
  const { target } = at;
  if (target) {
    if (target.kind === 'foreign') {
      return new PlaybookCallRefused(name, `'${target.name}' is a python playbook, and pbvm does not run python; do the step another way`, callable());
    }
    if (target.agent !== from && !target.public) {
      return new PlaybookCallRefused(name, `playbook '${target.agent}.${target.name}' is not public, so agent '${from}' cannot call it`, callable());
    }
    return undefined;
  }
  if (!at.agentExists) return new PlaybookCallRefused(name, `there is no agent '${at.agent}' in this program`, callable());
  // A bare name may still be a host tool.
  if (at.agent === from && tools?.includes(name)) return undefined;
  const why = tools === undefined || tools.length === 0 ? 'no playbook of this program has that name, and no host tools are loaded' : 'no playbook of this program and no loaded host tool has that name';
  return new PlaybookCallRefused(name, `'${name}' cannot be called: ${why}`, callable());
}
