// Triggers: state triggers fire deterministically when their condition turns true; natural-
// language triggers ("When the user ...", "When you receive a message ...") are judged by the
// model at event points, and for an idle instance when messages arrive for it.
import type { CodeObject, Value } from './pbasm/program.js';
import type { Frame } from './frame.js';
import type { Instance, Message } from './instance.js';
import type { MachineCore } from './machine-core.js';
import type { RuntimeValue } from './values.js';

export interface TriggerCandidate {
  key: string;
  text: string;
  playbook: string;
}

/** Evaluates state triggers after a state change; pushes a frame for the first that fires. */
export function fireStateTriggers(m: MachineCore): boolean {
  m.stateDirty = false;
  const top = m.frames[m.frames.length - 1]!;
  const self = m.byId.get(top.self);
  const agent = top.code.agent;
  // Triggers of an instance other than the one running (a cross-agent call) are kept apart.
  const prefix = top.self === m.current.id ? '' : `${top.self}|`;
  for (const t of m.stateTriggers) {
    if (t.agent !== agent) continue;
    const now = m.evaluate(t.info.cond!, undefined, self);
    const key = prefix + t.key;
    const before = m.triggerLast[key] ?? false;
    m.triggerLast[key] = now;
    if (!now || before) continue;
    if (m.frames.some((fr) => fr.trigger === t.key)) continue;
    m.enter(t.playbook, 0, [], true, t.key, self);
    return true;
  }
  return false;
}

/** Natural-language triggers of the current agent that may fire now (not already running). */
export function nlTriggerCandidates(m: MachineCore, f: Frame): TriggerCandidate[] {
  if (m.frames.some((fr) => fr.trigger?.startsWith('nl:'))) return [];
  return m.nlTriggers.filter((t) => t.agent === f.code.agent && t.playbook !== f.code).map((t) => ({ key: t.key, text: t.info.text, playbook: t.playbook.name }));
}

/** Messages offered to an idle instance's triggers, while the model judges them. */
export interface MessageOffer {
  instance: Instance;
  messages: Message[];
}

/**
 * Playbooks a message may ask an agent to run: its markdown playbooks that have no trigger and
 * are not meeting playbooks. Playbooks AI's message loop lets the model run any playbook of the
 * receiving agent for a request ("Call CreateNewCharacter on character creator agent"), not only
 * a triggered one; the model judges these like triggers.
 */
function requestable(m: MachineCore, klass: string): CodeObject[] {
  const agent = m.program.agents.find((a) => a.name === klass);
  return (agent?.playbooks ?? []).filter((p) => p.triggers.length === 0 && p.metadata.meeting !== true && p.kind !== 'code' && p.kind !== 'foreign');
}

const ASK = 'ask:';

/** Whether an instance of `klass` offers new messages to the model: it has NL triggers or requestable playbooks. */
export function takesRequests(m: MachineCore, klass: string): boolean {
  return m.nlTriggers.some((t) => t.agent === klass) || requestable(m, klass).length > 0;
}

/** The triggers (and requestable playbooks) an idle instance offers its new messages to; undefined when it has none. */
export function messageOffer(m: MachineCore, inst: Instance): { candidates: TriggerCandidate[]; offer: MessageOffer; frame: Frame } | undefined {
  const messages = inst.inbox.slice(inst.offered);
  inst.offered = inst.inbox.length;
  const triggers = m.nlTriggers.filter((t) => t.agent === inst.klass);
  const asked = requestable(m, inst.klass);
  if (messages.length === 0 || triggers.length + asked.length === 0) return undefined;
  // The model judges with the first trigger playbook's context, its history the new messages.
  const code = triggers[0]?.playbook ?? asked[0]!;
  const frame: Frame = { code, pc: 0, locals: new Array(code.locals.length), base: 0, discard: true, self: inst.id, vars: inst.vars, log: messages.map(received) };
  const candidates = [
    ...triggers.map((t) => ({ key: t.key, text: t.info.text, playbook: t.playbook.name })),
    ...asked.map((p) => ({ key: `${ASK}${p.name}`, text: `A message asks this agent to run ${p.name}`, playbook: p.name })),
  ];
  return { candidates, offer: { instance: inst, messages }, frame };
}

export function received(msg: Message): string {
  const content = typeof msg.content === 'string' ? msg.content : JSON.stringify(msg.content);
  return `received message from ${msg.sender} (${msg.sender_klass})${msg.meeting ? ` in ${msg.meeting}` : ''}: ${content}`;
}

/** Arguments for a playbook a message starts: the content's matching keys, else the content as its first parameter. */
function messageArgs(code: CodeObject, msg: Message | undefined): { names: string[]; values: RuntimeValue[] } {
  const required = code.params.filter((p) => !p.hasDefault);
  if (!msg || required.length === 0) return { names: [], values: [] };
  const c = msg.content;
  if (c && typeof c === 'object' && !Array.isArray(c) && required.every((p) => p.name in c)) {
    return { names: required.map((p) => p.name), values: required.map((p) => (c as Record<string, Value>)[p.name]!) };
  }
  if (required.length === 1) return { names: [required[0]!.name], values: [c] };
  return { names: [], values: [] };
}

/**
 * Runs the natural-language triggers the model judged to hold, in declaration order. For a
 * message offer, the messages are taken from the inbox, shown in each started playbook's
 * history, and a direct message's sender gets the playbook's result back.
 */
export function fireNLTriggers(m: MachineCore, keys: string[], offer?: MessageOffer): void {
  const chosen: Array<{ key: string; playbook: CodeObject }> = m.nlTriggers.filter((t) => keys.includes(t.key) && (!offer || t.agent === offer.instance.klass));
  if (offer) for (const p of requestable(m, offer.instance.klass)) if (keys.includes(`${ASK}${p.name}`)) chosen.push({ key: `${ASK}${p.name}`, playbook: p });
  const self = offer?.instance;
  if (offer && chosen.length) {
    offer.instance.inbox = offer.instance.inbox.filter((x) => !offer.messages.includes(x));
    offer.instance.offered = Math.min(offer.instance.offered, offer.instance.inbox.length);
  }
  const direct = offer?.messages.find((x) => x.type === 'direct');
  for (const t of [...chosen].reverse()) {
    if (m.frames.length >= m.maxDepth) break;
    const { names, values } = messageArgs(t.playbook, direct);
    if (t.playbook.params.some((p) => !p.hasDefault) && names.length === 0) continue;
    for (const v of values) m.stack[m.sp++] = v;
    const f = m.enter(t.playbook, values.length, names, true, `nl:${t.key}`, self);
    if (offer) {
      f.log = offer.messages.map(received);
      if (direct && m.byId.has(direct.sender)) f.replyTo = direct.sender;
    }
  }
}
