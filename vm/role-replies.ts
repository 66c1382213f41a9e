// An agent with no playbooks at all (Negotiation's "# Boss": a role and nothing else) answers
// the messages it gets from its role, as Playbooks AI's message loop does: when a model is
// configured, each batch of new messages runs one natural-language task whose result is sent
// back to the sender. Without a model, such messages stay in the inbox.
import { Op } from './pbasm/opcodes.js';
import type { AgentInfo, CodeObject } from './pbasm/program.js';
import type { Instance } from './instance.js';
import type { MachineCore } from './machine-core.js';
import { received } from './triggers.js';

export const ROLE_REPLY = '<reply>';
const TASK = 'Read the messages you received (in your history) and answer them as the agent described above: your result is sent back to the sender as your reply.';

/** The one playbook a role-only agent runs for its messages. */
export function rolePlaybook(agent: AgentInfo): CodeObject {
  return {
    name: ROLE_REPLY,
    title: 'Reply to messages',
    agent: agent.name,
    kind: 'react',
    description: TASK,
    notes: [],
    metadata: {},
    public: false,
    params: [],
    locals: [],
    code: [Op.STEP, 0, Op.NL_VALUE, 0, Op.RETURN],
    consts: [],
    calls: [],
    nl: [{ kind: 'task', text: TASK, mentions: [], step: 0 }],
    steps: [{ id: '01', kind: 'react', file: 0, line: 1, col: 1, text: TASK }],
    stepOf: [0, 0, 0, 0, 0],
    triggers: [],
    file: 0,
    line: 1,
  };
}

/** An AI agent with no playbooks answers from its role (only when the host has a model). */
export function answersFromRole(m: MachineCore, klass: string): boolean {
  if (!m.hasModel) return false;
  const agent = m.program.agents.find((a) => a.name === klass);
  return agent !== undefined && agent.kind === undefined && agent.playbooks.length === 0;
}

/** An idle role-only instance with new messages starts its reply; false when it has none. */
export function startRoleReply(m: MachineCore, inst: Instance): boolean {
  if (!answersFromRole(m, inst.klass) || inst.inbox.length <= inst.offered) return false;
  const code = m.lookup(inst.klass, ROLE_REPLY);
  if (!code) return false;
  const messages = inst.inbox.splice(inst.offered);
  const f = m.enter(code, 0, [], true, undefined, inst);
  f.log = messages.map(received);
  const from = messages.find((x) => x.type === 'direct' && m.byId.has(x.sender));
  if (from) f.replyTo = from.sender;
  return true;
}
