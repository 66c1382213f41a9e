// What the model sees. The prefix (tools, system rules, agent, playbook listing) is stable
// for a given playbook and carries cache_control breakpoints; everything that changes
// (call stack, variables, the frame's recent history, the step) comes after it.
import type { AgentInfo, CodeObject, NLInfo } from '../pbasm/program.js';
import type { ModelTool, TextBlock } from './protocol.js';

export const SYSTEM_RULES = `You carry out steps of a playbook program for the agent described below. A virtual machine runs the program: it owns the control flow, the variables and the call stack. You perform only the step you are given, through the tools offered, and then stop. The machine decides what happens next.
- Talk to the user only with the say tool, one call per message. Plain text in your reply is the step's result, not a message to the user (except for a step that asks you to reply with a message).
- Variables: $name is agent state, shared by all playbooks; a bare name is local to the current playbook. Read them from the context; change them with set_variable.
- Ask the user with ask_user; its result is the user's answer.
- Run a listed playbook or tool with call_playbook; its result comes back to you.
- Large values appear as Artifact[name] with a summary; load_artifact returns the full content.
- When the step is done, call finish_step (optionally with a result), or simply stop with a short text reply.
- Never do the work of later steps, and never invent facts the user did not give you.`;

const obj = (properties: Record<string, unknown>, required: string[]) => ({ type: 'object', properties, required, additionalProperties: false });

const TOOLS: Record<string, ModelTool> = {
  say: { name: 'say', description: 'Send one message to the user.', input_schema: obj({ message: { type: 'string' } }, ['message']) },
  set_variable: {
    name: 'set_variable',
    description: 'Set a variable ($name for agent state, bare name for a local) to a JSON value.',
    input_schema: obj({ name: { type: 'string' }, value: {} }, ['name', 'value']),
  },
  ask_user: { name: 'ask_user', description: "Ask the user a question; returns the user's answer.", input_schema: obj({ question: { type: 'string' } }, ['question']) },
  call_playbook: {
    name: 'call_playbook',
    description: 'Run a listed playbook or tool with arguments (an object of parameter name to value); returns its result.',
    input_schema: obj({ name: { type: 'string' }, args: { type: 'object' } }, ['name']),
  },
  load_artifact: { name: 'load_artifact', description: 'Return the full content of an artifact.', input_schema: obj({ name: { type: 'string' } }, ['name']) },
  finish_step: {
    name: 'finish_step',
    description: 'End the step, optionally with a result.',
    input_schema: obj({ result: {} }, []),
  },
  skip_step: {
    name: 'skip_step',
    description: 'Skip an optional step of an enforced procedure that does not apply, with the reason.',
    input_schema: obj({ reason: { type: 'string' } }, ['reason']),
  },
  finish_block: {
    name: 'finish_block',
    description: 'End the step and say whether its nested steps should run now.',
    input_schema: obj({ run_nested: { type: 'boolean' }, result: {} }, ['run_nested']),
  },
  decide: { name: 'decide', description: 'Answer the yes/no question.', input_schema: obj({ answer: { type: 'boolean' } }, ['answer']) },
  provide_value: { name: 'provide_value', description: 'Provide the requested value as JSON.', input_schema: obj({ value: {} }, ['value']) },
  provide_list: { name: 'provide_list', description: 'Provide the items to loop over, as a JSON array.', input_schema: obj({ items: { type: 'array' } }, ['items']) },
  phrase_question: { name: 'phrase_question', description: 'Give the exact question to show the user.', input_schema: obj({ question: { type: 'string' } }, ['question']) },
  fire_triggers: {
    name: 'fire_triggers',
    description: 'List the ids of the triggers whose condition holds now (empty if none).',
    input_schema: obj({ ids: { type: 'array', items: { type: 'string' } } }, ['ids']),
  },
};

/**
 * Every call offers the same tools, in the same order, so the tool list is a byte-identical
 * cached prefix; what differs per kind of work is the forced tool (if any).
 */
export const ALL_TOOLS: ModelTool[] = withCacheMark(Object.values(TOOLS));

export function forcedTool(kind: NLInfo['kind'] | 'phrase' | 'triggers'): string | undefined {
  switch (kind) {
    case 'cond':
      return 'decide';
    case 'value':
    case 'return':
      return 'provide_value';
    case 'list':
      return 'provide_list';
    case 'phrase':
      return 'phrase_question';
    case 'triggers':
      return 'fire_triggers';
    default:
      return undefined;
  }
}

const GENERATE_TOOL: ModelTool = {
  name: 'generate_playbook',
  description: 'Write a new playbook for a goal no listed playbook covers; it is checked, linked, and then callable with call_playbook.',
  input_schema: { type: 'object', properties: { goal: { type: 'string' }, name: { type: 'string' } }, required: ['goal'], additionalProperties: false },
};

/**
 * For programs with several agents or humans: messages and meetings. The model acts on other
 * agents only through these (and call_playbook: CreateAgent, public playbooks, meeting playbooks).
 */
const MESSAGING_TOOLS: ModelTool[] = [
  {
    name: 'send_message',
    description: 'Send a message to an agent or a person: "to" is an agent id ("agent 1001"), an agent class name, a human\'s name, "user", or a meeting id ("meeting 100", or "meeting" for the current one: everyone else in it). "content" may be text or any JSON value.',
    input_schema: obj({ to: { type: 'string' }, content: {} }, ['to', 'content']),
  },
  {
    name: 'wait_for_message',
    description: 'Wait until a message arrives from "from" ("*" for anyone, "user", an agent id or class, or a meeting id), and return the messages waiting (each has sender, sender_klass, content, meeting).',
    input_schema: obj({ from: { type: 'string' } }, []),
  },
  {
    name: 'set_shared_state',
    description: "Set a key of the current meeting's shared state to a JSON value (every participant sees it).",
    input_schema: obj({ key: { type: 'string' }, value: {} }, ['key', 'value']),
  },
];

/** The same tools plus generate_playbook, for agents and playbooks with `generate: true`. */
export const TOOLS_WITH_GENERATE: ModelTool[] = withCacheMark([...Object.values(TOOLS), GENERATE_TOOL]);
const TOOLS_WITH_MESSAGING: ModelTool[] = withCacheMark([...Object.values(TOOLS), ...MESSAGING_TOOLS]);
const TOOLS_WITH_BOTH: ModelTool[] = withCacheMark([...Object.values(TOOLS), GENERATE_TOOL, ...MESSAGING_TOOLS]);

/** The tools of a request: the same list for every call of a program (a cached prefix). */
export function toolsFor(generate: boolean, messaging: boolean): ModelTool[] {
  if (messaging) return generate ? TOOLS_WITH_BOTH : TOOLS_WITH_MESSAGING;
  return generate ? TOOLS_WITH_GENERATE : ALL_TOOLS;
}

/** A program talks between agents when it has more than one agent, or declares a human. */
export function isMultiAgent(agents: readonly AgentInfo[]): boolean {
  return agents.length > 1 || agents.some((a) => a.kind === 'human');
}

/** Marks the last tool so the whole tool list is part of the cached prefix. */
function withCacheMark(tools: ModelTool[]): ModelTool[] {
  if (tools.length === 0) return tools;
  const out = tools.slice();
  out[out.length - 1] = { ...out[out.length - 1]!, cache_control: { type: 'ephemeral' } };
  return out;
}

function signature(p: CodeObject): string {
  return `${p.name}(${p.params.map((x) => (x.hasDefault ? `${x.name}=${JSON.stringify(x.default)}` : x.name)).join(', ')})`;
}

/** One playbook's listing for the model: its steps by PBAsm step id. */
export function playbookListing(p: CodeObject): string {
  const lines = [`## Playbook ${signature(p)}`];
  if (p.description) lines.push(p.description);
  if (p.steps.length) {
    lines.push('### Steps');
    for (const s of p.steps) {
      if (s.kind === 'trigger') continue;
      const depth = s.id.split('.').length - 1;
      lines.push(`${'  '.repeat(depth)}- ${s.id}: ${s.text}`);
    }
  }
  if (p.notes.length) lines.push('### Notes', ...p.notes);
  return lines.join('\n');
}

/** Playbooks and tools the step may call: its own agent's, and other agents' public ones. */
export function callableListing(agents: readonly AgentInfo[], agent: string, tools: readonly string[]): string {
  const lines: string[] = [];
  for (const a of agents) {
    for (const p of a.playbooks) {
      if (a.name !== agent && !p.public) continue;
      if (p.kind === 'foreign') continue;
      const name = a.name === agent ? signature(p) : `${a.name}.${signature(p)}`;
      const about = p.description ? ` — ${p.description.split('\n')[0]!.slice(0, 120)}` : '';
      lines.push(`- ${name}${about}`);
    }
  }
  for (const t of tools) lines.push(`- ${t.includes('(') ? t : `${t}(...)`} — host tool`);
  return lines.length ? `# Callable playbooks and tools\n${lines.join('\n')}` : '';
}

/** The system blocks: rules (shared by every call), then the agent and playbook (stable per playbook). */
export function systemBlocks(agent: AgentInfo, playbook: CodeObject, callable: string): TextBlock[] {
  const about = [`# Agent ${agent.name}`, agent.description, '', playbookListing(playbook), '', callable].filter((x) => x !== undefined).join('\n').trim();
  return [
    { type: 'text', text: SYSTEM_RULES, cache_control: { type: 'ephemeral' } },
    { type: 'text', text: about, cache_control: { type: 'ephemeral' } },
  ];
}
