// Agent names as values: in an expression, a bare name that is no variable there but names an
// agent of the program (or is `user` / `human`) is the string of that name, so
// `SendMessage(Bob, $x)` sends to "Bob" and `Say(user, ...)` speaks to "user".
import type { Expr } from './ast.js';
import type { Symbols } from './symbols.js';

/** The string a bare name stands for, when it names an agent or the user; undefined otherwise. */
export function agentValue(name: string, symbols: Symbols): string | undefined {
  const low = name.toLowerCase();
  if (low === 'user' || low === 'human') return low;
  return symbols.agent(name) ? name : undefined;
}

/** The user, however written: user, human, "user", 'Human', the user. */
export function isUserRecipient(text: string): boolean {
  return /^(?:"|')?(?:the[ \t]+)?(?:user|human)(?:"|')?$/i.test(text.trim());
}

/** Replaces, outside callee position, every bare name `value` maps to by its string constant. */
export function withAgentValues(e: Expr, value: (name: string) => string | undefined): Expr {
  const w = (x: Expr): Expr => withAgentValues(x, value);
  switch (e.k) {
    case 'lit':
      return e;
    case 'var': {
      const v = e.state ? undefined : value(e.name);
      return v === undefined ? e : { k: 'lit', value: v, pos: e.pos };
    }
    case 'fstr':
      return { ...e, parts: e.parts.map((p) => (typeof p === 'string' ? p : w(p))) };
    case 'list':
      return { ...e, items: e.items.map(w) };
    case 'obj':
      return { ...e, entries: e.entries.map(([a, b]) => [w(a), w(b)] as [Expr, Expr]) };
    case 'index':
      return { ...e, obj: w(e.obj), index: w(e.index) };
    case 'attr':
      return { ...e, obj: w(e.obj) };
    case 'call': {
      // `Alice.Greet()` and `Greet()` name a callee, not a value.
      const named = (e.callee.k === 'var' && !e.callee.state) || (e.callee.k === 'attr' && e.callee.obj.k === 'var' && !e.callee.obj.state);
      return { ...e, callee: named ? e.callee : w(e.callee), args: e.args.map(w), kwargs: e.kwargs.map((k) => ({ ...k, value: w(k.value) })) };
    }
    case 'bin':
    case 'logic':
      return { ...e, left: w(e.left), right: w(e.right) };
    case 'un':
      return { ...e, expr: w(e.expr) };
  }
}
