// Random multi-agent programs for the scheduler property test (test/multi-agent-durability.test.ts).
//
// A program is made from a random global order of events (a message from one agent to another,
// a message to the user, a host tool call). Each agent runs its projection of that order: it
// sends its messages, calls its tools, and after a message to it (mostly) waits until it has
// received as many messages from the source it names (an id, a class name or "*") as the
// global order had delivered to it by then. Sends never block, so the global order itself is a
// run that gets through: such a program always finishes. A "deadlock" program adds one wait for
// a message nobody sends, which must end the run with the same deadlock error every time.
import type { Value } from '../../vm/pbasm/program.js';

type Op =
  | { op: 'send'; to: string; content: Value }
  | { op: 'tool'; tag: string }
  | { op: 'wait'; from: string; kind: 'id' | 'class' | 'any'; need: number };

interface AgentSpec {
  id: string;
  klass: string;
  /** Made by the first agent with CreateAgent (its class is standby). */
  created: boolean;
  script: Op[];
}

export interface AgentProgram {
  source: string;
  agents: number;
  /** Messages delivered between agents (each one 'msg' journal record). */
  deliveries: number;
  toolCalls: number;
  /** Whether the program was built to deadlock. */
  deadlock: boolean;
  /** The ids of the created agents, in creation order. */
  created: string[];
}

function contentOf(rng: () => number, k: number): Value {
  const n = Math.floor(rng() * 1000) - 500;
  switch (Math.floor(rng() * 4)) {
    case 0:
      return n;
    case 1:
      return [n, k, [k % 3, 'x']];
    case 2:
      return { k, n, tags: ['a', String(k)], ok: n > 0 };
    default:
      return `text ${k}`;
  }
}

export function randomAgentProgram(rng: () => number, options: { deadlock?: boolean } = {}): AgentProgram {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const n = 2 + Math.floor(rng() * 4);
  const declared = 1 + Math.floor(rng() * n);
  const agents: AgentSpec[] = [];
  // Declared agents get their ids first, in declaration order; created ones after, in creation order.
  for (let i = 0; i < declared; i++) agents.push({ id: `agent ${1000 + i}`, klass: `A${i}`, created: false, script: [] });
  for (let j = 0; j < n - declared; j++) {
    agents.push({ id: `agent ${1000 + declared + j}`, klass: rng() < 0.5 ? 'Worker' : `B${j}`, created: true, script: [] });
  }
  const firstOf = (a: AgentSpec) => agents.find((x) => x.klass === a.klass) === a;
  const received = new Map<string, AgentSpec[]>(agents.map((a) => [a.id, []]));
  let deliveries = 0;
  let toolCalls = 0;
  const events = 4 + Math.floor(rng() * 12);
  for (let e = 0; e < events; e++) {
    const from = pick(agents);
    const roll = rng();
    if (roll < 0.15) {
      from.script.push({ op: 'tool', tag: `t${e}` });
      toolCalls++;
      continue;
    }
    if (roll < 0.22) {
      from.script.push({ op: 'send', to: pick(['user', 'human']), content: contentOf(rng, e) });
      continue;
    }
    const to = pick(agents.filter((a) => a !== from));
    // A class name reaches the class's first instance only.
    from.script.push({ op: 'send', to: firstOf(to) && rng() < 0.35 ? to.klass : to.id, content: contentOf(rng, e) });
    deliveries++;
    const got = received.get(to.id)!;
    got.push(from);
    // Sometimes no wait here: a later wait takes several messages at once.
    if (rng() < 0.25) continue;
    const kind = pick(['id', 'class', 'any'] as const);
    const source = kind === 'id' ? from.id : kind === 'class' ? from.klass : '*';
    const need = kind === 'id' ? got.filter((a) => a === from).length : kind === 'class' ? got.filter((a) => a.klass === from.klass).length : got.length;
    to.script.push({ op: 'wait', from: source, kind, need });
  }
  if (options.deadlock) {
    // One more message from a peer than it will ever send.
    const waiter = pick(agents);
    const peer = pick(agents.filter((a) => a !== waiter));
    const need = received.get(waiter.id)!.filter((a) => a === peer).length + 1;
    waiter.script.push({ op: 'wait', from: peer.id, kind: 'id', need });
  }

  const json = (v: unknown) => JSON.stringify(v);
  const body = [
    '- $ids = []',
    '- $ks = []',
    '- For each $op in $script',
    '  - If $op.op == "send"',
    '    - SendMessage($op.to, $op.content)',
    '  - Elif $op.op == "tool"',
    '    - $r = Work($op.tag)',
    '    - Say(f"{$me} {$r}")',
    '  - Else',
    '    - $have = Have($op, $ids, $ks)',
    '    - While $have < $op.need',
    '      - For each $m in WaitForMessage($op.from)',
    '        - Say(f"{$me} got {$m.content} from {$m.sender} ({$m.sender_klass})")',
    '        - $ids = $ids + [$m.sender]',
    '        - $ks = $ks + [$m.sender_klass]',
    '      - $have = Have($op, $ids, $ks)',
    '- Say(f"{$me} done")',
    '',
    '## Have($wop, $wids, $wks)',
    '### Steps',
    '- If $wop.kind == "any"',
    '  - Return len($wids)',
    '- $count = 0',
    '- $seen = $wks',
    '- If $wop.kind == "id"',
    '  - $seen = $wids',
    '- For each $s in $seen',
    '  - If $s == $wop.from',
    '    - $count = $count + 1',
    '- Return $count',
  ];
  const out: string[] = [];
  const classes = new Set<string>();
  for (const a of agents) {
    if (a.created && classes.has(a.klass)) continue;
    classes.add(a.klass);
    out.push(`# ${a.klass}`);
    if (a.created) out.push('startup_mode: standby', '');
    out.push('## Run', '### Triggers', '- At the beginning', '### Steps');
    if (!a.created) out.push(`- $me = ${json(a.id)}`, `- $script = ${json(a.script)}`);
    if (a === agents[0]) {
      agents.filter((c) => c.created).forEach((c, j) => {
        out.push(`- $made${j} = CreateAgent(${json(c.klass)}, me=${json(c.id)}, script=${json(c.script)})`);
        out.push(`- Say(f"created {$made${j}} as ${c.klass}")`);
      });
    }
    out.push(...body, '');
  }
  return {
    source: `# generated\n\n${out.join('\n')}`.replace(/^# generated\n\n/, ''),
    agents: n,
    deliveries,
    toolCalls,
    deadlock: !!options.deadlock,
    created: agents.filter((a) => a.created).map((a) => a.id),
  };
}
