// The compiled shapes the multi-agent VM relies on (#12): agent kinds, the builtin call sites
// of Say/SendMessage/WaitForMessage/CreateAgent/SharedState, and a meeting playbook's
// implicit locals. The listings are in test/golden/listing/{agent-kinds,agent-values,meeting};
// these tests pin the data behind them and that such programs compile without warnings.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileSource } from '../compiler/compile.js';
import { formatDiagnostics } from '../compiler/diagnostics.js';
import type { CodeObject, Program } from '../vm/pbasm/program.js';

const LISTING = join(dirname(fileURLToPath(import.meta.url)), 'golden', 'listing');

function compileClean(name: string): Program {
  const r = compileSource(readFileSync(join(LISTING, name), 'utf8'), name);
  expect(formatDiagnostics(r.diagnostics, r.sources)).toBe('');
  return r.program!;
}

const playbook = (p: Program, agent: string, name: string): CodeObject => p.agents.find((a) => a.name === agent)!.playbooks.find((x) => x.name === name)!;
const sites = (co: CodeObject) => co.calls.map((c) => `${c.name}/${c.argc}${c.kwnames.length ? ` kw=${c.kwnames.join(',')}` : ''} [${c.kind}]`);

describe('multi-agent programs compile to the shapes the VM expects', () => {
  it('agent headings: the name before the colon, the whole heading as title, kind human/mcp, none for AI', () => {
    const p = compileClean('agent-kinds.pb');
    expect(p.agents.map((a) => ({ name: a.name, title: a.title, kind: a.kind }))).toEqual([
      { name: 'Alice', title: 'Alice:Human', kind: 'human' },
      { name: 'Bob', title: 'Bob : human', kind: 'human' },
      { name: 'Vault', title: 'Vault:MCP', kind: 'mcp' },
      { name: 'Greeter', title: 'Greeter:AI', kind: undefined },
    ]);
    expect(p.agents.filter((a) => 'kind' in a).map((a) => a.name)).toEqual(['Alice', 'Bob', 'Vault']);
  });

  it('Say to the user stays SAY; every other recipient, and the messaging builtins, are builtin call sites', () => {
    const p = compileClean('agent-values.pb');
    const main = playbook(p, 'Host', 'Main');
    expect(sites(main)).toEqual([
      'Say/2 [builtin]', // Say(Worker, ...)
      'Say/2 [builtin]', // Say("agent 2", ...)
      'CreateAgent/3 kw=n,label [builtin]',
      'Say/2 [builtin]', // Say($w, ...)
      'SendMessage/2 [builtin]',
      'SendMessage/2 [builtin]',
      'WaitForMessage/1 [builtin]',
      'WaitForMessage/0 [builtin]',
      'WaitForMessage/1 [builtin]',
      'Say/2 [builtin]', // Say(Worker, ...) with a local named Worker
    ]);
    expect(main.consts).toEqual(expect.arrayContaining(['Worker', 'agent 2', 'user', 'human', 'Host']));
    expect(main.steps.filter((s) => s.kind === 'say').map((s) => s.id)).toEqual(['01', '02', '03', '15.01']);
  });

  it('a meeting playbook declares meeting_id, inviter_id and topic after its parameters; a parameter keeps its name', () => {
    const p = compileClean('meeting.pb');
    const host = playbook(p, 'RestaurantConsultant', 'MenuMeeting');
    expect(host.params).toEqual([]);
    expect(host.locals.slice(0, 3)).toEqual(['meeting_id', 'inviter_id', 'topic']);
    expect(host.metadata).toMatchObject({ meeting: true, required_attendees: ['HeadChef', 'MarketingSpecialist'], optional_attendees: ['Critic', 'HeadChef'] });
    expect(sites(host)).toEqual(['Say/2 [builtin]', 'SetSharedState/2 [builtin]', 'WaitForMessage/1 [builtin]', 'SharedState/1 [builtin]', 'Say/2 [builtin]']);
    const chef = playbook(p, 'HeadChef', 'MenuMeeting');
    expect(chef.params.map((x) => x.name)).toEqual(['topic']);
    expect(chef.locals.slice(0, 3)).toEqual(['topic', 'meeting_id', 'inviter_id']);
    expect(chef.metadata.required_attendees).toEqual(['RestaurantConsultant', 'MarketingSpecialist']);
    // Not a meeting: no implicit locals.
    expect(playbook(p, 'Critic', 'Review').locals).toEqual([]);
  });

  it('`user` and agent names were warned about as unknown variables before; now they compile quietly', () => {
    const r = compileSource('# Host\n## Main\n### Triggers\n- At the beginning\n### Steps\n- SendMessage(user, "x")\n- $m = WaitForMessage(Helper)\n\n# Helper\n## Help\n### Steps\n- Say "ok"\n', 'q.pb');
    expect(r.diagnostics).toEqual([]);
  });
});
