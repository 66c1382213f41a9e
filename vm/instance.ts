// Agent instances: each one has its own call stack, operand stack, $state and inbox. The
// machine runs one at a time; its registers (frames, stack, sp, ...) are the current
// instance's, saved into the Instance when the scheduler switches (vm/scheduler.ts).
import type { Value } from './pbasm/program.js';
import type { Frame, Pending } from './frame.js';
import type { RuntimeValue } from './values.js';

/** A message as programs see it (WaitForMessage returns a list of these). */
export interface Message {
  [key: string]: Value;
  /** Who sent it: an agent id ("agent 1001"), "human" or a human's id. */
  sender: string;
  sender_klass: string;
  /** Who it was sent to (for a broadcast: the receiving participant). */
  recipient: string;
  recipient_klass: string;
  /** direct, meeting_broadcast, or meeting_ended. */
  type: string;
  content: Value;
  /** The meeting it belongs to, or null. */
  meeting: string | null;
}

/** An instance blocked in WaitForMessage: in code (its result goes on the stack) or in a model step. */
export interface MessageWait {
  source: string;
  by: 'code' | 'model';
}

/** A meeting an instance was invited to and has not joined yet. */
export interface Invitation {
  meeting: string;
  inviter: string;
  topic: string;
  playbook: string;
}

export interface Instance {
  id: string;
  klass: string;
  vars: Record<string, RuntimeValue>;
  frames: Frame[];
  stack: RuntimeValue[];
  sp: number;
  pending: Pending;
  effectPc: number;
  stateDirty: boolean;
  nlEvent: boolean;
  /** Last truth value of each state trigger, so it fires only when the condition turns true. */
  triggerLast: Record<string, boolean>;
  /** Begin playbooks (names), in declaration order, and how many have been started. */
  entry: string[];
  entryIndex: number;
  inbox: Message[];
  /** Inbox messages already offered to the instance's message triggers. */
  offered: number;
  wait: MessageWait | null;
  invitations: Invitation[];
  /** Model steps of this instance in progress in the host (their JS frames are suspended). */
  busy: number;
}

export interface Meeting {
  id: string;
  topic: string;
  /** The host's instance id and its meeting playbook. */
  host: string;
  playbook: string;
  /** Instance ids, host first; invited attendees are participants from the invitation on. */
  participants: string[];
  /** Shared state of the meeting (SharedState/SetSharedState, the model's set_shared_state). */
  shared: Record<string, Value>;
  ended: boolean;
}

export function newInstance(id: string, klass: string, entry: string[], vars: Record<string, RuntimeValue> = {}): Instance {
  return {
    id,
    klass,
    vars,
    frames: [],
    stack: new Array(256),
    sp: 0,
    pending: 'none',
    effectPc: 0,
    stateDirty: false,
    nlEvent: false,
    triggerLast: {},
    entry,
    entryIndex: 0,
    inbox: [],
    offered: 0,
    wait: null,
    invitations: [],
    busy: 0,
  };
}
