// Where the Playbooks AI compatibility corpus lives: ../shared/corpus/playbooks-ai beside the
// repository (72 real programs from the Playbooks AI project; see the README). It is not part of
// the repository. Without it the tests that read it are skipped, each file saying so in one
// loud line; CI has the corpus, so there (CI set) a missing corpus fails instead.
// PBVM_CORPUS names another folder that holds playbooks-ai/ (used to test this guard).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CORPUS = resolve(process.env.PBVM_CORPUS ?? resolve(REPO, '../shared/corpus'), 'playbooks-ai');

/** True when the corpus is there; otherwise prints the one skip line for `testFile` (or, under CI, throws). */
export function corpusPresent(testFile: string): boolean {
  if (existsSync(CORPUS)) return true;
  if (process.env.CI) throw new Error(`${testFile}: the Playbooks AI corpus is missing (${CORPUS}); CI must have it`);
  console.warn(`\n*** SKIPPED corpus tests in ${testFile}: ${CORPUS} not found (see README, "Set up and test") ***\n`);
  return false;
}
