// Expression CST (grammar/expr-parser) → Expr AST, including f-string splitting.
import type { CstNode, IToken } from 'chevrotain';
import { parseExpression } from '../grammar/expr-parser.js';
import type { BinOp, Expr, Pos } from './ast.js';

/** Maps an offset inside the parsed text to a source position. */
export type PosMapper = (offset: number, length: number) => Pos;

export class ExprError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const MAX_NESTING = 64;

/** Parses `text` into an Expr; throws ExprError (with an offset) when it is not one. */
export function toExpr(text: string, at: PosMapper): Expr {
  const depthProblem = nestingProblem(text);
  if (depthProblem !== undefined) throw new ExprError(`expression nested more than ${MAX_NESTING} deep`, depthProblem);
  const parsed = parseExpression(text);
  if (parsed.error) throw new ExprError(parsed.error.message, parsed.error.offset);
  return new Builder(text, at).expression(parsed.cst!.children.expression![0] as CstNode);
}

/** Offset where brackets first nest too deep (the parser is recursive), if they do. */
function nestingProblem(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) {
      if (++depth > MAX_NESTING) return i;
    } else if (c === 41 || c === 93 || c === 125) depth--;
    else if (c === 45 || c === 43 || c === 110) {
      // '-', '+', 'n'(ot): long unary chains also recurse; count them too.
      if (++depth > MAX_NESTING * 4) return i;
    }
  }
  return undefined;
}

type Children = Record<string, Array<CstNode | IToken>>;

const tok = (c: Children, name: string, i = 0) => c[name]?.[i] as IToken | undefined;
const node = (c: Children, name: string, i = 0) => c[name]?.[i] as CstNode | undefined;
const nodes = (c: Children, name: string) => (c[name] ?? []) as CstNode[];

class Builder {
  constructor(
    private readonly text: string,
    private readonly at: PosMapper,
  ) {}

  private span(first: number, last: number): Pos {
    return this.at(first, Math.max(1, last - first));
  }

  private tokPos(t: IToken): Pos {
    return this.at(t.startOffset, t.image.length);
  }

  private ext(n: CstNode): [number, number] {
    // The parser tracks node offsets (nodeLocationTracking); endOffset is inclusive.
    const loc = n.location;
    if (!loc || Number.isNaN(loc.startOffset)) return [0, 0];
    return [loc.startOffset, (loc.endOffset ?? loc.startOffset) + 1];
  }

  private posOf(n: CstNode): Pos {
    const [a, b] = this.ext(n);
    return this.span(a, b);
  }

  expression(n: CstNode): Expr {
    return this.orExpr(node(n.children, 'orExpr')!);
  }

  private chain(n: CstNode, sub: string, ops: string[], each: (c: CstNode) => Expr, make: (op: string, l: Expr, r: Expr, pos: Pos) => Expr): Expr {
    const operands = nodes(n.children, sub);
    let acc = each(operands[0]!);
    if (operands.length === 1) return acc;
    const opToks: IToken[] = [];
    for (const o of ops) for (const t of (n.children[o] ?? []) as IToken[]) opToks.push(t);
    opToks.sort((a, b) => a.startOffset - b.startOffset);
    const [start] = this.ext(operands[0]!);
    for (let i = 1; i < operands.length; i++) {
      const right = each(operands[i]!);
      const [, end] = this.ext(operands[i]!);
      acc = make(opToks[i - 1]!.image, acc, right, this.span(start, end));
    }
    return acc;
  }

  private orExpr(n: CstNode): Expr {
    return this.chain(n, 'andExpr', ['Or'], (c) => this.andExpr(c), (_op, left, right, pos) => ({ k: 'logic', op: 'or', left, right, pos }));
  }

  private andExpr(n: CstNode): Expr {
    return this.chain(n, 'notExpr', ['And'], (c) => this.notExpr(c), (_op, left, right, pos) => ({ k: 'logic', op: 'and', left, right, pos }));
  }

  private notExpr(n: CstNode): Expr {
    const inner = node(n.children, 'notExpr');
    if (inner) return { k: 'un', op: 'not', expr: this.notExpr(inner), pos: this.posOf(n) };
    return this.comparison(node(n.children, 'comparison')!);
  }

  private comparison(n: CstNode): Expr {
    const sides = nodes(n.children, 'additive');
    const left = this.additive(sides[0]!);
    if (sides.length === 1) return left;
    const c = n.children as Children;
    let op: BinOp;
    if (tok(c, 'Not')) op = 'not in';
    else {
      const t = (['EqEq', 'NotEq', 'LessEq', 'GreaterEq', 'Less', 'Greater', 'In'] as const).map((k) => tok(c, k)).find(Boolean)!;
      op = t.image as BinOp;
    }
    return { k: 'bin', op, left, right: this.additive(sides[1]!), pos: this.posOf(n) };
  }

  private additive(n: CstNode): Expr {
    return this.chain(n, 'term', ['Plus', 'Minus'], (c) => this.term(c), (op, left, right, pos) => ({ k: 'bin', op: op as BinOp, left, right, pos }));
  }

  private term(n: CstNode): Expr {
    return this.chain(n, 'unary', ['Star', 'Slash', 'FloorDiv', 'Percent'], (c) => this.unary(c), (op, left, right, pos) => ({
      k: 'bin',
      op: op as BinOp,
      left,
      right,
      pos,
    }));
  }

  private unary(n: CstNode): Expr {
    const inner = node(n.children, 'unary');
    if (inner) {
      const op = tok(n.children as Children, 'Minus') ? '-' : '+';
      const expr = this.unary(inner);
      if (expr.k === 'lit' && typeof expr.value === 'number') {
        return { k: 'lit', value: op === '-' ? -expr.value : expr.value, pos: this.posOf(n) };
      }
      return { k: 'un', op, expr, pos: this.posOf(n) };
    }
    return this.power(node(n.children, 'power')!);
  }

  private power(n: CstNode): Expr {
    const base = this.postfix(node(n.children, 'postfix')!);
    const exp = node(n.children, 'unary');
    if (!exp) return base;
    return { k: 'bin', op: '**', left: base, right: this.unary(exp), pos: this.posOf(n) };
  }

  private postfix(n: CstNode): Expr {
    let acc = this.primary(node(n.children, 'primary')!);
    const [start] = this.ext(n);
    const ops: CstNode[] = [...nodes(n.children, 'member'), ...nodes(n.children, 'index'), ...nodes(n.children, 'callArgs')];
    if (ops.length === 0) return acc;
    const withPos = ops.map((o) => ({ o, at: this.ext(o) }));
    withPos.sort((a, b) => a.at[0] - b.at[0]);
    for (const { o, at } of withPos) {
      const pos = this.span(start, at[1]);
      if (o.name === 'member') acc = { k: 'attr', obj: acc, name: tok(o.children as Children, 'Identifier')!.image, pos };
      else if (o.name === 'index') acc = { k: 'index', obj: acc, index: this.expression(node(o.children, 'expression')!), pos };
      else acc = this.call(acc, o, pos);
    }
    return acc;
  }

  private call(callee: Expr, n: CstNode, pos: Pos): Expr {
    const args: Expr[] = [];
    const kwargs: Array<{ name: string; value: Expr; pos: Pos }> = [];
    for (const a of nodes(n.children, 'argument')) {
      const name = tok(a.children as Children, 'Identifier');
      const value = this.expression(node(a.children, 'expression')!);
      if (name) kwargs.push({ name: name.image, value, pos: this.tokPos(name) });
      else {
        if (kwargs.length > 0) throw new ExprError('positional argument after keyword argument', this.ext(a)[0]);
        args.push(value);
      }
    }
    return { k: 'call', callee, args, kwargs, pos };
  }

  private primary(n: CstNode): Expr {
    const c = n.children as Children;
    let t: IToken | undefined;
    if ((t = tok(c, 'NumberLit'))) return { k: 'lit', value: Number(t.image), pos: this.tokPos(t) };
    if ((t = tok(c, 'StringLit'))) return { k: 'lit', value: unescape(t.image.slice(1, -1), t.startOffset + 1), pos: this.tokPos(t) };
    if ((t = tok(c, 'FString'))) return this.fstring(t.image.slice(2, -1), t.startOffset + 2, this.tokPos(t));
    if ((t = tok(c, 'True'))) return { k: 'lit', value: true, pos: this.tokPos(t) };
    if ((t = tok(c, 'False'))) return { k: 'lit', value: false, pos: this.tokPos(t) };
    if ((t = tok(c, 'Null'))) return { k: 'lit', value: null, pos: this.tokPos(t) };
    if ((t = tok(c, 'StateVar'))) return { k: 'var', name: t.image.slice(1), state: true, pos: this.tokPos(t) };
    if ((t = tok(c, 'Identifier'))) return { k: 'var', name: t.image, state: false, pos: this.tokPos(t) };
    let sub: CstNode | undefined;
    if ((sub = node(c, 'paren'))) return this.expression(node(sub.children, 'expression')!);
    if ((sub = node(c, 'listLit'))) {
      return { k: 'list', items: nodes(sub.children, 'expression').map((e) => this.expression(e)), pos: this.posOf(sub) };
    }
    sub = node(c, 'objectLit')!;
    const entries: Array<[Expr, Expr]> = nodes(sub.children, 'entry').map((e) => {
      const [kx, vx] = nodes(e.children, 'expression');
      let key = this.expression(kx!);
      // {name: 1} means the string "name", as in JSON-ish object literals.
      if (key.k === 'var' && !key.state) key = { k: 'lit', value: key.name, pos: key.pos };
      return [key, this.expression(vx!)];
    });
    return { k: 'obj', entries, pos: this.posOf(sub) };
  }

  /** Splits f-string content at {expr} holes; `base` is the content's offset in the text. */
  fstring(content: string, base: number, pos: Pos): Expr {
    return { k: 'fstr', parts: splitInterpolation(content, base, this.at, true), pos };
  }
}

/** Literal text and {expr} holes of a string; escapes are processed when `escapes` is set. */
export function splitInterpolation(content: string, base: number, at: PosMapper, escapes: boolean): Array<string | Expr> {
  const parts: Array<string | Expr> = [];
  let lit = '';
  let i = 0;
  while (i < content.length) {
    const ch = content[i]!;
    if (ch === '{' && content[i + 1] === '{') {
      lit += '{';
      i += 2;
    } else if (ch === '}' && content[i + 1] === '}') {
      lit += '}';
      i += 2;
    } else if (ch === '{') {
      const end = matchBrace(content, i);
      if (end < 0) throw new ExprError("'{' in string is not closed", base + i);
      let inner = content.slice(i + 1, end);
      const spec = topLevelColon(inner);
      if (spec >= 0) inner = inner.slice(0, spec);
      if (inner.trim().length === 0) throw new ExprError('empty {} in string', base + i);
      const innerBase = base + i + 1;
      const expr = toExpr(inner, (o, l) => at(innerBase + o, l));
      if (lit) parts.push(lit);
      lit = '';
      parts.push(expr);
      i = end + 1;
    } else if (ch === '\\' && escapes) {
      const [s, n] = escapeAt(content, i);
      lit += s;
      i += n;
    } else {
      lit += ch;
      i++;
    }
  }
  if (lit) parts.push(lit);
  return parts;
}

function matchBrace(s: string, open: number): number {
  let depth = 0;
  let quote = '';
  for (let i = open; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '{' || ch === '[' || ch === '(') depth++;
    else if (ch === '}' || ch === ']' || ch === ')') {
      depth--;
      if (depth === 0) return ch === '}' ? i : -1;
    }
  }
  return -1;
}

function topLevelColon(s: string): number {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '{' || ch === '[' || ch === '(') depth++;
    else if (ch === '}' || ch === ']' || ch === ')') depth--;
    else if (ch === ':' && depth === 0) return i;
  }
  return -1;
}

function escapeAt(s: string, i: number): [string, number] {
  const c = s[i + 1];
  switch (c) {
    case 'n':
      return ['\n', 2];
    case 't':
      return ['\t', 2];
    case 'r':
      return ['\r', 2];
    case '0':
      return ['\0', 2];
    case 'u': {
      const hex = /^[0-9a-fA-F]{4}/.exec(s.slice(i + 2));
      if (hex) return [String.fromCharCode(parseInt(hex[0], 16)), 6];
      return ['\\u', 2];
    }
    case undefined:
      return ['\\', 1];
    default:
      return [c, 2];
  }
}

export function unescape(s: string, _offset: number): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; ) {
    if (s[i] === '\\') {
      const [t, n] = escapeAt(s, i);
      out += t;
      i += n;
    } else out += s[i++];
  }
  return out;
}

/** Bare (frame-local) and $state names read by an expression. */
export function namesRead(e: Expr, out: { bare: Array<{ name: string; pos: Pos }>; state: Array<{ name: string; pos: Pos }> }, skipCallee = true): void {
  switch (e.k) {
    case 'lit':
      return;
    case 'var':
      (e.state ? out.state : out.bare).push({ name: e.name, pos: e.pos });
      return;
    case 'fstr':
      for (const p of e.parts) if (typeof p !== 'string') namesRead(p, out, skipCallee);
      return;
    case 'list':
      for (const x of e.items) namesRead(x, out, skipCallee);
      return;
    case 'obj':
      for (const [a, b] of e.entries) {
        namesRead(a, out, skipCallee);
        namesRead(b, out, skipCallee);
      }
      return;
    case 'index':
      namesRead(e.obj, out, skipCallee);
      namesRead(e.index, out, skipCallee);
      return;
    case 'attr':
      namesRead(e.obj, out, skipCallee);
      return;
    case 'call':
      if (!skipCallee || !(e.callee.k === 'var' && !e.callee.state) && !(e.callee.k === 'attr' && e.callee.obj.k === 'var' && !e.callee.obj.state)) {
        namesRead(e.callee, out, skipCallee);
      }
      for (const a of e.args) namesRead(a, out, skipCallee);
      for (const a of e.kwargs) namesRead(a.value, out, skipCallee);
      return;
    case 'bin':
    case 'logic':
      namesRead(e.left, out, skipCallee);
      namesRead(e.right, out, skipCallee);
      return;
    case 'un':
      namesRead(e.expr, out, skipCallee);
      return;
  }
}
