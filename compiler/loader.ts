// Source loading: reads the entry file and splices `!import path` lines textually, as
// Playbooks AI did. The result is one text plus a map from each of its lines back to the
// file and line it came from, so diagnostics point at the real source.
import type { Diagnostic } from './diagnostics.js';

export interface SourceHost {
  /** Returns the file's text, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  resolve(fromFile: string, spec: string): string;
}

export interface LoadedSource {
  text: string;
  /** For each line of `text` (0-based index): [file index, 1-based line]; absent when nothing was imported (line n is line n of the entry file). */
  lineMap?: Array<[number, number]>;
  files: { path: string; text: string }[];
  diagnostics: Diagnostic[];
}

const IMPORT = /^([ \t]*)!import[ \t]+(.+?)[ \t]*$/;
const FENCE = /^[ \t]*(`{3,}|~{3,})/;
const MAX_IMPORT_DEPTH = 16;

export function loadSource(path: string, text: string, host?: SourceHost): LoadedSource {
  // Most programs import nothing: skip the line-by-line copy and map.
  if (text.indexOf('!import') < 0) return { text, files: [{ path, text }], diagnostics: [] };
  const files: { path: string; text: string }[] = [];
  const out: string[] = [];
  const lineMap: Array<[number, number]> = [];
  const diagnostics: Diagnostic[] = [];

  const expand = (filePath: string, fileText: string, prefix: string, chain: string[]) => {
    const fileIndex = files.length;
    files.push({ path: filePath, text: fileText });
    const lines = fileText.split(/\r\n|\r|\n/);
    let fence: string | undefined;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const f = FENCE.exec(line);
      if (f) {
        if (fence === undefined) fence = f[1]![0]!.repeat(f[1]!.length);
        else if (f[1]!.startsWith(fence) && line.trim().length === f[1]!.length) fence = undefined;
      }
      const m = fence === undefined ? IMPORT.exec(line) : null;
      if (!m) {
        out.push(prefix + line);
        lineMap.push([fileIndex, i + 1]);
        continue;
      }
      const spec = m[2]!.replace(/^["'<]|[>"']$/g, '');
      const col = m[1]!.length + 1;
      const at = (message: string, code: string) =>
        diagnostics.push({ severity: 'error', code, message, file: filePath, line: i + 1, col, length: line.trim().length });
      if (!host) {
        at(`cannot import '${spec}': imports are not available for this source`, 'import-unavailable');
        continue;
      }
      const target = host.resolve(filePath, spec);
      if (chain.includes(target)) {
        at(`import cycle: ${[...chain, target].map((p) => `'${p}'`).join(' -> ')}`, 'import-cycle');
        continue;
      }
      if (chain.length >= MAX_IMPORT_DEPTH) {
        at(`imports nested more than ${MAX_IMPORT_DEPTH} deep`, 'import-depth');
        continue;
      }
      const imported = host.readFile(target);
      if (imported === undefined) {
        at(`cannot import '${spec}': file not found (${target})`, 'import-not-found');
        continue;
      }
      expand(target, imported, prefix + m[1]!, [...chain, target]);
    }
  };

  expand(path, text, '', [path]);
  return { text: out.join('\n'), lineMap, files, diagnostics };
}
