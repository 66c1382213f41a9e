// Locus playbooks (Oracle's YAML/JSON format: id, name, description, version,
// strict_sequence, allow_extra_tools, max_iterations, tags, metadata, and steps with id,
// description, expected_tools, hints, required, max_tool_calls, timeout_seconds, validation
// and metadata). The loader checks the file field by field, writes the equivalent `.pb`
// (one agent, one playbook started at the beginning, a contracted step per Locus step) and
// compiles that with the ordinary compiler, mapping every position back to the YAML. So a
// Locus file compiles to the same PBAsm as the `.pb` it corresponds to.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import type { CodeObject, Value } from '../vm/pbasm/program.js';
import { compileSource, type CompileOptions, type CompileResult } from './compile.js';
import { sortDiagnostics, type Diagnostic } from './diagnostics.js';

export function isLocusPath(path: string): boolean {
  return /\.(ya?ml|json)$/i.test(path);
}

const PLAYBOOK_FIELDS = ['id', 'name', 'description', 'version', 'strict_sequence', 'allow_extra_tools', 'max_iterations', 'tags', 'metadata', 'steps'];
const STEP_FIELDS = ['id', 'description', 'expected_tools', 'hints', 'required', 'max_tool_calls', 'timeout_seconds', 'validation', 'metadata'];
const VALIDATION_FIELDS = ['min_tool_calls', 'required_result_keywords', 'predicate'];
const TOOL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STEP_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

interface At {
  line: number;
  col: number;
  length: number;
}

/** Reads a Locus file and compiles it; every problem is a diagnostic naming the file, the field and the reason. */
export function compileLocus(text: string, path: string, options: CompileOptions = {}): CompileResult {
  const lines = text.split(/\r\n|\r|\n/);
  const sources = { lineText: (file: string, line: number) => (file === path ? lines[line - 1] : undefined) };
  const diagnostics: Diagnostic[] = [];
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: true });
  const at = (node: Node | null | undefined): At => {
    const range = node?.range;
    if (!range) return { line: 1, col: 1, length: 1 };
    const p = counter.linePos(range[0]);
    const end = counter.linePos(range[1]);
    return { line: p.line, col: p.col, length: end.line === p.line ? Math.max(1, end.col - p.col) : Math.max(1, (lines[p.line - 1]?.length ?? 1) - p.col + 1) };
  };
  const error = (where: At, field: string, message: string) =>
    diagnostics.push({ severity: 'error', code: 'locus', message: field ? `${field}: ${message}` : message, file: path, line: where.line, col: where.col, length: where.length });
  const fail = (): CompileResult => ({ diagnostics: sortDiagnostics(diagnostics), errorCount: diagnostics.filter((d) => d.severity === 'error').length, sources });

  for (const e of doc.errors) {
    const p = e.linePos?.[0];
    error({ line: p?.line ?? 1, col: p?.col ?? 1, length: 1 }, '', `not valid YAML/JSON: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  if (diagnostics.length) return fail();
  const root = doc.contents;
  if (!isMap(root)) {
    error(at(root), '', 'a Locus playbook is a mapping with id, name and steps');
    return fail();
  }

  const reader = new FieldReader(error, at);
  const pb = reader.fields(root, '', PLAYBOOK_FIELDS, ['id', 'name', 'steps']);
  const id = reader.text(pb.id, 'id', STEP_ID, 'letters, digits, "_", "-" and "."');
  const name = reader.text(pb.name, 'name');
  const description = pb.description ? reader.text(pb.description, 'description') : undefined;
  const version = pb.version ? reader.scalar(pb.version, 'version') : undefined;
  const strict = pb.strict_sequence ? reader.bool(pb.strict_sequence, 'strict_sequence') : undefined;
  const extra = pb.allow_extra_tools ? reader.bool(pb.allow_extra_tools, 'allow_extra_tools') : undefined;
  const maxIterations = pb.max_iterations ? reader.int(pb.max_iterations, 'max_iterations', 1) : undefined;
  const tags = pb.tags ? reader.words(pb.tags, 'tags') : undefined;
  const metadata = pb.metadata ? reader.map(pb.metadata, 'metadata') : undefined;
  if (name !== undefined && !/[A-Za-z0-9]/.test(name)) error(at(pb.name), 'name', 'must contain a letter or digit (it names the playbook)');
  // Text is written into the equivalent .pb, where '<!--' would start a comment and hide what follows.
  const noComment = (value: string | undefined, node: Node | undefined, field: string) => {
    if (value?.includes('<!--')) error(at(node), field, "contains '<!--', which would start a comment; write it another way");
  };
  noComment(name, pb.name, 'name');
  noComment(description, pb.description, 'description');

  const stepNodes = pb.steps && isSeq(pb.steps) ? pb.steps.items : [];
  if (pb.steps && !isSeq(pb.steps)) error(at(pb.steps), 'steps', 'expected a list of steps');
  else if (pb.steps && stepNodes.length === 0) error(at(pb.steps), 'steps', 'a playbook needs at least one step');
  const seenIds = new Map<string, number>();
  const steps = stepNodes.map((node, i) => {
    const where = `steps[${i}]`;
    if (!isMap(node)) {
      error(at(node as Node), where, 'expected a mapping with id and description');
      return undefined;
    }
    const f = reader.fields(node, where, STEP_FIELDS, ['id', 'description']);
    const sid = reader.text(f.id, `${where}.id`, STEP_ID, 'letters, digits, "_", "-" and "."');
    if (sid !== undefined) {
      if (seenIds.has(sid)) error(at(f.id), `${where}.id`, `'${sid}' is also the id of steps[${seenIds.get(sid)}]`);
      seenIds.set(sid, i);
    }
    const validation = f.validation ? (isMap(f.validation) ? reader.fields(f.validation, `${where}.validation`, VALIDATION_FIELDS, []) : (error(at(f.validation), `${where}.validation`, 'expected a mapping (min_tool_calls, required_result_keywords, predicate)'), {})) : {};
    return {
      node,
      fields: f,
      id: sid,
      description: reader.text(f.description, `${where}.description`),
      expectedTools: f.expected_tools ? reader.words(f.expected_tools, `${where}.expected_tools`, TOOL_NAME, 'a tool name') : [],
      hints: f.hints ? reader.words(f.hints, `${where}.hints`, undefined, undefined, true) : [],
      required: f.required ? reader.bool(f.required, `${where}.required`) : undefined,
      maxToolCalls: f.max_tool_calls ? reader.int(f.max_tool_calls, `${where}.max_tool_calls`, 0) : undefined,
      timeout: f.timeout_seconds ? reader.number(f.timeout_seconds, `${where}.timeout_seconds`) : undefined,
      minToolCalls: validation.min_tool_calls ? reader.int(validation.min_tool_calls, `${where}.validation.min_tool_calls`, 0) : undefined,
      keywords: validation.required_result_keywords ? reader.words(validation.required_result_keywords, `${where}.validation.required_result_keywords`) : undefined,
      predicate: validation.predicate ? reader.text(validation.predicate, `${where}.validation.predicate`) : undefined,
      predicateNode: validation.predicate,
      metadata: f.metadata ? reader.map(f.metadata, `${where}.metadata`) : undefined,
    };
  });
  steps.forEach((st, i) => {
    if (!st) return;
    noComment(st.description, st.fields.description, `steps[${i}].description`);
    st.hints.forEach((h) => noComment(h, st.fields.hints, `steps[${i}].hints`));
    noComment(st.predicate, st.predicateNode, `steps[${i}].validation.predicate`);
  });
  if (diagnostics.length) return fail();

  // The equivalent .pb, line by line, each line mapped to the YAML line (and column shift) it came from.
  const out: string[] = [];
  const map: Array<[number, number]> = [];
  const put = (line: string, from: At, fromCol = 1, pbCol = 1) => {
    out.push(line);
    map.push([from.line, fromCol - pbCol]);
  };
  const nameAt = at(pb.name);
  const one = (s: string) => s.replace(/\s+/g, ' ').trim();
  // Parentheses and '->' would read as a parameter list or a return type; the exact name is the title.
  const heading = one(name!).replace(/[()]/g, ' ').replace(/->/g, '-').replace(/\s+/g, ' ').trim();
  put(`# ${heading}`, nameAt, nameAt.col, 3);
  put('', nameAt);
  put(`## ${heading}`, nameAt, nameAt.col, 4);
  put(`id: ${id}`, at(pb.id));
  if (version !== undefined) put(`version: ${JSON.stringify(String(version))}`, at(pb.version));
  if (tags) put(`tags: [${tags.join(', ')}]`, at(pb.tags));
  if (strict !== undefined) put(`strict_sequence: ${strict}`, at(pb.strict_sequence));
  if (extra !== undefined) put(`allow_extra_tools: ${extra}`, at(pb.allow_extra_tools));
  if (maxIterations !== undefined) put(`max_iterations: ${maxIterations}`, at(pb.max_iterations));
  // Prose only: a line that reads as metadata, a heading, a fence or a list item would change the
  // program; such a description is set on the compiled playbook instead (below).
  if (description && !/^(#|```|~~~|[-*+](\s|$)|\d+[.)](\s|$)|[A-Za-z_][A-Za-z0-9_-]*\s*:)/.test(one(description))) put(one(description), at(pb.description));
  put('### Triggers', at(pb.steps));
  put('- At the beginning', at(pb.steps));
  put('### Steps', at(pb.steps));
  for (const s of steps) {
    const st = s!;
    const d = at(st.fields.description);
    put(`- ${one(st.description!)}`, d, d.col + quoteOffset(st.fields.description), 3);
    const line = (key: string, value: string, node: Node | undefined) => {
      const w = at(node);
      put(`  ${key}: ${value}`, w, w.col + quoteOffset(node), key.length + 5);
    };
    line('id', st.id!, st.fields.id);
    if (st.expectedTools.length) line('expected_tools', st.expectedTools.join(', '), st.fields.expected_tools);
    for (const h of st.hints) line('hints', one(h), st.fields.hints);
    if (st.required !== undefined) line('required', String(st.required), st.fields.required);
    if (st.maxToolCalls !== undefined) line('max_tool_calls', String(st.maxToolCalls), st.fields.max_tool_calls);
    if (st.timeout !== undefined) line('timeout_seconds', String(st.timeout), st.fields.timeout_seconds);
    if (st.minToolCalls !== undefined) line('min_tool_calls', String(st.minToolCalls), st.fields.validation);
    if (st.keywords) line('required_result_keywords', st.keywords.join(', '), st.fields.validation);
    if (st.predicate !== undefined) line('predicate', one(st.predicate), st.predicateNode);
    if (st.metadata) line('metadata', JSON.stringify(st.metadata), st.fields.metadata);
  }
  const result = compileSource(`${out.join('\n')}\n`, path, { ...options, host: undefined, translated: { original: text, lineMap: map } });
  // Playbook metadata is kept exactly as the file has it (the .pb metadata lines are a subset of YAML).
  const agent = result.program?.agents[0];
  const code = agent?.playbooks[0];
  if (agent && code) {
    exactMetadata(code, { id: id!, ...(version !== undefined ? { version } : {}), ...(tags ? { tags } : {}), ...(metadata ? { metadata } : {}) });
    agent.title = code.title = one(name!);
    if (description) code.description = one(description);
  }
  return result;
}

/** The column shift a quoted scalar adds (its value starts after the quote). */
function quoteOffset(node: Node | undefined): number {
  return node && isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') ? 1 : 0;
}

function exactMetadata(code: CodeObject, values: Record<string, Value>): void {
  code.metadata = { ...code.metadata, ...values };
}

/** Typed access to mapping fields, each problem reported with its field path. */
class FieldReader {
  constructor(
    private readonly error: (where: At, field: string, message: string) => void,
    private readonly at: (node: Node | null | undefined) => At,
  ) {}

  fields(map: YAMLMap, where: string, known: string[], required: string[]): Record<string, Node | undefined> {
    const out: Record<string, Node | undefined> = {};
    for (const pair of map.items as Pair<unknown, unknown>[]) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : '';
      const path = where ? `${where}.${key}` : key;
      if (!known.includes(key)) {
        const close = known.find((k) => similar(k, key));
        const owner = !where ? 'a Locus playbook' : where.endsWith('.validation') ? 'validation' : 'a step';
        this.error(this.at(keyNode), path, `unknown field${close ? ` (did you mean '${close}'?)` : ''}; ${owner} has ${known.join(', ')}`);
        continue;
      }
      out[key] = (pair.value ?? undefined) as Node | undefined;
      if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) {
        this.error(this.at(keyNode), path, 'has no value');
        out[key] = undefined;
      }
    }
    for (const k of required) {
      if (!(k in out)) this.error(this.at(map), where ? `${where}.${k}` : k, 'is required');
    }
    return out;
  }

  scalar(node: Node | undefined, field: string): string | number | boolean | undefined {
    if (!node || !isScalar(node) || node.value === null || typeof node.value === 'object') {
      this.error(this.at(node), field, 'expected a single value');
      return undefined;
    }
    return node.value as string | number | boolean;
  }

  text(node: Node | undefined, field: string, pattern?: RegExp, what?: string): string | undefined {
    if (!node) return undefined;
    const v = this.scalar(node, field);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      this.error(this.at(node), field, `expected text, got ${JSON.stringify(v)}`);
      return undefined;
    }
    if (!v.trim()) {
      this.error(this.at(node), field, 'is empty');
      return undefined;
    }
    if (pattern && !pattern.test(v)) {
      this.error(this.at(node), field, `${JSON.stringify(v)} is not allowed here (${what})`);
      return undefined;
    }
    return v;
  }

  bool(node: Node, field: string): boolean | undefined {
    const v = this.scalar(node, field);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.error(this.at(node), field, `expected true or false, got ${JSON.stringify(v)}`);
    return typeof v === 'boolean' ? v : undefined;
  }

  int(node: Node, field: string, min: number): number | undefined {
    const v = this.scalar(node, field);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      this.error(this.at(node), field, `expected a whole number${min > 0 ? ` of at least ${min}` : ' (0 or more)'}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  number(node: Node, field: string): number | undefined {
    const v = this.scalar(node, field);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !(v > 0)) {
      this.error(this.at(node), field, `expected a number of seconds above 0, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  /** A list of texts (a single text counts as a list of one). */
  words(node: Node, field: string, pattern?: RegExp, what?: string, prose = false): string[] {
    const items = isSeq(node) ? (node.items as Node[]) : [node];
    const out: string[] = [];
    items.forEach((item, i) => {
      const path = isSeq(node) ? `${field}[${i}]` : field;
      const v = this.text(item, path, pattern, what);
      if (v !== undefined && !prose && /,/.test(v)) this.error(this.at(item), path, `${JSON.stringify(v)} may not contain a comma`);
      else if (v !== undefined) out.push(v.trim());
    });
    return out;
  }

  map(node: Node, field: string): Record<string, Value> | undefined {
    if (!isMap(node)) {
      this.error(this.at(node), field, 'expected a mapping of names to values');
      return undefined;
    }
    const v = node.toJSON() as unknown;
    return v && typeof v === 'object' ? (JSON.parse(JSON.stringify(v)) as Record<string, Value>) : undefined;
  }
}

/** A likely misspelling: one edit apart, or the same with '_' / '-' swapped. */
function similar(a: string, b: string): boolean {
  if (a.replace(/-/g, '_') === b.replace(/-/g, '_')) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(i + 1) === b.slice(i + 1) || a.slice(i) === b.slice(i + 1) || a.slice(i + 1) === b.slice(i);
}
