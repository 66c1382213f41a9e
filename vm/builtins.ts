// The builtin playbooks every agent can call (their signatures: vm/pbasm/builtins-table.ts).
// Most become an effect or a message; WaitForMessage may make the instance wait (SWITCH).
import type { CallSite, Value } from './pbasm/program.js';
import type { Effect } from './effects.js';
import type { Frame } from './frame.js';
import type { MachineCore } from './machine-core.js';
import { checkValue, VMLimitError } from './limits.js';
import { toText } from './values.js';
import { resolveTarget, send, takeMessages } from './messages.js';
import { meetingHere } from './meetings.js';

/** Returned by the dispatch loop when the running instance waits: the scheduler runs another. */
export const SWITCH: Effect = Object.freeze({ kind: 'pause' }) as Effect;

/** Sends a message (SendMessage, Say to an agent or a meeting); a line to a human is a say effect. Leaves None. */
export function sendFrom(m: MachineCore, f: Frame, target: string, content: Value): Effect | undefined {
  const to = resolveTarget(m, target);
  if (typeof to === 'string') throw m.error('call-error', `cannot send a message to '${target}': ${to}`);
  const from = m.byId.get(f.self) ?? m.current;
  const line = send(m, from, to, content, () => toText(content));
  // A call leaves a value (None): the say effect's resume pushes it, or it is pushed here.
  if (line === undefined) {
    m.stack[m.sp++] = null;
    return undefined;
  }
  return m.effect({ kind: 'say', seq: 0, text: line, recipient: to.kind === 'human' ? to.klass : 'meeting', at: m.context(f) }, 'value');
}

export function builtin(m: MachineCore, site: CallSite, f: Frame, returnPc: number): Effect | undefined {
  const { args, kwargs } = m.popArgs(site.argc, site.kwnames, site.name);
  const named = (i: number, name: string): Value | undefined => (name in kwargs ? kwargs[name] : args[i]);
  const ctx = m.context(f);
  f.pc = returnPc;
  switch (site.name) {
    case 'Say': {
      const two = args.length + Object.keys(kwargs).length >= 2;
      const message = two ? named(1, 'message') : named(0, 'message') ?? named(0, 'recipient');
      const recipient = two ? toText(named(0, 'recipient') ?? 'user') : 'user';
      if (!/^(?:user|human)$/i.test(recipient)) return sendFrom(m, f, recipient, message ?? null);
      return m.effect({ kind: 'say', seq: 0, text: toText(message ?? null), recipient, at: ctx }, 'value');
    }
    case 'SendMessage': {
      const target = toText(named(0, 'target') ?? 'user');
      return sendFrom(m, f, target, named(1, 'message') ?? null);
    }
    case 'Ask':
      return m.effect({ kind: 'ask', seq: 0, prompt: toText(named(0, 'question') ?? ''), variable: '', at: ctx }, 'text');
    case 'WaitForMessage': {
      const source = toText(named(0, 'source') ?? '*');
      const inst = m.current;
      const taken = takeMessages(m, inst, source);
      if (taken.length) {
        m.stack[m.sp++] = taken;
        return undefined;
      }
      // Blocked: a delivery that matches pushes the list and makes it runnable (vm/messages.ts).
      inst.wait = { source, by: 'code' };
      return SWITCH;
    }
    case 'CreateAgent': {
      const klass = toText(named(0, 'klass') ?? named(0, 'agent_klass') ?? named(0, 'kind') ?? '');
      const agent = m.program.agents.find((a) => a.name === klass || a.name.toLowerCase() === klass.toLowerCase());
      if (!agent) throw m.error('call-error', `CreateAgent: there is no agent class '${klass}' (classes: ${m.program.agents.filter((a) => a.kind !== 'human').map((a) => a.name).join(', ')})`);
      if (agent.kind === 'human') throw m.error('call-error', `CreateAgent: '${klass}' is a human; only AI agents can be created`);
      const vars: Record<string, Value> = {};
      for (const [k, v] of Object.entries(kwargs)) {
        if (k === 'klass' || k === 'agent_klass' || k === 'kind') continue;
        vars[k.replace(/^\$/, '')] = v;
      }
      const inst = m.createInstance(agent.name, undefined, vars);
      m.stack[m.sp++] = inst.id;
      return undefined;
    }
    case 'SharedState': {
      const meeting = meetingHere(m);
      if (typeof meeting === 'string') throw m.error('call-error', `SharedState: ${meeting}`);
      const key = named(0, 'key');
      m.stack[m.sp++] = key === undefined || key === null ? { ...meeting.shared } : (meeting.shared[toText(key)] ?? null);
      return undefined;
    }
    case 'SetSharedState': {
      const meeting = meetingHere(m);
      if (typeof meeting === 'string') throw m.error('call-error', `SetSharedState: ${meeting}`);
      const value = named(1, 'value') ?? null;
      const key = toText(named(0, 'key') ?? '');
      try {
        checkValue({ ...meeting.shared, [key]: value }, m.limits, 'the meeting shared state holds');
      } catch (err) {
        if (err instanceof VMLimitError) throw m.error('limit-exceeded', err.message);
        throw err;
      }
      meeting.shared = { ...meeting.shared, [key]: value };
      m.stack[m.sp++] = null;
      return undefined;
    }
    case 'EndProgram':
      return m.endProgram();
    case 'SaveArtifact': {
      const name = toText(named(0, 'name') ?? null);
      m.artifacts[name] = { summary: named(1, 'summary') ?? null, content: named(2, 'content') ?? null };
      m.stack[m.sp++] = `Artifact[${name}]`;
      return undefined;
    }
    case 'LoadArtifact': {
      const name = toText(named(0, 'name') ?? null).replace(/^Artifact\[(.*)\]$/, '$1');
      const a = m.artifacts[name];
      if (a === undefined) throw m.error('call-error', `no artifact named '${name}'`);
      m.stack[m.sp++] = (a as Record<string, Value>).content ?? null;
      return undefined;
    }
    case 'Fail':
      // An explicit failure: inside a generated playbook it asks for a corrected version.
      throw m.error('failed', toText(named(0, 'reason') ?? 'the playbook reported a failure'));
    case 'GeneratePlaybook':
      return m.effect({ kind: 'generate', seq: 0, goal: toText(named(0, 'goal') ?? ''), name: (named(1, 'name') as string) ?? null, at: ctx }, 'value');
    default:
      throw m.error('unsupported', `builtin '${site.name}' is not supported by this VM`);
  }
}
