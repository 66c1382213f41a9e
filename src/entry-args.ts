// Checks `pb run --arg name=value` against the entry playbooks' parameters before a run starts,
// so a forgotten argument is a usage error that names the parameter, not a silent None.
import { Machine } from '../vm/machine.js';
import type { Program, Value } from '../vm/pbasm/program.js';

/** What is wrong with the arguments for the program's entry playbooks, or undefined when nothing is. */
export function entryArgsProblem(program: Program, args: Record<string, Value>): string | undefined {
  // The machine decides which playbooks run first (begin triggers, else Main, else the only one).
  const machine = new Machine(program, {});
  machine.start();
  const entries = machine.entryPlaybooks().filter((c) => c.kind !== 'code' && c.kind !== 'foreign');
  const known = new Set(entries.flatMap((c) => c.params.map((p) => p.name)));
  for (const code of entries) {
    const missing = code.params.filter((p) => !p.hasDefault && !Object.prototype.hasOwnProperty.call(args, p.name)).map((p) => p.name);
    if (missing.length) {
      const params = missing.map((n) => `$${n}`).join(', ');
      const how = missing.map((n) => `--arg ${n}=VALUE`).join(' ');
      return `${code.agent}.${code.name} needs ${params} (no default), which ${missing.length === 1 ? 'was' : 'were'} not given: pass ${how}`;
    }
  }
  const unknown = Object.keys(args).filter((n) => !known.has(n));
  if (unknown.length) {
    const params = [...known].map((n) => `$${n}`).join(', ');
    return `--arg ${unknown[0]}: no entry playbook has a parameter $${unknown[0]} (${params ? `parameters: ${params}` : 'the entry playbooks take no parameters'})`;
  }
  return undefined;
}
