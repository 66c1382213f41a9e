// Expression CST (grammar/expr-parser) → Expr AST, including f-string splitting.
import type { CstNode, IToken } from 'chevrotain';
import { parseExpression } from '../grammar/expr-parser.js';
import type { BinOp, Expr, Pos } from './ast.js';
import { dataLiteral } from './data-literal.js';

/** Maps an offset inside the parsed text to a source position. */
export type PosMapper = (offset: number, length: number) => Pos;

/**
 * "This text is not an expression." Thrown and caught inside the compiler as control flow
 * (most prose steps end here), so it deliberately does not extend Error: capturing a stack
 * trace for each one cost more than the parse itself.
 */
export class ExprError {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

/** How deep brackets may nest in an expression or a metadata list (the parsers recurse). */
export const MAX_NESTING = 64;
const MAX_CHAIN = 256;
/** Texts this long are first tried as a pure data literal (compiler/data-literal.ts). */
const DATA_FAST_PATH = 512;

/** The parser's reading of `text`, never the data-literal fast path (for tests that compare the two). */
export function toExprByParser(text: string, at: PosMapper): Expr {
  const parsed = parseExpression(text);
  if (parsed.error) throw new ExprError(parsed.error.message, parsed.error.offset);
  return new Builder(at).expression(parsed.cst!.children.expression![0] as CstNode);
}

/** Parses `text` into an Expr; throws ExprError (with an offset) when it is not one. */
export function toExpr(text: string, at: PosMapper): Expr {
  const simple = singleToken(text, at);
  if (simple) return simple;
  const depthProblem = nestingProblem(text);
  if (depthProblem !== undefined) throw new ExprError(`expression nested more than ${MAX_NESTING} deep`, depthProblem);
  if (text.length >= DATA_FAST_PATH) {
    const data = dataLiteral(text, at, (s) => unescape(s, 0));
    if (data) return data;
  }
  const parsed = parseExpression(text);
  if (parsed.error) throw new ExprError(parsed.error.message, parsed.error.offset);
  return new Builder(at).expression(parsed.cst!.children.expression![0] as CstNode);
}

const NAME = /^\$?[A-Za-z_][A-Za-z0-9_]*$/;
const NUMBER = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const PLAIN_STRING = /^(?:"[^"\\\n]*"|'[^'\\\n]*')$/;
const OPERATOR_WORDS = new Set(['and', 'or', 'not', 'in', 'is']);

/** Most operands are one token ($x, 42, "text"): build those without the lexer and parser. */
function singleToken(text: string, at: PosMapper): Expr | undefined {
  const t = text.trim();
  if (t.length === 0) return undefined;
  const offset = text.indexOf(t);
  const pos = () => at(offset, t.length);
  if (NAME.test(t)) {
    if (t[0] === '$') return { k: 'var', name: t.slice(1), state: true, pos: pos() };
    if (t === 'True' || t === 'true') return { k: 'lit', value: true, pos: pos() };
    if (t === 'False' || t === 'false') return { k: 'lit', value: false, pos: pos() };
    if (t === 'None' || t === 'null') return { k: 'lit', value: null, pos: pos() };
    if (OPERATOR_WORDS.has(t)) return undefined;
    return { k: 'var', name: t, state: false, pos: pos() };
  }
  if (NUMBER.test(t)) return { k: 'lit', value: Number(t), pos: pos() };
  if (PLAIN_STRING.test(t)) return { k: 'lit', value: t.slice(1, -1), pos: pos() };
  return undefined;
}

/**
 * Offset where the text nests too deep for the (recursive) parser, if it does: brackets
 * beyond MAX_NESTING, or a run of prefix operators (- + not) beyond MAX_NESTING * 4.
 * Quoted strings are skipped: their content cannot nest.
 */
function nestingProblem(text: string): number | undefined {
  let depth = 0;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 || c === 39) {
      // Skip a string literal (escapes included); an unterminated one ends the scan.
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== c) j += text.charCodeAt(j) === 92 ? 2 : 1;
      i = j;
      run = 0;
    } else if (c === 40 || c === 91 || c === 123) {
      if (++depth > MAX_NESTING) return i;
      run = 0;
    } else if (c === 41 || c === 93 || c === 125) {
      depth--;
      run = 0;
    } else if (c === 45 || c === 43) {
      if (++run > MAX_NESTING * 4) return i;
    } else if (c === 110 && text.startsWith('not', i) && !/[A-Za-z0-9_]/.test(text[i + 3] ?? ' ') && !/[A-Za-z0-9_]/.test(text[i - 1] ?? ' ')) {
      if (++run > MAX_NESTING * 4) return i;
      i += 2;
    } else if (c !== 32 && c !== 9) run = 0;
  }
  return undefined;
}

type Children = Record<string, Array<CstNode | IToken>>;
type NoPos<E> = E extends unknown ? Omit<E, 'pos'> : never;

const tok = (c: Children, name: string, i = 0) => c[name]?.[i] as IToken | undefined;
const node = (c: Children, name: string, i = 0) => c[name]?.[i] as CstNode | undefined;
const nodes = (c: Children, name: string) => (c[name] ?? []) as CstNode[];

const OR = 1;
const AND = 2;
const COMPARE = 4;
const POWER = 8;
const PRECEDENCE: Record<string, number> = {
  or: OR,
  and: AND,
  '==': COMPARE,
  '!=': COMPARE,
  '<': COMPARE,
  '<=': COMPARE,
  '>': COMPARE,
  '>=': COMPARE,
  in: COMPARE,
  'not in': COMPARE,
  '+': 5,
  '-': 5,
  '*': 6,
  '/': 6,
  '//': 6,
  '%': 6,
  '**': POWER,
};

const NO_TOKENS: IToken[] = [];

/** Prefix operators (not, -, +) of an `operand` node, in source order. */
function prefixTokens(u: CstNode): IToken[] {
  const c = u.children as Children;
  if (!c.Not && !c.Minus && !c.Plus) return NO_TOKENS;
  const all = [...((c.Not ?? []) as IToken[]), ...((c.Minus ?? []) as IToken[]), ...((c.Plus ?? []) as IToken[])];
  if (all.length > 1) all.sort((a, b) => a.startOffset - b.startOffset);
  return all;
}

/** Infix operators of an `expression` node in source order: each `not` there starts `not in`. */
function infixOperators(n: CstNode): Array<{ op: string; offset: number }> {
  const c = n.children as Children;
  const ops = ((c.BinaryOperator ?? []) as IToken[]).map((t) => ({ op: t.image, offset: t.startOffset }));
  if (c.Not) {
    for (const t of c.Not as IToken[]) ops.push({ op: 'not in', offset: t.startOffset });
    ops.sort((a, b) => a.offset - b.offset);
  }
  return ops;
}

class Builder {
  /**
   * Text offsets [start, end) of the node built last, for the spans of the nodes that enclose
   * it: every builder method leaves them here (read them right after the call). Kept in two
   * fields rather than a map of every node, which cost more than the rest of the build.
   */
  private start = 0;
  private end = 0;

  constructor(private readonly at: PosMapper) {}

  private mk(e: NoPos<Expr>, start: number, end: number): Expr {
    const out = e as Expr;
    out.pos = this.at(start, Math.max(1, end - start));
    this.start = start;
    this.end = end;
    return out;
  }

  /** Extent of a bracketed or dotted CST node, from its opening and closing tokens. */
  private ext(n: CstNode): [number, number] {
    const c = n.children as Children;
    const open = tok(c, 'LParen') ?? tok(c, 'LBracket') ?? tok(c, 'LCurly') ?? tok(c, 'Dot');
    const close = tok(c, 'RParen') ?? tok(c, 'RBracket') ?? tok(c, 'RCurly') ?? tok(c, 'Identifier');
    const start = open?.startOffset ?? 0;
    return [start, close ? close.startOffset + close.image.length : start + 1];
  }

  /**
   * The parser hands over `operand (op operand)*` flat; precedence climbing builds the tree
   * with Python's binding powers: or < and < not < comparisons < + - < * / // % < unary - + < **.
   */
  expression(n: CstNode): Expr {
    const operands = nodes(n.children, 'operand');
    // Every binary operator adds a level to the tree the later passes walk recursively.
    if (operands.length > MAX_CHAIN) throw new ExprError(`expression has more than ${MAX_CHAIN} operators`, 0);
    if (operands.length === 1 && !prefixTokens(operands[0]!).length) return this.postfix(operands[0]!);
    const ops = infixOperators(n);
    const state = { operand: 0, prefix: 0, op: 0 };
    const parse = (minPrec: number): Expr => {
      let left = this.operand(operands, state, parse);
      const start = this.start;
      while (state.op < ops.length) {
        const { op } = ops[state.op]!;
        const prec = PRECEDENCE[op]!;
        if (prec < minPrec) break;
        state.op++;
        const right = parse(op === '**' ? prec : prec + 1);
        if (prec === COMPARE && state.op < ops.length && PRECEDENCE[ops[state.op]!.op] === COMPARE) {
          const next = ops[state.op]!;
          throw new ExprError(`chained comparison '${op} ... ${next.op}' is not supported; combine the comparisons with 'and'`, next.offset);
        }
        const end = this.end;
        left =
          op === 'and' || op === 'or'
            ? this.mk({ k: 'logic', op, left, right }, start, end)
            : this.mk({ k: 'bin', op: op as BinOp, left, right }, start, end);
      }
      return left;
    };
    return parse(0);
  }

  /** One operand with its prefix operators; `not` and unary minus bind as in Python. */
  private operand(operands: CstNode[], state: { operand: number; prefix: number }, parse: (minPrec: number) => Expr): Expr {
    const u = operands[state.operand]!;
    const prefixes = prefixTokens(u);
    if (state.prefix < prefixes.length) {
      const t = prefixes[state.prefix++]!;
      const inner = t.image === 'not' ? parse(COMPARE) : parse(POWER);
      const start = t.startOffset;
      const end = this.end;
      if (t.image === 'not') return this.mk({ k: 'un', op: 'not', expr: inner }, start, end);
      if (inner.k === 'lit' && typeof inner.value === 'number') {
        return this.mk({ k: 'lit', value: t.image === '-' ? -inner.value : inner.value }, start, end);
      }
      return this.mk({ k: 'un', op: t.image === '-' ? '-' : '+', expr: inner }, start, end);
    }
    state.operand++;
    state.prefix = 0;
    return this.postfix(u);
  }

  /** An operand's atom and its `.name`, `[index]` and `(arguments)` suffixes. */
  private postfix(n: CstNode): Expr {
    let acc = this.primary(n);
    const c = n.children as Children;
    if (!c.member && !c.index && !c.callArgs) return acc;
    const ops: CstNode[] = [...nodes(c, 'member'), ...nodes(c, 'index'), ...nodes(c, 'callArgs')];
    if (ops.length > MAX_CHAIN) throw new ExprError(`expression has a chain of more than ${MAX_CHAIN} calls, indexes or attributes`, 0);
    const withPos = ops.map((o) => ({ o, at: this.ext(o) }));
    withPos.sort((a, b) => a.at[0] - b.at[0]);
    const start = this.start;
    for (const { o, at } of withPos) {
      if (o.name === 'member') {
        acc = this.mk({ k: 'attr', obj: acc, name: tok(o.children as Children, 'Identifier')!.image }, start, at[1]);
      } else if (o.name === 'index') {
        acc = this.mk({ k: 'index', obj: acc, index: this.expression(node(o.children, 'expression')!) }, start, at[1]);
      } else acc = this.call(acc, o, start, at[1]);
    }
    return acc;
  }

  private call(callee: Expr, n: CstNode, start: number, end: number): Expr {
    const args: Expr[] = [];
    const kwargs: Array<{ name: string; value: Expr; pos: Pos }> = [];
    for (const a of nodes(n.children, 'argument')) {
      const name = tok(a.children as Children, 'Identifier');
      const value = this.expression(node(a.children, 'expression')!);
      const valueStart = this.start;
      if (name) kwargs.push({ name: name.image, value, pos: this.at(name.startOffset, name.image.length) });
      else {
        if (kwargs.length > 0) throw new ExprError('positional argument after keyword argument', valueStart);
        args.push(value);
      }
    }
    return this.mk({ k: 'call', callee, args, kwargs }, start, end);
  }

  private token(e: NoPos<Expr>, t: IToken): Expr {
    return this.mk(e, t.startOffset, t.startOffset + t.image.length);
  }

  private primary(n: CstNode): Expr {
    const c = n.children as Children;
    let t: IToken | undefined;
    if ((t = tok(c, 'NumberLit'))) return this.token({ k: 'lit', value: Number(t.image) }, t);
    if ((t = tok(c, 'StringLit'))) return this.token({ k: 'lit', value: unescape(t.image.slice(1, -1), t.startOffset + 1) }, t);
    if ((t = tok(c, 'FString'))) {
      const parts = splitInterpolation(t.image.slice(2, -1), t.startOffset + 2, this.at, true);
      return this.token({ k: 'fstr', parts }, t);
    }
    if ((t = tok(c, 'True'))) return this.token({ k: 'lit', value: true }, t);
    if ((t = tok(c, 'False'))) return this.token({ k: 'lit', value: false }, t);
    if ((t = tok(c, 'Null'))) return this.token({ k: 'lit', value: null }, t);
    if ((t = tok(c, 'StateVar'))) return this.token({ k: 'var', name: t.image.slice(1), state: true }, t);
    if ((t = tok(c, 'Identifier'))) return this.token({ k: 'var', name: t.image, state: false }, t);
    let sub: CstNode | undefined;
    if ((sub = node(c, 'paren'))) {
      const inner = this.expression(node(sub.children, 'expression')!);
      [this.start, this.end] = this.ext(sub);
      return inner;
    }
    if ((sub = node(c, 'listLit'))) {
      const [a, b] = this.ext(sub);
      return this.mk({ k: 'list', items: nodes(sub.children, 'expression').map((e) => this.expression(e)) }, a, b);
    }
    sub = node(c, 'objectLit')!;
    const entries: Array<[Expr, Expr]> = nodes(sub.children, 'entry').map((e) => {
      const [kx, vx] = nodes(e.children, 'expression');
      let key = this.expression(kx!);
      // {name: 1} means the string "name", as in JSON-ish object literals.
      if (key.k === 'var' && !key.state) key = { k: 'lit', value: key.name, pos: key.pos };
      return [key, this.expression(vx!)];
    });
    const [a, b] = this.ext(sub);
    return this.mk({ k: 'obj', entries }, a, b);
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
      const colon = topLevelColon(inner);
      const spec = colon >= 0 ? inner.slice(colon + 1) : undefined;
      if (colon >= 0) inner = inner.slice(0, colon);
      // {x!r} and {x!s} conversions, as in Python.
      const conversion = /!([rs])\s*$/.exec(inner);
      if (conversion) inner = inner.slice(0, conversion.index);
      if (inner.trim().length === 0) throw new ExprError('empty {} in string', base + i);
      const innerBase = base + i + 1;
      let expr = toExpr(inner, (o, l) => at(innerBase + o, l));
      const native = (name: string, args: Expr[]): Expr => ({ k: 'call', callee: { k: 'var', name, state: false, pos: expr.pos }, args, kwargs: [], pos: expr.pos });
      if (conversion?.[1] === 'r') expr = native('repr', [expr]);
      if (spec !== undefined && spec.length > 0) expr = native('format', [expr, { k: 'lit', value: spec, pos: expr.pos }]);
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
