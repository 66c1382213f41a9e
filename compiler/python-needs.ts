// Which python playbooks a program needs in order to do what its author wrote: an entry point,
// a playbook with triggers, or one called (deterministically) from a playbook that runs. pbvm
// does not run python, so the compiler says so once, naming them, instead of letting a run
// finish quietly without them.
import type { Expr, Pos, Stmt } from './ast.js';
import type { AgentDraft, PlaybookDraft, Reporter } from './declarations.js';
import type { Symbols } from './symbols.js';

interface Need {
  playbook: PlaybookDraft;
  why: string;
}

/** `text` mentions `name` as a whole word (`Call do_reserve_table using ...`). */
function names(text: string, name: string): boolean {
  let at = text.indexOf(name);
  while (at >= 0) {
    const before = at > 0 ? text[at - 1]! : ' ';
    const after = text[at + name.length] ?? ' ';
    if (!/[A-Za-z0-9_]/.test(before) && !/[A-Za-z0-9_]/.test(after)) return true;
    at = text.indexOf(name, at + 1);
  }
  return false;
}

/** Calls in an expression, in source order. */
function calls(e: Expr, out: Array<Extract<Expr, { k: 'call' }>>): void {
  switch (e.k) {
    case 'call':
      out.push(e);
      calls(e.callee, out);
      e.args.forEach((a) => calls(a, out));
      e.kwargs.forEach((k) => calls(k.value, out));
      return;
    case 'fstr':
      e.parts.forEach((p) => typeof p !== 'string' && calls(p, out));
      return;
    case 'list':
      e.items.forEach((x) => calls(x, out));
      return;
    case 'obj':
      e.entries.forEach(([k, v]) => (calls(k, out), calls(v, out)));
      return;
    case 'index':
      calls(e.obj, out);
      calls(e.index, out);
      return;
    case 'attr':
      calls(e.obj, out);
      return;
    case 'bin':
    case 'logic':
      calls(e.left, out);
      calls(e.right, out);
      return;
    case 'un':
      calls(e.expr, out);
      return;
    default:
      return;
  }
}

interface Words {
  text: string;
  pos: Pos;
}

/**
 * The expressions a step list evaluates as code, and the natural-language texts the model
 * works from (steps, conditions, values), nested steps included.
 */
function expressions(steps: readonly Stmt[], out: Expr[], words: Words[]): void {
  const op = (o: { k: 'expr'; expr: Expr } | { k: 'nl'; text: string; pos: Pos } | undefined) => {
    if (o?.k === 'expr') out.push(o.expr);
    else if (o?.k === 'nl') words.push({ text: o.text, pos: o.pos });
  };
  for (const s of steps) {
    switch (s.kind) {
      case 'assign':
        op(s.value);
        break;
      case 'call':
        out.push(s.call);
        break;
      case 'if':
        for (const b of s.branches) {
          op(b.cond);
          expressions(b.body, out, words);
        }
        if (s.orelse) expressions(s.orelse.body, out, words);
        break;
      case 'while':
      case 'until':
        op(s.cond);
        expressions(s.body, out, words);
        break;
      case 'foreach':
        op(s.iterable);
        expressions(s.body, out, words);
        break;
      case 'return':
        op(s.value);
        break;
      case 'say':
        op(s.message);
        break;
      case 'nl':
        words.push({ text: s.text, pos: s.pos });
        expressions(s.body, out, words);
        break;
      default:
        break;
    }
  }
}

/**
 * Reports (once per program, warning `needs-python`) the python playbooks that the program's
 * entry points, triggers and the calls of the playbooks they run need. `entries` are the
 * playbooks a run starts with; `statements` the steps of each markdown playbook.
 */
export function reportPythonNeeds(
  agents: readonly AgentDraft[],
  entries: readonly PlaybookDraft[],
  statements: ReadonlyMap<PlaybookDraft, Stmt[] | undefined>,
  symbols: Symbols,
  report: Reporter,
  lineOf: (pos: Pos) => number,
): void {
  if (!agents.some((a) => a.playbooks.some((p) => p.kind === 'foreign'))) return;
  const needs: Need[] = [];
  const need = (playbook: PlaybookDraft, why: string) => {
    if (!needs.some((n) => n.playbook === playbook)) needs.push({ playbook, why });
  };
  const agentOf = new Map<PlaybookDraft, AgentDraft>();
  for (const a of agents) for (const p of a.playbooks) agentOf.set(p, a);

  // What a run starts: the entry points and every playbook with a trigger.
  const roots: PlaybookDraft[] = [...entries];
  for (const a of agents) for (const p of a.playbooks) if (p.triggers.length > 0 && !roots.includes(p)) roots.push(p);
  for (const p of roots) {
    if (p.kind !== 'foreign') continue;
    if (entries.includes(p)) need(p, 'the entry point');
    else need(p, `its trigger '${p.triggers[0]!.text}' is never checked`);
  }
  // Then what those playbooks call, as far as the calls are code.
  const seen = new Set<PlaybookDraft>();
  const queue = roots.filter((p) => p.kind === 'markdown');
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (seen.has(p)) continue;
    seen.add(p);
    const exprs: Expr[] = [];
    const words: Words[] = [];
    const steps = statements.get(p);
    expressions(steps ?? [], exprs, words);
    // A playbook without steps is one task for the model: its description.
    if (!steps) words.push({ text: p.description, pos: p.pos });
    const found: Array<Extract<Expr, { k: 'call' }>> = [];
    for (const e of exprs) calls(e, found);
    for (const c of found) {
      const r = symbols.resolve(c, agentOf.get(p)!.name, new Set());
      if (r.kind !== 'playbook') continue;
      if (r.playbook.kind === 'foreign') need(r.playbook, `called by ${p.name} at line ${lineOf(c.pos)}`);
      else if (r.playbook.kind === 'markdown') queue.push(r.playbook);
    }
    // Natural language that names a playbook of the agent: the model would call it.
    for (const w of words) {
      for (const other of agentOf.get(p)!.playbooks) {
        // "Reserve table for that time" names the playbook "## Reserve table($time)".
        const titled = other.title.includes(' ') && names(w.text.toLowerCase(), other.title.toLowerCase());
        if (other === p || !(names(w.text, other.name) || titled)) continue;
        if (other.kind === 'foreign') need(other, `named in a step of ${p.name} at line ${lineOf(w.pos)}, for the model to call`);
        else if (other.kind === 'markdown') queue.push(other);
      }
    }
  }
  if (needs.length === 0) return;
  const list = needs.map((n) => `${n.playbook.name} (${n.why})`).join(', ');
  report.warning(
    'needs-python',
    `this program needs python playbooks, which pbvm does not run: ${list}; none of them will run (a call fails, and the model is told it cannot call them): port them to a \`\`\`ts block`,
    needs[0]!.playbook.pos,
  );
}
