// Chevrotain's package entry pulls in hundreds of small modules (≈0.35 s at every CLI
// start); the same release ships a single-file ESM bundle that loads in ≈0.02 s. Import
// the bundle when it can be located, else the regular entry. Types come from the package.
import type * as Chevrotain from 'chevrotain';

async function load(): Promise<typeof Chevrotain> {
  try {
    const entry = import.meta.resolve('chevrotain');
    return (await import(new URL('../chevrotain.mjs', entry).href)) as typeof Chevrotain;
  } catch {
    return import('chevrotain');
  }
}

const chevrotain = await load();

export const createToken: typeof Chevrotain.createToken = chevrotain.createToken;
export const createTokenInstance: typeof Chevrotain.createTokenInstance = chevrotain.createTokenInstance;
export const Lexer: typeof Chevrotain.Lexer = chevrotain.Lexer;
export const CstParser: typeof Chevrotain.CstParser = chevrotain.CstParser;
export const EOF: typeof Chevrotain.EOF = chevrotain.EOF;
