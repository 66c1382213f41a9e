// Meetings (Playbooks AI's meeting playbooks). Calling a `meeting: true` playbook starts a
// meeting: its required and optional attendees are invited, and each one runs its own
// meeting playbook when it is next idle. Messages to the meeting reach every other
// participant; the meeting ends when the host's meeting playbook returns.
import type { CodeObject, Value } from './pbasm/program.js';
import type { Frame } from './frame.js';
import type { Instance, Meeting } from './instance.js';
import type { MachineCore } from './machine-core.js';
import { currentMeeting, deliver, makeMessage } from './messages.js';

export function isMeetingPlaybook(code: CodeObject): boolean {
  return code.metadata.meeting === true;
}

function names(v: Value | undefined): string[] {
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).filter(Boolean);
  if (typeof v === 'string') return v.replace(/^\[|\]$/g, '').split(',').map((x) => x.trim()).filter(Boolean);
  return [];
}

/** The meeting playbook an attendee runs: the same name, else the one invited by trigger, else its only one. */
export function attendeePlaybook(m: MachineCore, klass: string, name: string): CodeObject | undefined {
  const agent = m.program.agents.find((a) => a.name === klass);
  const own = (agent?.playbooks ?? []).filter((p) => isMeetingPlaybook(p) && p.kind !== 'code' && p.kind !== 'foreign');
  return (
    own.find((p) => p.name === name) ??
    own.find((p) => p.triggers.some((t) => /invited to (?:a |the )?meeting/i.test(t.text))) ??
    (own.length === 1 ? own[0] : undefined)
  );
}

/** Binds meeting_id, inviter_id and topic in a meeting playbook's frame (the compiler declares them). */
function bindLocals(frame: Frame, meeting: Meeting, inviter: string): void {
  const set = (name: string, v: Value) => {
    const slot = frame.code.locals.indexOf(name);
    if (slot >= 0 && frame.locals[slot] === undefined) frame.locals[slot] = v;
  };
  set('meeting_id', meeting.id);
  set('inviter_id', inviter);
  set('topic', meeting.topic);
}

/**
 * What the caller of a meeting playbook may add (Playbooks AI's implicit `attendees` and
 * `topic` arguments): attendees, as class names, agent ids or "human", join the required ones.
 */
export interface MeetingCall {
  attendees?: Value;
  topic?: Value;
}

/**
 * A meeting playbook was just entered by its host (frame `f` of instance `host`): a new
 * meeting starts and its attendees are invited. A required attendee that has no meeting
 * playbook is an error (Playbooks AI: "Meeting initialization failed").
 */
export function startMeeting(m: MachineCore, host: Instance, f: Frame, call: MeetingCall = {}): Meeting | string {
  const code = f.code;
  const topicSlot = code.params.findIndex((p) => p.name === 'topic');
  const given = topicSlot >= 0 ? f.locals[topicSlot] : call.topic;
  const topic = typeof given === 'string' && given ? given : `${code.title || code.name} meeting`;
  const meeting: Meeting = { id: `meeting ${m.nextMeeting++}`, topic, host: host.id, playbook: code.name, participants: [host.id], shared: {}, ended: false };
  // An `attendees` parameter, or argument of a model's call (Playbooks AI's implicit one), names more: agent ids, classes, humans.
  const slot = code.params.findIndex((p) => p.name === 'attendees');
  const extra = slot >= 0 ? f.locals[slot] : call.attendees;
  const required = [...names(code.metadata.required_attendees), ...names(extra as Value | undefined)];
  const optional = names(code.metadata.optional_attendees);
  for (const [klass, needed] of [...required.map((k) => [k, true] as const), ...optional.map((k) => [k, false] as const)]) {
    const human = m.humans.find((h) => h.klass === klass || h.id === klass);
    if (human || /^(?:user|human)$/i.test(klass)) {
      const id = (human ?? m.humans[0]!).id;
      if (!meeting.participants.includes(id)) meeting.participants.push(id);
      continue;
    }
    const inst = /^agent\s+\d+$/.test(klass) ? m.byId.get(klass) : m.instanceOf(klass);
    if (!inst || inst === host || meeting.participants.includes(inst.id)) continue;
    const playbook = attendeePlaybook(m, inst.klass, code.name);
    if (!playbook) {
      if (needed) return `cannot start ${code.name}: required attendee ${inst.id} (${inst.klass}) has no meeting playbook (a playbook with 'meeting: true')`;
      continue;
    }
    meeting.participants.push(inst.id);
    inst.invitations.push({ meeting: meeting.id, inviter: host.id, topic, playbook: playbook.name });
  }
  m.meetings.push(meeting);
  f.meeting = { id: meeting.id, host: true };
  bindLocals(f, meeting, host.id);
  return meeting;
}

/** An idle attendee takes its next invitation to a meeting still going on: its meeting playbook starts. */
export function acceptInvitation(m: MachineCore, inst: Instance): boolean {
  while (inst.invitations.length) {
    const inv = inst.invitations.shift()!;
    const meeting = m.meetings.find((x) => x.id === inv.meeting);
    const code = m.lookup(inst.klass, inv.playbook);
    if (!meeting || meeting.ended || !code) continue;
    const f = m.enter(code, 0, [], true, undefined, inst);
    f.meeting = { id: meeting.id, host: false };
    bindLocals(f, meeting, inv.inviter);
    return true;
  }
  return false;
}

/** A meeting playbook returned: the host's return ends the meeting (attendees are told), an attendee's leaves it. */
export function leaveMeeting(m: MachineCore, f: Frame): void {
  const meeting = m.meetings.find((x) => x.id === f.meeting!.id);
  if (!meeting || meeting.ended) return;
  if (!f.meeting!.host) {
    meeting.participants = meeting.participants.filter((id) => id !== f.self);
    return;
  }
  meeting.ended = true;
  const host = m.byId.get(meeting.host)!;
  for (const id of meeting.participants) {
    const inst = m.byId.get(id);
    if (!inst || inst === host) continue;
    deliver(m, inst, makeMessage(host, inst, `${meeting.id} has ended`, meeting.id, 'meeting_ended'));
  }
  meeting.participants = [];
  for (const inst of m.instances) inst.invitations = inst.invitations.filter((i) => i.meeting !== meeting.id);
}

/** The meeting the running playbook is in, for SharedState and the model's shared-state tool. */
export function meetingHere(m: MachineCore): Meeting | string {
  const meeting = currentMeeting(m, m.frames);
  if (!meeting) return 'this playbook is not in a meeting (SharedState works inside a meeting playbook)';
  return meeting;
}
