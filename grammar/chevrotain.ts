// Chevrotain's package entry pulls in hundreds of small modules (≈0.35 s at every CLI
// start); the same release ships a single-file ESM bundle that loads in ≈0.02 s. Load the
// bundle when it can be located, else the regular entry. Types come from the package.
// Loading is synchronous (require of an ES module, Node ≥ 20.19) rather than a top-level
// await, so that `require('pbvm')` works as well as `import`.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Chevrotain from 'chevrotain';

const require = createRequire(import.meta.url);

function load(): typeof Chevrotain {
  let bundle: string | undefined;
  try {
    bundle = fileURLToPath(new URL('../chevrotain.mjs', import.meta.resolve('chevrotain')));
  } catch {
    // Not resolvable as a file (a bundler, say): the regular entry below.
  }
  try {
    if (bundle) return require(bundle) as typeof Chevrotain;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_REQUIRE_ESM') throw new Error(`pbvm needs Node.js 20.19 or later (this is ${process.version})`);
    // The bundle is missing: the regular entry below.
  }
  return require('chevrotain') as typeof Chevrotain;
}

const chevrotain = load();

export const createToken: typeof Chevrotain.createToken = chevrotain.createToken;
export const createTokenInstance: typeof Chevrotain.createTokenInstance = chevrotain.createTokenInstance;
export const Lexer: typeof Chevrotain.Lexer = chevrotain.Lexer;
export const CstParser: typeof Chevrotain.CstParser = chevrotain.CstParser;
export const EOF: typeof Chevrotain.EOF = chevrotain.EOF;
