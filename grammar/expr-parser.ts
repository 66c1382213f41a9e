// Chevrotain CstParser for the expression language (Python-like). Operator precedence is
// not spelled out as one rule per level: the grammar reads a flat `operand (op operand)*`
// and the compiler applies Python's precedence (compiler/expr-ast.ts). That keeps the
// parser shallow, which matters because every step of every program goes through it, and
// so does a list literal of a million items: each item is two CST nodes (expression and
// operand), its tokens held directly by them.
//   expression := operand ((BinaryOperator | not in) operand)*
//   operand    := (not | - | +)* atom (. name | [ expression ] | ( arguments ))*
//   atom       := literal | $var | name | ( expression ) | [ list ] | { object }
//   argument   := name = expression | expression
import type { CstNode, IToken, TokenType } from 'chevrotain';
import { CstParser, EOF } from './chevrotain.js';
import {
  Assign,
  BinaryOperator,
  Colon,
  Comma,
  Dot,
  EXPR_TOKENS,
  exprLexer,
  False,
  FString,
  Identifier,
  In,
  Is,
  LBracket,
  LCurly,
  LParen,
  Minus,
  Not,
  Null,
  NumberLit,
  Plus,
  RBracket,
  RCurly,
  RParen,
  StateVar,
  StringLit,
  True,
} from './expr-tokens.js';

class ExprParser extends CstParser {
  constructor() {
    super(EXPR_TOKENS, { recoveryEnabled: false, maxLookahead: 3 });
    this.performSelfAnalysis();
  }

  exprOnly = this.RULE('exprOnly', () => {
    this.SUBRULE(this.expression);
    this.CONSUME(EOF);
  });

  expression = this.RULE('expression', () => {
    this.SUBRULE(this.operand);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(BinaryOperator) },
        {
          ALT: () => {
            this.CONSUME(Not);
            this.CONSUME(In);
          },
        },
      ]);
      this.SUBRULE2(this.operand);
    });
  });

  operand = this.RULE('operand', () => {
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(Not) }, { ALT: () => this.CONSUME(Minus) }, { ALT: () => this.CONSUME(Plus) }]);
    });
    this.OR2([
      { ALT: () => this.CONSUME(NumberLit) },
      { ALT: () => this.CONSUME(StringLit) },
      { ALT: () => this.CONSUME(FString) },
      { ALT: () => this.CONSUME(True) },
      { ALT: () => this.CONSUME(False) },
      { ALT: () => this.CONSUME(Null) },
      { ALT: () => this.CONSUME(StateVar) },
      { ALT: () => this.CONSUME(Identifier) },
      { ALT: () => this.SUBRULE(this.paren) },
      { ALT: () => this.SUBRULE(this.listLit) },
      { ALT: () => this.SUBRULE(this.objectLit) },
    ]);
    this.MANY2(() => {
      this.OR3([
        { ALT: () => this.SUBRULE(this.member) },
        { ALT: () => this.SUBRULE(this.index) },
        { ALT: () => this.SUBRULE(this.callArgs) },
      ]);
    });
  });

  member = this.RULE('member', () => {
    this.CONSUME(Dot);
    this.CONSUME(Identifier);
  });

  index = this.RULE('index', () => {
    this.CONSUME(LBracket);
    this.SUBRULE(this.expression);
    this.CONSUME(RBracket);
  });

  callArgs = this.RULE('callArgs', () => {
    this.CONSUME(LParen);
    this.MANY_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.argument) });
    this.CONSUME(RParen);
  });

  argument = this.RULE('argument', () => {
    this.OR([
      {
        GATE: () => this.LA(2).tokenType === Assign,
        ALT: () => {
          this.CONSUME(Identifier);
          this.CONSUME(Assign);
          this.SUBRULE(this.expression);
        },
      },
      { ALT: () => this.SUBRULE2(this.expression) },
    ]);
  });

  paren = this.RULE('paren', () => {
    this.CONSUME(LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(RParen);
  });

  listLit = this.RULE('listLit', () => {
    this.CONSUME(LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.OPTION2(() => this.SUBRULE2(this.expression));
      });
    });
    this.CONSUME(RBracket);
  });

  objectLit = this.RULE('objectLit', () => {
    this.CONSUME(LCurly);
    this.OPTION(() => {
      this.SUBRULE(this.entry);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.OPTION2(() => this.SUBRULE2(this.entry));
      });
    });
    this.CONSUME(RCurly);
  });

  entry = this.RULE('entry', () => {
    this.SUBRULE(this.expression);
    this.CONSUME(Colon);
    this.SUBRULE2(this.expression);
  });
}

let shared: ExprParser | undefined;

export interface ExprParseResult {
  cst?: CstNode;
  /** First problem, with its offset into the text; absent on success. */
  error?: { message: string; offset: number };
}

/**
 * Parses `text` as exactly one expression. Never throws: lexing or parsing problems come
 * back as `error`, which callers use to fall back to a natural-language reading.
 */
export function parseExpression(text: string): ExprParseResult {
  const prose = twoWordsInARow(text);
  if (prose !== undefined) {
    const word = /^\S*/.exec(text.slice(prose))![0];
    return { error: { message: `unexpected '${word}' in expression`, offset: prose } };
  }
  const lexed = exprLexer.tokenize(text);
  if (lexed.errors.length > 0) {
    const e = lexed.errors[0]!;
    return { error: { message: `unexpected character '${text.charAt(e.offset)}'`, offset: e.offset } };
  }
  return parseExpressionTokens(lexed.tokens, text.length);
}

const WORD_PAIR = /([A-Za-z_$][A-Za-z0-9_]*)[ \t]+(?=([A-Za-z_$][A-Za-z0-9_]*))/g;
const OPERATOR_WORDS = new Set(['and', 'or', 'not', 'in', 'is', 'True', 'False', 'None', 'true', 'false', 'null']);

/**
 * Offset of the second of two plain words in a row ("goodbye to the user"), which no
 * expression contains; found without running the lexer. Text with quotes is left to the
 * lexer, since words inside a string literal may follow each other.
 */
function twoWordsInARow(text: string): number | undefined {
  if (text.indexOf('"') >= 0 || text.indexOf("'") >= 0) return undefined;
  WORD_PAIR.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = WORD_PAIR.exec(text))) {
    const a = m[1]!;
    const b = m[2]!;
    if (!OPERATOR_WORDS.has(a) && !OPERATOR_WORDS.has(b)) return m.index + m[0].length;
  }
  return undefined;
}

/** Tokens that can end an operand, and tokens that can only start one. */
const ENDS_OPERAND = new Set<TokenType>([Identifier, StateVar, NumberLit, StringLit, FString, True, False, Null, RParen, RBracket, RCurly]);
const STARTS_OPERAND = new Set<TokenType>([Identifier, StateVar, NumberLit, StringLit, FString, True, False, Null, LCurly]);

export function parseExpressionTokens(tokens: IToken[], endOffset: number): ExprParseResult {
  if (tokens.length === 0) return { error: { message: 'expected an expression', offset: endOffset } };
  // Prose ("goodbye to the user") lexes fine but has two operands side by side, which no
  // expression has. Rejecting it here skips the parser's error path, most of the cost.
  // `is` is not an operator of the language (use ==), so it always means prose ("the order is paid").
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!.tokenType;
    if (t === Is || (i > 0 && STARTS_OPERAND.has(t) && ENDS_OPERAND.has(tokens[i - 1]!.tokenType))) {
      return { error: { message: `unexpected '${tokens[i]!.image}' in expression`, offset: tokens[i]!.startOffset } };
    }
  }
  shared ??= new ExprParser();
  shared.input = tokens;
  // Chevrotain signals mismatches with exceptions; their stack traces are never read.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let cst: CstNode;
  try {
    cst = shared.exprOnly();
  } finally {
    Error.stackTraceLimit = limit;
  }
  if (shared.errors.length > 0) {
    const e = shared.errors[0]!;
    const tok = e.token;
    const offset = tok.tokenType === EOF || Number.isNaN(tok.startOffset) ? endOffset : tok.startOffset;
    const found = tok.tokenType === EOF ? 'end of text' : `'${tok.image}'`;
    return { error: { message: `unexpected ${found} in expression`, offset } };
  }
  return { cst };
}

export function tokenizeExpression(text: string): { tokens: IToken[]; errorOffset?: number } {
  const lexed = exprLexer.tokenize(text);
  return { tokens: lexed.tokens, errorOffset: lexed.errors[0]?.offset };
}

export function exprGrammarRules() {
  shared ??= new ExprParser();
  return shared.getGAstProductions();
}
