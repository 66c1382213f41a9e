// Which instance runs next. The machine runs one instance until it waits: it blocks in
// WaitForMessage, its stack empties, or it reaches an effect the host performs (a tool, the
// model, user input); after such an effect the turn passes on. The next instance is the first
// that can run after the current one in creation order, wrapping around, so a program without
// model steps runs the same way every time. When none can run, the program listens to the
// human (an instance waits for a message a person may send), ends (every instance is idle),
// or is deadlocked (instances wait for each other).
import type { Instance } from './instance.js';
import type { MachineCore } from './machine-core.js';
import { acceptsHuman } from './messages.js';
import { takesRequests } from './triggers.js';
import { answersFromRole } from './role-replies.js';

/** Whether an idle instance has something to do: a begin playbook, an invitation, a message a trigger (or a playbook it asks for) may take. */
export function hasWork(m: MachineCore, inst: Instance): boolean {
  if (inst.entryIndex < inst.entry.length || inst.invitations.length > 0) return true;
  return inst.inbox.length > inst.offered && (takesRequests(m, inst.klass) || answersFromRole(m, inst.klass));
}

export function dispatchable(m: MachineCore, inst: Instance): boolean {
  // A model step of this instance is in progress further up the host's stack.
  if (inst.busy > 0 && inst !== m.loopOwner) return false;
  if (inst.wait) return false;
  return inst.frames.length > 0 || hasWork(m, inst);
}

/**
 * After an effect the turn passes on, except while the running instance carries out a playbook
 * its own model step called (call_playbook, e.g. a meeting playbook): the host runs that call
 * in a loop nested in the step, so another instance whose model step waited meanwhile would
 * nest a loop in which this one could not go on (a false deadlock). It keeps the turn until
 * the call returns or waits.
 */
export function keepsTurn(m: MachineCore): boolean {
  const inst = m.current;
  return inst === m.loopOwner && inst.busy > 0 && !inst.wait && inst.frames.length > 0;
}

/** The next instance to run, starting after `after` (which comes last); undefined when none can. */
export function pickNext(m: MachineCore, after: Instance): Instance | undefined {
  const list = m.instances;
  const n = list.length;
  const at = list.indexOf(after);
  for (let k = 1; k <= n; k++) {
    const inst = list[(at + k) % n]!;
    if (dispatchable(m, inst)) return inst;
  }
  return undefined;
}

function describe(inst: Instance): string {
  return `${inst.id} (${inst.klass})`;
}

/** An instance that may take a line from stdin: it waits for a message a human may send. */
export function listener(m: MachineCore): Instance | undefined {
  const owner = m.loopOwner;
  const ear = (i: Instance | undefined) => i?.wait && acceptsHuman(m, i.wait.source) && !(m.inputClosed && forAnyone(i));
  if (ear(owner)) return owner;
  return m.instances.find((i) => ear(i) && !(i.busy > 0 && i !== owner));
}

function forAnyone(i: Instance): boolean {
  const s = i.wait?.source.trim();
  return s === '*' || s === '';
}

/** When nothing can run and nobody listens: undefined if every instance is idle, else who waits for whom. */
export function deadlock(m: MachineCore): string | undefined {
  const waits: string[] = [];
  for (const inst of m.instances) {
    if (inst.wait && m.inputClosed && forAnyone(inst)) continue;
    if (inst.wait) waits.push(`${describe(inst)} waits for a message from ${inst.wait.source === '*' ? 'anyone' : inst.wait.source}${inst.wait.by === 'model' ? ' (in a model step)' : ''}`);
    else if (inst.busy > 0 && inst !== m.loopOwner) waits.push(`${describe(inst)} is in a model step that waits for the others`);
  }
  if (waits.length === 0) return undefined;
  return `deadlock: no agent can go on and no message is on its way: ${waits.join('; ')}`;
}
