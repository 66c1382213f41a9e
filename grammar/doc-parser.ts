// Chevrotain CstParser for the block structure of a .pb document:
//   document  := FrontMatter? block* section3* section2* section1*
//   section1  := Heading1 block* section3* section2*          (# Agent)
//   section2  := Heading2 block* section3*                    (## Playbook)
//   section3  := Heading3 block*                              (### Steps / Triggers / Notes)
//   block     := Text | Fence | list
//   list      := (Bullet | Indent | Dedent)+
// A list is kept flat: its Bullet/Indent/Dedent tokens stay in source order (one token
// category), and the compiler rebuilds the nesting from them. That keeps the CST small and
// the parser's recursion independent of how deep steps nest. Every token stream the lexer
// makes parses; recovery stays on as a second line of defence.
import type { CstNode, IToken } from 'chevrotain';
import { CstParser } from './chevrotain.js';
import { DOC_TOKENS, Fence, FrontMatter, Heading1, Heading2, Heading3, ListToken, Text } from './doc-tokens.js';

class DocParser extends CstParser {
  constructor() {
    super(DOC_TOKENS, { recoveryEnabled: true, maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  document = this.RULE('document', () => {
    this.OPTION(() => this.CONSUME(FrontMatter));
    this.MANY(() => this.SUBRULE(this.block));
    this.MANY2(() => this.SUBRULE(this.section3));
    this.MANY3(() => this.SUBRULE(this.section2));
    this.MANY4(() => this.SUBRULE(this.section1));
  });

  section1 = this.RULE('section1', () => {
    this.CONSUME(Heading1);
    this.MANY(() => this.SUBRULE(this.block));
    this.MANY2(() => this.SUBRULE(this.section3));
    this.MANY3(() => this.SUBRULE(this.section2));
  });

  section2 = this.RULE('section2', () => {
    this.CONSUME(Heading2);
    this.MANY(() => this.SUBRULE(this.block));
    this.MANY2(() => this.SUBRULE(this.section3));
  });

  section3 = this.RULE('section3', () => {
    this.CONSUME(Heading3);
    this.MANY(() => this.SUBRULE(this.block));
  });

  block = this.RULE('block', () => {
    this.OR([
      { ALT: () => this.CONSUME(Text) },
      { ALT: () => this.CONSUME(Fence) },
      { ALT: () => this.SUBRULE(this.list) },
    ]);
  });

  list = this.RULE('list', () => {
    this.AT_LEAST_ONE(() => this.CONSUME(ListToken));
  });
}

let shared: DocParser | undefined;

export interface DocParseResult {
  cst: CstNode;
  errors: { message: string; token: IToken }[];
}

/** Parses the token stream of lexDocument(). One parser instance is reused (construction is costly). */
export function parseDocument(tokens: IToken[]): DocParseResult {
  shared ??= new DocParser();
  shared.input = tokens;
  const cst = shared.document();
  return { cst, errors: shared.errors.map((e) => ({ message: e.message, token: e.token })) };
}

export function docGrammarRules() {
  shared ??= new DocParser();
  return shared.getGAstProductions();
}
