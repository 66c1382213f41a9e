// Line scanner for the markdown level of a .pb file. Markdown blocks are line-shaped, so
// this is a small state machine with three modes (front matter, code fence, body) rather
// than a regex lexer. It turns bullet indentation into Indent/Dedent tokens, joins lazy
// continuation lines into their bullet, and strips <!-- comments --> outside fences.
import type { IToken, TokenType } from 'chevrotain';
import { createTokenInstance } from './chevrotain.js';
import {
  Bullet,
  Dedent,
  Fence,
  FrontMatter,
  Heading1,
  Heading2,
  Heading3,
  Indent,
  Text,
  type BulletPayload,
  CONTRACT_KEYS,
  type FencePayload,
  type FrontMatterPayload,
  type HeadingPayload,
  type TextPayload,
} from './doc-tokens.js';

export interface LexProblem {
  line: number;
  col: number;
  length: number;
  message: string;
  severity: 'error' | 'warning';
  /** Diagnostic code; 'syntax' when absent. */
  code?: string;
}

export interface DocLexResult {
  tokens: IToken[];
  problems: LexProblem[];
}

const MAX_BULLET_DEPTH = 100;
const HEADING = /^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$/;
const BULLET = /^([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;
/** A contract line under a step: `expected_tools: A, B` (the key must be a contract key). */
const CONTRACT_LINE = /^([a-z_]+)[ \t]*:(.*)$/;
const FENCE_OPEN = /^(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
/** `key:` with no value: metadata whose value is the list or map that follows. */
const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*[ \t]*:[ \t]*$/;
/** A `key: value` (or bare `key:`) line, as in compiler/metadata.ts. */
const KEY_LINE = /^[A-Za-z_][A-Za-z0-9_-]*[ \t]*:(?:[ \t]|$)/;
/** A `## Steps` / `## Triggers` / `## Notes` heading written one level too high. */
const SECTION_NAME = /^(?:steps?|triggers?|notes?)[ \t]*:?$/i;

/** Column width of leading white space, tabs counting as 4; and the index where text starts. */
function leading(line: string): { width: number; index: number } {
  let width = 0;
  let i = 0;
  for (; i < line.length; i++) {
    const ch = line.charCodeAt(i);
    if (ch === 32) width++;
    else if (ch === 9) width += 4 - (width % 4);
    else break;
  }
  return { width, index: i };
}

/** Removes <!-- --> comments from one line, carrying an open comment across lines. */
function stripComments(line: string, state: { open: boolean; line: number; col: number }, lineNo: number): string {
  if (!state.open && line.indexOf('<!--') < 0) return line;
  let out = '';
  let i = 0;
  while (i < line.length) {
    if (state.open) {
      const end = line.indexOf('-->', i);
      if (end < 0) return out.trimEnd();
      i = end + 3;
      state.open = false;
      // Keep columns of text that follows a comment on the same line; drop a trailing comment.
      if (line.slice(i).trim().length > 0) out += ' '.repeat(i - (out.length));
    } else {
      const start = line.indexOf('<!--', i);
      if (start < 0) {
        out += line.slice(i);
        break;
      }
      out += line.slice(i, start);
      i = start + 4;
      state.open = true;
      state.line = lineNo;
      state.col = start + 1;
    }
  }
  return out.trimEnd().length === 0 ? '' : out;
}

/**
 * Prompt text often wraps templates in XML-like tags (`<output_format>` ... `</output_format>`).
 * Headings between such a tag line and its closing line are text of the surrounding
 * description, not new agents or playbooks. This finds, for each tag name, the lines that
 * close it, so an opening line can tell whether (and where) its block ends.
 */
const TAG_OPEN = /^<([A-Za-z][A-Za-z0-9_.:-]*)>$/;
const TAG_CLOSE = /^[ \t]*<\/([A-Za-z][A-Za-z0-9_.:-]*)[ \t]*>[ \t]*$/;
/** HTML elements that are never closed. */
const VOID_TAGS = new Set(['br', 'hr', 'img', 'input', 'meta', 'link', 'area', 'base', 'col', 'embed', 'source', 'track', 'wbr']);

function closingTags(lines: string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.indexOf('</') < 0) continue;
    const m = TAG_CLOSE.exec(line);
    if (!m) continue;
    const list = out.get(m[1]!);
    if (list) list.push(i);
    else out.set(m[1]!, [i]);
  }
  return out;
}

/** The first entry of a sorted list that is greater than `i`. */
function firstAfter(list: number[] | undefined, i: number): number | undefined {
  if (!list) return undefined;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! > i) hi = mid;
    else lo = mid + 1;
  }
  return list[lo];
}

export function lexDocument(source: string): DocLexResult {
  // Splitting on '\n' alone is several times faster than the regex; only pay for CR handling when present.
  const lines = source.indexOf('\r') < 0 ? source.split('\n') : source.split(/\r\n|\r|\n/);
  const tokens: IToken[] = [];
  const problems: LexProblem[] = [];
  const offsets: number[] = new Array(lines.length);
  for (let i = 0, off = 0; i < lines.length; i++) {
    offsets[i] = off;
    off += lines[i]!.length + 1;
  }

  const make = (type: TokenType, image: string, line: number, col: number, endLine: number, payload: unknown): IToken => {
    const start = offsets[line - 1]! + col - 1;
    const tok = createTokenInstance(type, image, start, start + image.length, line, endLine, col, col + image.length);
    tok.payload = payload;
    return tok;
  };

  // Indentation stack of open bullets (their marker columns).
  const stack: number[] = [];
  let tooDeep = false;
  let lastBullet: IToken | undefined;
  let blankSinceBullet = false;
  const closeLists = (line: number) => {
    while (stack.length > 0) {
      stack.pop();
      if (stack.length > 0) tokens.push(make(Dedent, '', line, 1, line, undefined));
    }
    // The outermost list has no Indent of its own, so only nested levels get a Dedent.
    lastBullet = undefined;
    metaList = false;
  };

  const comment = { open: false, line: 0, col: 0 };
  let i = 0;

  // Tag blocks (see closingTags): headings before `tagEnd` (a line index) are text.
  const closers = source.indexOf('</') >= 0 ? closingTags(lines) : undefined;
  let tagEnd = -1;
  /** An opening tag line with no closing line; the next agent/playbook heading says so. */
  let unclosed: { name: string; line: number } | undefined;
  /** The last # or ## heading opened a playbook (so `## Steps` under it is its section). */
  let inPlaybook = false;
  /** Inside a ### section (steps, triggers, notes): no metadata lists there. */
  let inSection = false;
  /** The previous token was a bare `key:` line: a list right after it is its value. */
  let afterBareKey = false;
  /** The open list is the value of a bare `key:` (metadata), not prose or steps. */
  let metaList = false;

  // Front matter: only when the very first line is ---. An unclosed block is reported and
  // then read as ordinary markdown, so one missing line does not hide the whole program.
  if (lines.length > 0 && /^---[ \t]*$/.test(lines[0]!)) {
    let end = 1;
    while (end < lines.length && !/^(---|\.\.\.)[ \t]*$/.test(lines[end]!)) end++;
    if (end < lines.length) {
      const payload: FrontMatterPayload = { body: lines.slice(1, end).join('\n'), bodyLine: 2, closed: true };
      tokens.push(make(FrontMatter, lines[0]!, 1, 1, end + 1, payload));
      i = end + 1;
    } else {
      problems.push({ line: 1, col: 1, length: 3, message: 'front matter is not closed with ---; it is read as ordinary text', severity: 'error' });
      i = 1;
    }
  }

  for (; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const line = stripComments(raw, comment, lineNo);
    const lead = leading(line);
    const body = lead.index === 0 ? line : line.slice(lead.index);

    if (body.length === 0) {
      if (lastBullet) blankSinceBullet = true;
      continue;
    }

    // Code fence: consume to the closing fence; its body is opaque.
    // Dispatch on the first character so most lines try only the one pattern that can match.
    const first = body.charCodeAt(0);
    const fence = first === 96 /* ` */ || first === 126 /* ~ */ ? FENCE_OPEN.exec(body) : null;
    if (fence) {
      closeLists(lineNo);
      afterBareKey = false;
      const marker = fence[1]!;
      const lang = fence[2]!.toLowerCase();
      let end = i + 1;
      const closeRe = new RegExp(`^[ \\t]*${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
      while (end < lines.length && !closeRe.test(lines[end]!)) end++;
      const closed = end < lines.length;
      if (!closed) {
        problems.push({ line: lineNo, col: lead.width + 1, length: marker.length, message: `code fence ${marker} is not closed`, severity: 'error' });
      }
      const payload: FencePayload = { lang, body: lines.slice(i + 1, end).join('\n'), bodyLine: lineNo + 1, closed };
      tokens.push(make(Fence, body, lineNo, lead.index + 1, Math.min(end + 1, lines.length), payload));
      i = closed ? end : lines.length;
      continue;
    }

    if (tagEnd >= 0 && i >= tagEnd) tagEnd = -1;
    const heading = first === 35 /* # */ && lead.width < 4 ? HEADING.exec(body) : null;
    if (heading) {
      closeLists(lineNo);
      afterBareKey = false;
      let level = heading[1]!.length;
      const text = heading[2]!;
      const textCol = lead.index + level + 1 + (body.slice(level).length - body.slice(level).trimStart().length);
      const payload: HeadingPayload = { text, textCol };
      // Inside <tag> ... </tag> a heading is part of the text (a template the model fills in).
      if (level <= 3 && tagEnd < 0) {
        if (level === 2 && inPlaybook && SECTION_NAME.test(text.trim())) {
          // "## Steps" under a playbook: its section, written one level too high.
          payload.writtenLevel = 2;
          level = 3;
        }
        if (level <= 2 && unclosed) {
          problems.push({
            line: lineNo,
            col: lead.index + 1,
            length: body.length,
            message: `'<${unclosed.name}>' at line ${unclosed.line} is never closed, so this heading starts a new ${level === 1 ? 'agent' : 'playbook'}; if it belongs to the text above, close the block with '</${unclosed.name}>'`,
            severity: 'warning',
            code: 'unclosed-tag',
          });
          unclosed = undefined;
        }
        if (level === 1) inPlaybook = false;
        if (level === 2) inPlaybook = true;
        inSection = level === 3;
        tokens.push(make(level === 1 ? Heading1 : level === 2 ? Heading2 : Heading3, body, lineNo, lead.index + 1, lineNo, payload));
      } else {
        const tp: TextPayload = { text: body, indent: lead.width };
        tokens.push(make(Text, body, lineNo, lead.index + 1, lineNo, tp));
      }
      continue;
    }

    const bullet = first === 45 || first === 42 || first === 43 || (first >= 48 && first <= 57) ? BULLET.exec(body) : null;
    // "---" style rules and "**bold**" are not bullets: the marker must be followed by space or end.
    if (bullet && !/^[-*+]{2,}/.test(body)) {
      const indent = lead.width;
      if (stack.length === 0) {
        stack.push(indent);
        metaList = afterBareKey;
      } else {
        let popped = 0;
        while (stack.length > 1 && indent < stack[stack.length - 1]!) {
          stack.pop();
          tokens.push(make(Dedent, '', lineNo, 1, lineNo, undefined));
          popped++;
        }
        const top = stack[stack.length - 1]!;
        if (indent > top && popped > 0) {
          // Between two open levels (e.g. 6 after 0, 4, 8): a sibling of the level just closed.
          tokens.pop();
          stack.push(indent);
        } else if (indent > top && stack.length >= MAX_BULLET_DEPTH) {
          // Deeper than any real procedure: keep it at the deepest level (the parser recurses per level).
          if (!tooDeep) problems.push({ line: lineNo, col: lead.width + 1, length: 1, message: `steps nested more than ${MAX_BULLET_DEPTH} levels deep`, severity: 'error' });
          tooDeep = true;
          stack[stack.length - 1] = indent;
        } else if (indent > top) {
          stack.push(indent);
          tokens.push(make(Indent, '', lineNo, 1, lineNo, undefined));
        } else if (indent < top) {
          // Shallower than the outermost bullet: it becomes the new outermost level.
          stack[stack.length - 1] = indent;
        }
      }
      const text = (bullet[2] ?? '').trim();
      const textCol = text.length === 0 ? lead.index + bullet[1]!.length + 1 : lead.index + body.indexOf(text, bullet[1]!.length) + 1;
      const payload: BulletPayload = { indent, text, textCol };
      const tok = make(Bullet, body, lineNo, lead.index + 1, lineNo, payload);
      tokens.push(tok);
      lastBullet = tok;
      blankSinceBullet = false;
      afterBareKey = false;
      continue;
    }

    if (first === 60 /* < */ && tagEnd < 0) {
      const tag = TAG_OPEN.exec(body.trimEnd());
      if (tag && !VOID_TAGS.has(tag[1]!.toLowerCase())) {
        const end = firstAfter(closers?.get(tag[1]!), i);
        if (end !== undefined) tagEnd = end;
        else unclosed = { name: tag[1]!, line: lineNo };
      }
    }

    // Plain text: a continuation of the open bullet, or prose that ends any list.
    if (lastBullet) {
      const bp = lastBullet.payload as BulletPayload;
      // `key: value` indented under a step, with a contract key: the step's tool contract.
      const contract = lead.width > bp.indent ? CONTRACT_LINE.exec(body) : null;
      if (contract && CONTRACT_KEYS.has(contract[1]!)) {
        const value = contract[2]!.trim();
        const valueCol = value.length ? lead.index + body.indexOf(value, contract[1]!.length + 1) + 1 : lead.index + body.length + 1;
        (bp.contract ??= []).push({ key: contract[1]!, value, line: lineNo, col: lead.index + 1, valueCol });
        lastBullet.endLine = lineNo;
        blankSinceBullet = false;
        continue;
      }
      // `author: John Doe` at column 0 after the list of a bare `specialization:` is the next
      // metadata key, not a continuation of the last item.
      const nextKey = metaList && lead.width === 0 && KEY_LINE.test(body);
      if (!nextKey && (!blankSinceBullet || lead.width > bp.indent)) {
        bp.text = bp.text.length ? `${bp.text}${blankSinceBullet ? '\n' : ' '}${body.trim()}` : body.trim();
        lastBullet.endLine = lineNo;
        blankSinceBullet = false;
        continue;
      }
      closeLists(lineNo);
    }
    afterBareKey = !inSection && BARE_KEY.test(body);
    const tp: TextPayload = { text: body, indent: lead.width };
    tokens.push(make(Text, body, lineNo, lead.index + 1, lineNo, tp));
  }
  closeLists(lines.length);
  if (comment.open) {
    problems.push({ line: comment.line, col: comment.col, length: 4, message: 'comment <!-- is not closed', severity: 'warning' });
  }
  return { tokens, problems };
}
