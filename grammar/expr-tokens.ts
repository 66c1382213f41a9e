// Tokens of the Python-like expression language used inside steps.
import type { TokenType } from 'chevrotain';
import { createToken, Lexer } from './chevrotain.js';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED });
export const StateVar = createToken({ name: 'StateVar', pattern: /\$[A-Za-z_][A-Za-z0-9_]*/ });
export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

/** Every infix operator; the parser reads `operand (op operand)*` and the compiler applies precedence. */
export const BinaryOperator = createToken({ name: 'BinaryOperator', pattern: Lexer.NA });
const infix = [BinaryOperator];

const keyword = (name: string, pattern: RegExp, categories: TokenType[] = []) =>
  createToken({ name, pattern, longer_alt: Identifier, categories });

export const True = keyword('True', /True|true/);
export const False = keyword('False', /False|false/);
export const Null = keyword('Null', /None|null/);
export const And = keyword('And', /and/, infix);
export const Or = keyword('Or', /or/, infix);
export const Not = keyword('Not', /not/);
export const In = keyword('In', /in/, infix);
export const Is = keyword('Is', /is/);

export const FString = createToken({
  name: 'FString',
  pattern: /[fF](?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')/,
});
export const StringLit = createToken({ name: 'StringLit', pattern: /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/ });
export const NumberLit = createToken({ name: 'NumberLit', pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/ });

export const Power = createToken({ name: 'Power', pattern: /\*\*/, categories: infix });
export const FloorDiv = createToken({ name: 'FloorDiv', pattern: /\/\//, categories: infix });
export const EqEq = createToken({ name: 'EqEq', pattern: /==/, categories: infix });
export const NotEq = createToken({ name: 'NotEq', pattern: /!=/, categories: infix });
export const LessEq = createToken({ name: 'LessEq', pattern: /<=/, categories: infix });
export const GreaterEq = createToken({ name: 'GreaterEq', pattern: />=/, categories: infix });
export const Less = createToken({ name: 'Less', pattern: /</, categories: infix });
export const Greater = createToken({ name: 'Greater', pattern: />/, categories: infix });
export const Plus = createToken({ name: 'Plus', pattern: /\+/, categories: infix });
export const Minus = createToken({ name: 'Minus', pattern: /-/, categories: infix });
export const Star = createToken({ name: 'Star', pattern: /\*/, categories: infix });
export const Slash = createToken({ name: 'Slash', pattern: /\//, categories: infix });
export const Percent = createToken({ name: 'Percent', pattern: /%/, categories: infix });
export const Assign = createToken({ name: 'Assign', pattern: /=/ });
export const LParen = createToken({ name: 'LParen', pattern: /\(/ });
export const RParen = createToken({ name: 'RParen', pattern: /\)/ });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/ });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/ });
export const LCurly = createToken({ name: 'LCurly', pattern: /\{/ });
export const RCurly = createToken({ name: 'RCurly', pattern: /\}/ });
export const Comma = createToken({ name: 'Comma', pattern: /,/ });
export const Colon = createToken({ name: 'Colon', pattern: /:/ });
export const Dot = createToken({ name: 'Dot', pattern: /\./ });

export const EXPR_TOKENS: TokenType[] = [
  BinaryOperator,
  WhiteSpace,
  StateVar,
  FString,
  True,
  False,
  Null,
  And,
  Or,
  Not,
  In,
  Is,
  Identifier,
  StringLit,
  NumberLit,
  Power,
  FloorDiv,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Assign,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LCurly,
  RCurly,
  Comma,
  Colon,
  Dot,
];

export const exprLexer = new Lexer(EXPR_TOKENS, { positionTracking: 'onlyOffset', ensureOptimizations: false });
