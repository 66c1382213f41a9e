// Messages between agent instances, humans and meetings (Playbooks AI's SendMessage, Say
// and WaitForMessage). A message is delivered to the receiver's inbox at once, in program
// order; a receiver blocked in WaitForMessage takes it when its source matches.
import type { Value } from './pbasm/program.js';
import type { Frame } from './frame.js';
import type { Instance, Meeting, Message } from './instance.js';
import type { MachineCore } from './machine-core.js';

export type Target =
  | { kind: 'human'; id: string; klass: string }
  | { kind: 'instance'; instance: Instance }
  | { kind: 'meeting'; meeting: Meeting };

const HUMAN = /^(?:user|human)$/i;
const AGENT_ID = /^(?:agent\s+)?(\d+)$/i;
const MEETING_ID = /^meeting\s+(\d+)$/i;

/** The meeting a frame runs in: the innermost meeting playbook on the stack at or below it. */
export function currentMeeting(m: MachineCore, frames: readonly Frame[]): Meeting | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const id = frames[i]!.meeting?.id;
    if (id) return m.meetings.find((x) => x.id === id);
  }
  return undefined;
}

/**
 * Resolves a target as SendMessage, Say and the model's send_message take it: user/human,
 * a human's name or id, an agent id ("agent 1001", or just 1001), an agent class name (its
 * first instance, created if there is none), "meeting N", or "meeting" (the current one).
 */
export function resolveTarget(m: MachineCore, target: string): Target | string {
  const t = target.trim();
  if (HUMAN.test(t)) return { kind: 'human', ...m.humans[0]! };
  const human = m.humans.find((h) => h.klass === t || h.id === t);
  if (human) return { kind: 'human', ...human };
  const meeting = MEETING_ID.exec(t);
  if (meeting || /^meeting$/i.test(t)) {
    const found = meeting ? m.meetings.find((x) => x.id === `meeting ${meeting[1]}`) : currentMeeting(m, m.frames);
    if (!found) return meeting ? `there is no meeting ${meeting[1]}` : 'this playbook is not in a meeting';
    if (found.ended) return `${found.id} has ended`;
    return { kind: 'meeting', meeting: found };
  }
  const agent = AGENT_ID.exec(t);
  if (agent) {
    const inst = m.byId.get(`agent ${agent[1]}`);
    if (inst) return { kind: 'instance', instance: inst };
    const h = m.humans.find((x) => x.id === `agent ${agent[1]}`);
    return h ? { kind: 'human', ...h } : `there is no agent ${agent[1]}`;
  }
  const inst = m.instanceOf(t);
  if (inst) return { kind: 'instance', instance: inst };
  const names = [...m.program.agents.map((a) => a.name), 'user'];
  return `no agent, human or meeting is called '${t}' (agents: ${names.join(', ')}; or an id such as 'agent ${m.instances[0]?.id.slice(6) ?? '1000'}')`;
}

/** The human who says a line: "Name: text" names one when the program has several. */
export function humanOf(m: MachineCore, line: string): { id: string; klass: string; text: string } {
  if (m.humans.length > 1) {
    const at = line.indexOf(':');
    const h = at > 0 ? m.humans.find((x) => x.klass.toLowerCase() === line.slice(0, at).trim().toLowerCase()) : undefined;
    if (h) return { ...h, text: line.slice(at + 1).trimStart() };
  }
  return { ...m.humans[0]!, text: line };
}

/** Whether a wait for `source` by instance `inst` takes message `msg`. */
export function matches(m: MachineCore, inst: Instance, source: string, msg: Message): boolean {
  const s = source.trim();
  if (s === '*' || s === '') return msg.meeting === null || msg.type === 'meeting_ended';
  if (HUMAN.test(s)) return m.humans.some((h) => h.id === msg.sender);
  const meeting = MEETING_ID.exec(s);
  if (meeting) return msg.meeting === `meeting ${meeting[1]}`;
  if (/^meeting$/i.test(s)) return msg.meeting !== null && msg.meeting === currentMeeting(m, inst.frames)?.id;
  const agent = AGENT_ID.exec(s);
  if (agent) return msg.sender === `agent ${agent[1]}`;
  return msg.sender_klass === s || m.humans.some((h) => h.klass === s && h.id === msg.sender);
}

/** Whether a wait for `source` may take a line from a human (stdin). */
export function acceptsHuman(m: MachineCore, source: string): boolean {
  const s = source.trim();
  if (s === '*' || s === '' || HUMAN.test(s)) return true;
  return m.humans.some((h) => h.klass === s || h.id === s || (AGENT_ID.test(s) && h.id === `agent ${AGENT_ID.exec(s)![1]}`));
}

/** Removes and returns the messages of `inst`'s inbox that a wait for `source` takes, oldest first. */
export function takeMessages(m: MachineCore, inst: Instance, source: string): Message[] {
  const taken: Message[] = [];
  const kept: Message[] = [];
  let offered = inst.offered;
  inst.inbox.forEach((msg, i) => {
    if (matches(m, inst, source, msg)) {
      taken.push(msg);
      if (i < inst.offered) offered--;
    } else kept.push(msg);
  });
  if (taken.length) {
    inst.inbox = kept;
    inst.offered = offered;
  }
  return taken;
}

/** Puts a message in an instance's inbox; a matching wait in code takes it at once. */
export function deliver(m: MachineCore, to: Instance, message: Message): void {
  to.inbox.push(message);
  m.delivered++;
  if (m.journalDeliveries) m.deliveries.push({ n: m.delivered, to: to.id, message });
  const wait = to.wait;
  if (!wait || !matches(m, to, wait.source, message)) return;
  if (wait.by === 'model') {
    m.wake = true;
    return;
  }
  // The instance is not running (it is blocked), so its registers are in the Instance.
  const taken = takeMessages(m, to, wait.source);
  to.wait = null;
  m.pushTo(to, taken);
  if (to === m.current) m.setPendingEffect('none', 0);
  else to.pending = 'none';
}

export function makeMessage(from: { id: string; klass: string }, to: { id: string; klass: string }, content: Value, meeting: string | null, type = meeting ? 'meeting_broadcast' : 'direct'): Message {
  return { sender: from.id, sender_klass: from.klass, recipient: to.id, recipient_klass: to.klass, type, content, meeting };
}

/** How a line to a human is written: to the user as it is; to a declared human with its name; in a meeting with who said it. */
export function humanLine(to: { id: string; klass: string }, text: string, meeting?: { id: string; from: string }): string {
  if (meeting) return `[${meeting.id}] ${meeting.from}: ${text}`;
  return to.id === 'human' ? text : `[to ${to.klass}] ${text}`;
}

/**
 * Sends `content` from the instance `from` to a resolved target. Returns the line to write to
 * stdout when a human receives it (the caller issues the say effect), else undefined.
 */
export function send(m: MachineCore, from: Instance, target: Target, content: Value, text: () => string): string | undefined {
  if (target.kind === 'human') return humanLine(target, text());
  if (target.kind === 'instance') {
    deliver(m, target.instance, makeMessage(from, target.instance, content, null));
    return undefined;
  }
  const meeting = target.meeting;
  let line: string | undefined;
  for (const id of meeting.participants) {
    if (id === from.id) continue;
    const inst = m.byId.get(id);
    if (inst) deliver(m, inst, makeMessage(from, inst, content, meeting.id));
    else if (line === undefined) line = humanLine({ id, klass: '' }, text(), { id: meeting.id, from: `${from.klass} (${from.id})` });
  }
  return line;
}
