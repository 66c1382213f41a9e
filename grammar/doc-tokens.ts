// Token types of the document (markdown block) level. The line scanner in doc-lexer.ts
// produces instances of these; the Chevrotain CstParser in doc-parser.ts consumes them.
import type { TokenType } from 'chevrotain';
import { createToken, Lexer } from './chevrotain.js';

const block = (name: string, categories: TokenType[] = []): TokenType => createToken({ name, pattern: Lexer.NA, categories });

/** Bullets and the Indent/Dedent tokens between them: one category, so a list's CST keeps them in order. */
export const ListToken = block('ListToken');
export const FrontMatter = block('FrontMatter');
export const Heading1 = block('Heading1');
export const Heading2 = block('Heading2');
export const Heading3 = block('Heading3');
export const Bullet = block('Bullet', [ListToken]);
export const Indent = block('Indent', [ListToken]);
export const Dedent = block('Dedent', [ListToken]);
export const Fence = block('Fence');
export const Text = block('Text');

export const DOC_TOKENS: TokenType[] = [ListToken, FrontMatter, Heading1, Heading2, Heading3, Bullet, Indent, Dedent, Fence, Text];

/** Extra data the line scanner attaches to a token (IToken.payload). */
export interface BulletPayload {
  /** Column of the bullet marker (tabs count as 4). */
  indent: number;
  /** The step text after the marker, continuation lines joined. */
  text: string;
  /** 1-based column where the text starts. */
  textCol: number;
  /** Step contract lines (`expected_tools: A, B`, ...) indented under the bullet, in order. */
  contract?: ContractLine[];
}

/** One `key: value` line of a step's tool contract (see grammar/LANGUAGE.md, step contracts). */
export interface ContractLine {
  key: string;
  value: string;
  line: number;
  /** 1-based columns of the key and of the value. */
  col: number;
  valueCol: number;
}

/** Keys that make an indented line under a step a contract line rather than step text. */
export const CONTRACT_KEYS: ReadonlySet<string> = new Set([
  'id',
  'expected_tools',
  'hints',
  'required',
  'max_tool_calls',
  'timeout_seconds',
  'min_tool_calls',
  'required_result_keywords',
  'predicate',
  'metadata',
]);

export interface FencePayload {
  lang: string;
  body: string;
  /** Line number (1-based, in the lexed text) of the first body line. */
  bodyLine: number;
  closed: boolean;
}

export interface HeadingPayload {
  text: string;
  textCol: number;
  /**
   * Set on a `## Steps` / `## Triggers` / `## Notes` heading under a playbook: it is read as
   * that playbook's section (a Heading3 token), and this keeps the level it was written at.
   */
  writtenLevel?: number;
}

export interface TextPayload {
  text: string;
  indent: number;
}

export interface FrontMatterPayload {
  body: string;
  bodyLine: number;
  closed: boolean;
}
