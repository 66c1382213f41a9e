// Chevrotain CstParser for the expression language (Python-like):
//   expression := orExpr
//   orExpr     := andExpr (or andExpr)*
//   andExpr    := notExpr (and notExpr)*
//   notExpr    := not notExpr | comparison
//   comparison := additive ((== | != | < | <= | > | >= | in | not in) additive)?
//   additive   := term ((+ | -) term)*
//   term       := unary ((* | / | // | %) unary)*
//   unary      := (- | +) unary | power
//   power      := postfix (** unary)?
//   postfix    := primary (. name | [ expression ] | ( arguments ))*
//   primary    := literal | $var | name | ( expression ) | [ list ] | { object }
//   argument   := name = expression | expression
import { CstParser, EOF, type CstNode, type IToken } from 'chevrotain';
import {
  And,
  Assign,
  Colon,
  Comma,
  Dot,
  EqEq,
  EXPR_TOKENS,
  exprLexer,
  False,
  FloorDiv,
  FString,
  Greater,
  GreaterEq,
  Identifier,
  In,
  LBracket,
  LCurly,
  Less,
  LessEq,
  LParen,
  Minus,
  Not,
  NotEq,
  Null,
  NumberLit,
  Or,
  Percent,
  Plus,
  Power,
  RBracket,
  RCurly,
  RParen,
  Slash,
  Star,
  StateVar,
  StringLit,
  True,
} from './expr-tokens.js';

class ExprParser extends CstParser {
  constructor() {
    super(EXPR_TOKENS, { recoveryEnabled: false, maxLookahead: 3, nodeLocationTracking: 'onlyOffset' });
    this.performSelfAnalysis();
  }

  exprOnly = this.RULE('exprOnly', () => {
    this.SUBRULE(this.expression);
    this.CONSUME(EOF);
  });

  expression = this.RULE('expression', () => {
    this.SUBRULE(this.orExpr);
  });

  orExpr = this.RULE('orExpr', () => {
    this.SUBRULE(this.andExpr);
    this.MANY(() => {
      this.CONSUME(Or);
      this.SUBRULE2(this.andExpr);
    });
  });

  andExpr = this.RULE('andExpr', () => {
    this.SUBRULE(this.notExpr);
    this.MANY(() => {
      this.CONSUME(And);
      this.SUBRULE2(this.notExpr);
    });
  });

  notExpr = this.RULE('notExpr', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Not);
          this.SUBRULE(this.notExpr);
        },
      },
      { ALT: () => this.SUBRULE(this.comparison) },
    ]);
  });

  comparison = this.RULE('comparison', () => {
    this.SUBRULE(this.additive);
    this.OPTION(() => {
      this.OR([
        { ALT: () => this.CONSUME(EqEq) },
        { ALT: () => this.CONSUME(NotEq) },
        { ALT: () => this.CONSUME(LessEq) },
        { ALT: () => this.CONSUME(GreaterEq) },
        { ALT: () => this.CONSUME(Less) },
        { ALT: () => this.CONSUME(Greater) },
        { ALT: () => this.CONSUME(In) },
        {
          ALT: () => {
            this.CONSUME(Not);
            this.CONSUME2(In);
          },
        },
      ]);
      this.SUBRULE2(this.additive);
    });
  });

  additive = this.RULE('additive', () => {
    this.SUBRULE(this.term);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(Plus) }, { ALT: () => this.CONSUME(Minus) }]);
      this.SUBRULE2(this.term);
    });
  });

  term = this.RULE('term', () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Star) },
        { ALT: () => this.CONSUME(FloorDiv) },
        { ALT: () => this.CONSUME(Slash) },
        { ALT: () => this.CONSUME(Percent) },
      ]);
      this.SUBRULE2(this.unary);
    });
  });

  unary = this.RULE('unary', () => {
    this.OR([
      {
        ALT: () => {
          this.OR2([{ ALT: () => this.CONSUME(Minus) }, { ALT: () => this.CONSUME(Plus) }]);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.power) },
    ]);
  });

  power = this.RULE('power', () => {
    this.SUBRULE(this.postfix);
    this.OPTION(() => {
      this.CONSUME(Power);
      this.SUBRULE(this.unary);
    });
  });

  postfix = this.RULE('postfix', () => {
    this.SUBRULE(this.primary);
    this.MANY(() => {
      this.OR([
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

  primary = this.RULE('primary', () => {
    this.OR([
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
  const lexed = exprLexer.tokenize(text);
  if (lexed.errors.length > 0) {
    const e = lexed.errors[0]!;
    return { error: { message: `unexpected character '${text.charAt(e.offset)}'`, offset: e.offset } };
  }
  return parseExpressionTokens(lexed.tokens, text.length);
}

export function parseExpressionTokens(tokens: IToken[], endOffset: number): ExprParseResult {
  if (tokens.length === 0) return { error: { message: 'expected an expression', offset: endOffset } };
  shared ??= new ExprParser();
  shared.input = tokens;
  const cst = shared.exprOnly();
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
