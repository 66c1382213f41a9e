// pbvm's version, read from its package.json (the one place it is written down). The file sits
// two levels up from dist/src/version.js and one up from src/version.ts (tests), so look upward.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const up of ['../', '../../', '../../../']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pbvm' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not here; try one level up.
    }
  }
  return 'unknown';
}

export const VERSION: string = readVersion();
