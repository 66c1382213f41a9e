// A fast path for long data literals: lists and objects of numbers, strings, True/False/None,
// names and $names (a table of rows pasted into a step). The CST parser spends two nodes and a
// token object on every item, which for a literal of a million items is most of the compile
// time and memory; this reads such text in one pass straight to the AST the parser path builds
// (same nodes, same positions). Anything else in the text (an operator, a call, an f-string, a
// syntax error) makes it give up, and the text goes through the parser as usual.
import type { Expr, Pos } from './ast.js';

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is']);
const LINE_END = /[\n\r\u2028\u2029]/;

const isDigit = (c: number) => c >= 48 && c <= 57;
/** A letter, `_` or `$`: the start of a name or a $name. */
const isWordStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;

/** Thrown to give up; caught by dataLiteral. */
const NOT_DATA = Symbol('not a data literal');

/** The Expr of `text` when it is a pure data literal, else undefined. */
export function dataLiteral(text: string, at: (offset: number, length: number) => Pos, unescape: (s: string) => string): Expr | undefined {
  let i = 0;
  const n = text.length;

  const space = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const give = (): never => {
    throw NOT_DATA;
  };
  const lit = (value: string | number | boolean | null, start: number, end: number): Expr => ({ k: 'lit', value, pos: at(start, Math.max(1, end - start)) });

  /** One item; the character after it (spaces skipped) must end it: `,` `]` `}` `:` or the end. */
  const value = (): Expr => {
    space();
    const c = text[i];
    let e: Expr;
    if (c === '[') e = list();
    else if (c === '{') e = object();
    else if (c === '"' || c === "'") e = string();
    else if (c === '-' || c === '+' || isDigit(text.charCodeAt(i))) e = number();
    else if (c !== undefined && isWordStart(text.charCodeAt(i))) e = word();
    else return give();
    space();
    const next = text[i];
    if (next !== undefined && next !== ',' && next !== ']' && next !== '}' && next !== ':') give();
    return e;
  };

  const list = (): Expr => {
    const start = i++;
    const items: Expr[] = [];
    space();
    if (text[i] !== ']') {
      // As the parser reads it: an item, then `,` with an optional item after it, repeated.
      items.push(value());
      while (text[i] === ',') {
        i++;
        space();
        if (text[i] === ',' || text[i] === ']') continue;
        items.push(value());
      }
    }
    if (text[i] !== ']') give();
    i++;
    return { k: 'list', items, pos: at(start, Math.max(1, i - start)) };
  };

  const object = (): Expr => {
    const start = i++;
    const entries: Array<[Expr, Expr]> = [];
    const entry = () => {
      let key = value();
      if (text[i] !== ':') give();
      i++;
      // {name: 1} means the string "name", as in JSON-ish object literals.
      if (key.k === 'var' && !key.state) key = { k: 'lit', value: key.name, pos: key.pos };
      entries.push([key, value()]);
    };
    space();
    if (text[i] !== '}') {
      entry();
      while (text[i] === ',') {
        i++;
        space();
        if (text[i] === ',' || text[i] === '}') continue;
        entry();
      }
    }
    if (text[i] !== '}') give();
    i++;
    return { k: 'obj', entries, pos: at(start, Math.max(1, i - start)) };
  };

  const string = (): Expr => {
    const start = i;
    const quote = text[i++];
    let escaped = false;
    // As the lexer's pattern: no raw newline, and a backslash escapes any character but a line end.
    while (i < n && text[i] !== quote) {
      if (text[i] === '\n') give();
      if (text[i] === '\\') {
        escaped = true;
        i++;
        if (i >= n || LINE_END.test(text[i]!)) give();
      }
      i++;
    }
    if (i >= n) give();
    i++;
    const body = text.slice(start + 1, i - 1);
    return lit(escaped ? unescape(body) : body, start, i);
  };

  /** A number, with any prefix signs folded into it as the parser path folds them. */
  const number = (): Expr => {
    const start = i;
    let negative = false;
    while (text[i] === '-' || text[i] === '+') {
      if (text[i] === '-') negative = !negative;
      i++;
      space();
    }
    // The lexer's NumberLit: \d+(\.\d+)?([eE][+-]?\d+)?
    const from = i;
    const digits = () => {
      const d = i;
      while (isDigit(text.charCodeAt(i))) i++;
      return i > d;
    };
    if (!digits()) give();
    if (text[i] === '.' && isDigit(text.charCodeAt(i + 1))) {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      const mark = i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!digits()) i = mark;
    }
    // Glued to a name or a dot, it is not a plain number.
    const after = text.charCodeAt(i);
    if (isWordStart(after) || isDigit(after) || after === 46) give();
    const v = Number(text.slice(from, i));
    return lit(negative ? -v : v, start, i);
  };

  const word = (): Expr => {
    const start = i;
    const state = text[i] === '$';
    if (state) i++;
    const m = /[A-Za-z_][A-Za-z0-9_]*/y;
    m.lastIndex = i;
    const found = m.exec(text);
    if (!found) give();
    i += found![0].length;
    const w = found![0];
    const pos = at(start, i - start);
    if (state) return { k: 'var', name: w, state: true, pos };
    if (w === 'True' || w === 'true') return { k: 'lit', value: true, pos };
    if (w === 'False' || w === 'false') return { k: 'lit', value: false, pos };
    if (w === 'None' || w === 'null') return { k: 'lit', value: null, pos };
    if (KEYWORDS.has(w)) give();
    return { k: 'var', name: w, state: false, pos };
  };

  try {
    space();
    if (text[i] !== '[' && text[i] !== '{') return undefined;
    const e = value();
    if (i !== n) return undefined;
    return e;
  } catch (err) {
    if (err === NOT_DATA) return undefined;
    throw err;
  }
}
