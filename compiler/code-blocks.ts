// Code fences of a program: ```ts/```js blocks export code playbooks, ```python blocks declare
// foreign ones (@playbook functions). Only their names, parameters, visibility and triggers are
// read here; the VM runs ts/js, and nothing runs python.
import type { IToken } from 'chevrotain';
import type { FencePayload } from '../grammar/doc-tokens.js';
import type { CodeBlockDecl, Pos } from './ast.js';

export interface BlockReporter {
  error(code: string, message: string, pos: Pos): void;
  warning(code: string, message: string, pos: Pos): void;
}

const tokPos = (t: IToken): Pos => ({ line: t.startLine ?? 1, col: t.startColumn ?? 1, length: Math.max(1, t.image.length) });

/** Splits a parameter or argument list at its top-level commas. */
export function splitTopLevel(s: string): Array<{ text: string; offset: number }> {
  const out: Array<{ text: string; offset: number }> = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth--;
    else if (ch === ',' && depth === 0) {
      out.push({ text: s.slice(start, i), offset: start });
      start = i + 1;
    }
  }
  if (s.slice(start).trim() || out.length > 0) out.push({ text: s.slice(start), offset: start });
  return out;
}

const LANGS: Record<string, CodeBlockDecl['lang']> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'js',
  javascript: 'js',
  mjs: 'js',
  python: 'python',
  py: 'python',
  python3: 'python',
};

export function codeBlock(fence: IToken, report: BlockReporter): CodeBlockDecl | undefined {
  const fp = fence.payload as FencePayload;
  const lang = LANGS[fp.lang];
  if (!lang) return undefined;
  const pos = tokPos(fence);
  const exports = lang === 'python' ? pythonPlaybooks(fp.body) : scriptExports(fp.body);
  for (const x of exports) {
    const dup = x.params.find((p, i) => x.params.indexOf(p) !== i);
    if (dup) report.error('duplicate-parameter', `duplicate parameter '${dup}' in ${lang} function '${x.name}'`, pos);
  }
  if (lang === 'python') {
    const names = exports.map((e) => e.name).join(', ');
    report.warning(
      'foreign-code',
      exports.length
        ? `python block compiled as foreign playbooks (${names}); pbvm does not run python, so calling them is a runtime error`
        : 'python block has no @playbook functions; it is ignored',
      pos,
    );
  } else if (exports.length === 0) {
    report.warning('code-no-exports', `${lang} block exports no functions; nothing in it is callable`, pos);
  }
  return { lang, source: fp.body, exports, pos };
}

function paramNames(list: string): string[] {
  return splitTopLevel(list)
    .map((p) => p.text.trim())
    .filter((p) => p && !p.startsWith('*') && p !== 'self')
    .map((p) => /^[A-Za-z_$][\w$]*/.exec(p)?.[0] ?? p);
}

function pythonPlaybooks(src: string): CodeBlockDecl['exports'] {
  const out: CodeBlockDecl['exports'] = [];
  const lines = src.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const deco = /^\s*@playbook\b(.*)$/.exec(lines[i]!);
    if (!deco) continue;
    let decoText = deco[1]!;
    let j = i + 1;
    // Decorator arguments may span lines; then find the def it decorates.
    while (j < lines.length && !/^\s*(?:async\s+)?def\s/.test(lines[j]!)) {
      if (/^\s*@playbook\b/.test(lines[j]!)) break;
      decoText += lines[j];
      j++;
    }
    const def = /^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/.exec(lines[j] ?? '');
    if (!def) continue;
    let sig = (lines[j] ?? '').slice((lines[j] ?? '').indexOf('(') + 1);
    let k = j;
    while (!sig.includes(')') && k + 1 < lines.length) sig += lines[++k];
    const params = paramNames(sig.slice(0, sig.indexOf(')') < 0 ? sig.length : sig.indexOf(')')));
    const triggerText = /triggers\s*=\s*(\[[^\]]*\]|"[^"]*"|'[^']*')/.exec(decoText)?.[1] ?? '';
    const triggers = triggerText.match(/"[^"]*"|'[^']*'/g)?.map((s) => s.slice(1, -1)) ?? [];
    out.push({ name: def[1]!, params, public: /public\s*=\s*True/.test(decoText), triggers });
    i = j;
  }
  return out;
}

function scriptExports(src: string): CodeBlockDecl['exports'] {
  const out: CodeBlockDecl['exports'] = [];
  const fn = /export\s+(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\s*\(([^)]*)\)/g;
  const arrow = /export\s+const\s+([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=\s*(?:async\s*)?(?:function\s*\*?\s*[\w$]*\s*)?\(([^)]*)\)/g;
  for (const re of [fn, arrow]) {
    let m: RegExpExecArray | null;
    while ((m = re.exec(src))) out.push({ name: m[1]!, params: paramNames(m[2]!), public: true, triggers: [] });
  }
  return out;
}
