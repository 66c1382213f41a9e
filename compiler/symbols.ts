// The program's symbol table: agents and their playbooks, plus builtins and natives.
// It answers "what does this call name?" for the checker and for code generation.
import type { Expr, Pos } from './ast.js';
import type { AgentDraft, PlaybookDraft, Reporter } from './declarations.js';
import { builtinSpec, type BuiltinSpec } from '../vm/pbasm/builtins-table.js';
import { nativeIndex, NATIVES } from '../vm/pbasm/natives-table.js';

export type Resolved =
  | { kind: 'playbook'; agent: AgentDraft; playbook: PlaybookDraft; crossAgent: boolean }
  | { kind: 'builtin'; spec: BuiltinSpec }
  | { kind: 'native'; index: number }
  | { kind: 'dynamic' } // a variable holding a playbook reference, or a host tool resolved at run time
  | { kind: 'invalid' };

export interface SymbolOptions {
  /** Names of host tools known to exist at run time (pb check --tools). */
  tools?: ReadonlySet<string>;
  /** Treat calls to names that are not defined anywhere as errors. */
  strictCalls?: boolean;
  /** Generated code: no calls into other agents. */
  noCrossAgent?: boolean;
}

export class Symbols {
  private readonly agents = new Map<string, AgentDraft>();
  private readonly byAgent = new Map<string, Map<string, PlaybookDraft>>();

  constructor(
    agents: AgentDraft[],
    private readonly options: SymbolOptions = {},
  ) {
    for (const a of agents) {
      this.agents.set(a.name, a);
      const m = new Map<string, PlaybookDraft>();
      for (const p of a.playbooks) if (!m.has(p.name)) m.set(p.name, p);
      this.byAgent.set(a.name, m);
    }
  }

  agent(name: string): AgentDraft | undefined {
    return this.agents.get(name);
  }

  agentNames(): string[] {
    return [...this.agents.keys()];
  }

  playbook(agent: string, name: string): PlaybookDraft | undefined {
    return this.byAgent.get(agent)?.get(name);
  }

  /** Resolves a call's callee without reporting anything. */
  resolve(call: Extract<Expr, { k: 'call' }>, agent: string, locals: ReadonlySet<string>): Resolved {
    const c = call.callee;
    if (c.k === 'var') {
      if (c.state || locals.has(c.name)) return { kind: 'dynamic' };
      const own = this.playbook(agent, c.name);
      if (own) return { kind: 'playbook', agent: this.agents.get(agent)!, playbook: own, crossAgent: false };
      const builtin = builtinSpec(c.name);
      if (builtin) return { kind: 'builtin', spec: builtin };
      const native = nativeIndex(c.name);
      if (native !== undefined) return { kind: 'native', index: native };
      return { kind: 'dynamic' };
    }
    if (c.k === 'attr' && c.obj.k === 'var' && !c.obj.state) {
      const target = this.agents.get(c.obj.name);
      const pb = target && this.playbook(target.name, c.name);
      if (target && pb) return { kind: 'playbook', agent: target, playbook: pb, crossAgent: true };
    }
    return { kind: 'invalid' };
  }

  /** Reports undefined callees, visibility and argument mismatches for one call. */
  checkCall(call: Extract<Expr, { k: 'call' }>, agent: string, locals: ReadonlySet<string>, params: ReadonlySet<string>, report: Reporter): void {
    const c = call.callee;
    if (this.options.noCrossAgent && c.k === 'attr') {
      report.error('restricted-call', 'generated playbooks may not call playbooks of other agents', c.pos);
      return;
    }
    const r = this.resolve(call, agent, locals);
    if (r.kind === 'invalid') {
      if (c.k === 'attr' && c.obj.k === 'var' && !c.obj.state) {
        const target = this.agents.get(c.obj.name);
        if (!target) {
          if (locals.has(c.obj.name) || params.has(c.obj.name)) {
            report.error('method-call', `method calls are not supported: '${c.obj.name}.${c.name}(...)'`, c.pos);
          } else {
            const hint = closest(c.obj.name, [...this.agents.keys()]);
            report.error('undefined-agent', `undefined agent '${c.obj.name}'${hint ? `; did you mean '${hint}'?` : ''}`, c.obj.pos);
          }
        } else {
          const hint = closest(c.name, [...(this.byAgent.get(target.name)?.keys() ?? [])]);
          report.error('undefined-playbook', `agent '${target.name}' has no playbook '${c.name}'${hint ? `; did you mean '${hint}'?` : ''}`, c.pos);
        }
      } else {
        report.error('not-callable', 'only playbooks and builtins can be called', c.pos);
      }
      return;
    }
    if (r.kind === 'dynamic') {
      if (c.k === 'var' && !c.state && !locals.has(c.name)) this.unresolved(c.name, c.pos, agent, report);
      return;
    }
    if (r.kind === 'native') {
      const spec = NATIVES[r.index]!;
      if (call.kwargs.length > 0) report.error('unknown-keyword', `builtin '${spec.name}' takes no keyword arguments`, call.kwargs[0]!.pos);
      const n = call.args.length;
      if (n < spec.minArgs || n > spec.maxArgs) {
        const want = spec.minArgs === spec.maxArgs ? `${spec.minArgs}` : `${spec.minArgs} to ${spec.maxArgs}`;
        report.error('wrong-arity', `'${spec.name}' takes ${want} argument${spec.maxArgs === 1 ? '' : 's'}, got ${n}`, call.pos);
      }
      return;
    }
    if (r.kind === 'builtin') {
      checkArgs(r.spec.name, r.spec.params.map((p, i) => ({ name: p, required: i < r.spec.minArgs })), call, report, true, r.spec.anyKeywords === true);
      return;
    }
    const pb = r.playbook;
    if (r.crossAgent && r.agent.name !== agent && !isPublic(pb)) {
      report.error('not-public', `playbook '${r.agent.name}.${pb.name}' is not public; mark it 'public: true' to call it from agent '${agent}'`, call.callee.pos);
    }
    const exact = pb.kind === 'markdown';
    checkArgs(pb.name, pb.params.map((p) => ({ name: p.name, required: exact && !p.hasDefault })), call, report, exact);
  }

  private unresolved(name: string, pos: Pos, agent: string, report: Reporter): void {
    const candidates = [...(this.byAgent.get(agent)?.keys() ?? [])];
    const hint = closest(name, candidates);
    if (hint) {
      report.error('undefined-playbook', `undefined playbook '${name}'; did you mean '${hint}'?`, pos);
      return;
    }
    for (const [other, pbs] of this.byAgent) {
      if (other !== agent && pbs.has(name)) {
        report.error('undefined-playbook', `undefined playbook '${name}' in agent '${agent}'; it belongs to agent '${other}': call it as ${other}.${name}(...)`, pos);
        return;
      }
    }
    if (this.options.tools?.has(name)) return;
    if (this.options.tools || this.options.strictCalls) {
      report.error('undefined-playbook', `undefined playbook '${name}': not defined in this program${this.options.tools ? ' or its tools' : ''}`, pos);
      return;
    }
    report.warning('undefined-playbook', `'${name}' is not defined in this program; it must be a host tool (pb run --tools), or the call fails at run time`, pos);
  }
}

export function isPublic(pb: PlaybookDraft): boolean {
  return pb.metadata.public === true;
}

function checkArgs(
  name: string,
  params: Array<{ name: string; required: boolean }>,
  call: Extract<Expr, { k: 'call' }>,
  report: Reporter,
  exact: boolean,
  /** Keywords other than the parameters are accepted (CreateAgent's initial $state). */
  anyKeywords = false,
): void {
  if (call.args.length > params.length && (exact || params.length > 0)) {
    report.error('wrong-arity', `too many arguments: '${name}' takes ${params.length}, got ${call.args.length}`, call.args[params.length]!.pos);
  }
  const given = new Set<string>();
  call.args.forEach((_a, i) => params[i] && given.add(params[i]!.name));
  for (const kw of call.kwargs) {
    const param = params.find((p) => p.name === kw.name);
    if (!param) {
      if (anyKeywords) {
        if (given.has(kw.name)) report.error('duplicate-argument', `argument '${kw.name}' is given more than once`, kw.pos);
        given.add(kw.name);
      } else if (exact || params.length > 0) {
        const list = params.length ? params.map((p) => p.name).join(', ') : 'none';
        report.error('unknown-keyword', `unknown keyword argument '${kw.name}' for '${name}' (parameters: ${list})`, kw.pos);
      }
      continue;
    }
    if (given.has(kw.name)) report.error('duplicate-argument', `argument '${kw.name}' is given more than once`, kw.pos);
    given.add(kw.name);
  }
  for (const p of params) {
    if (p.required && !given.has(p.name)) report.error('missing-argument', `missing argument '${p.name}' in call to '${name}'`, call.pos);
  }
}

/** The candidate within edit distance 2 (or differing only in case), if any. */
export function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    if (c === name) continue;
    if (c.toLowerCase() === lower) return c;
    if (Math.abs(c.length - name.length) >= bestD) continue;
    const d = editDistance(lower, c.toLowerCase(), bestD);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return name.length <= 3 && bestD > 1 ? undefined : best;
}

function editDistance(a: string, b: string, cap: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= cap) return cap;
    prev = cur;
  }
  return prev[b.length]!;
}
