// File-system access for the compiler's `!import` handling.
import { readFileSync } from 'node:fs';
import { dirname, resolve, relative, isAbsolute } from 'node:path';
import type { SourceHost } from '../compiler/loader.js';

export const nodeSourceHost: SourceHost = {
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  resolve(fromFile, spec) {
    const abs = resolve(dirname(fromFile), spec);
    // Keep paths relative to the working directory when they were given that way, so
    // diagnostics print the same paths on every machine.
    if (isAbsolute(fromFile)) return abs;
    const rel = relative(process.cwd(), abs);
    return rel.startsWith('..') ? abs : rel;
  },
};
