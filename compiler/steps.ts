// Raw step trees → statements. This is where a step is read as code or as natural
// language: a form is deterministic when its parts parse as expressions over names that
// are known at that point (parameters, earlier locals, $state, playbooks and builtins).
import { recognizeStep, type Part, type VarRef } from '../grammar/step-forms.js';
import type { AnswerKind, Expr, Operand, Pos, StepBase, Stmt, Target } from './ast.js';
import { ExprError, namesRead, splitInterpolation, toExpr } from './expr-ast.js';
import type { PlaybookDraft, RawStep, Reporter } from './declarations.js';
import { closest, type Symbols } from './symbols.js';
import { parseContract } from './contracts.js';
import { implicitLocals } from './meetings.js';
import { agentValue, isUserRecipient, withAgentValues } from './agent-values.js';

/**
 * What happens when an operand parses as an expression but names a variable that is not
 * known there: 'quiet' reads it as natural language ("If done", "Return valid");
 * 'warn' does the same but says so, for forms that look like code ("$x = price * qty").
 */
type Mode = 'warn' | 'quiet';

export interface StateUse {
  name: string;
  pos: Pos;
}

export interface ProgramFacts {
  /** $state names that something may write (assignments, asks, loops, NL steps that mention them). */
  stateWrites: Set<string>;
  stateReads: StateUse[];
}

const STATE_MENTION = /\$([A-Za-z_][A-Za-z0-9_]*)/g;

export class StepBuilder {
  private readonly known: Set<string>;
  private readonly params: Set<string>;

  constructor(
    pb: PlaybookDraft,
    private readonly agent: string,
    private readonly symbols: Symbols,
    private readonly report: Reporter,
    private readonly facts: ProgramFacts,
  ) {
    // A meeting playbook's implicit locals (meeting_id, inviter_id, topic) read like parameters.
    this.params = new Set([...pb.params.map((p) => p.name), ...implicitLocals(pb)]);
    this.known = new Set(this.params);
  }

  build(items: RawStep[], prefix = ''): Stmt[] {
    const out: Stmt[] = [];
    let chain: Extract<Stmt, { kind: 'if' }> | undefined;
    /** The previous sibling was an If chain already closed by its Else. */
    let closedChain = false;
    let terminated: Stmt | undefined;
    let warnedUnreachable = false;
    items.forEach((item, i) => {
      const id = prefix ? `${prefix}.${String(i + 1).padStart(2, '0')}` : String(i + 1).padStart(2, '0');
      const base: StepBase = { id, text: item.text, pos: { line: item.line, col: item.col, length: Math.max(1, firstLine(item.text).length) } };
      if (terminated && !warnedUnreachable) {
        warnedUnreachable = true;
        const why = terminated.kind === 'end' ? 'End program' : 'Return';
        this.report.warning('unreachable', `step ${id} is unreachable: it follows '${why}' (step ${terminated.id})`, base.pos);
      }
      const form = recognizeStep(item.text);
      if (item.contract && (prefix || form.form === 'elif' || form.form === 'else')) {
        this.report.error('contract', `a tool contract (${item.contract[0]!.key}: ...) belongs on a top-level step of the playbook`, { line: item.contract[0]!.line, col: item.contract[0]!.col, length: item.contract[0]!.key.length });
      }
      if (form.form === 'elif' || form.form === 'else') {
        if (!chain) {
          if (closedChain) this.report.error('branch-after-else', `'${firstWord(item.text)}' after the final 'Else' of this 'If'`, base.pos);
          else this.report.error('else-without-if', `'${firstWord(item.text)}' without a matching 'If' before it at the same level`, base.pos);
          return;
        }
        if (form.form === 'elif') {
          const cond = this.operand(form.cond, item, 'quiet', 'Else if <expression>');
          if (item.children.length === 0) this.report.warning('empty-branch', `'${firstWord(item.text)}' has no nested steps`, base.pos);
          chain.branches.push({ step: base, cond, body: this.build(item.children, id) });
        } else {
          const inline = form.inline ? [{ text: form.inline.text, line: item.line, col: item.col + form.inline.offset, children: [] }] : [];
          const body = this.build([...inline, ...item.children], id);
          if (body.length === 0) this.report.warning('empty-branch', `'${firstWord(item.text)}' has no nested steps`, base.pos);
          chain.orelse = { step: base, body };
          chain = undefined;
          closedChain = true;
        }
        return;
      }
      chain = undefined;
      closedChain = false;
      const stmt = this.statement(item, base, form);
      if (item.contract && !prefix) stmt.contract = parseContract(item.contract, this.report, base.pos);
      if (stmt.kind === 'if') chain = stmt;
      if ((stmt.kind === 'return' || stmt.kind === 'end') && !terminated) terminated = stmt;
      out.push(stmt);
    });
    return out;
  }

  private statement(item: RawStep, base: StepBase, form: ReturnType<typeof recognizeStep>): Stmt {
    const hasBody = item.children.length > 0;
    switch (form.form) {
      case 'if':
        if (!hasBody) return this.checkCode(form.cond, item, 'If <expression> (with nested steps)'), this.nl(item, base, 'step');
        return { id: base.id, text: base.text, pos: base.pos, kind: 'if', branches: [{ step: base, cond: this.operand(form.cond, item, 'quiet', 'If <expression>'), body: this.build(item.children, base.id) }] };
      case 'while':
      case 'until':
        if (!hasBody) return this.checkCode(form.cond, item, `${form.form === 'while' ? 'While' : 'Until'} <expression> (with nested steps)`), this.nl(item, base, 'step');
        return { id: base.id, text: base.text, pos: base.pos, kind: form.form, cond: this.operand(form.cond, item, 'quiet', `${form.form === 'while' ? 'While' : 'Until'} <expression>`), body: this.build(item.children, base.id) };
      case 'foreach': {
        if (!hasBody) return this.nl(item, base, 'step');
        const iterable: Operand = form.nlList
          ? { k: 'nl', text: form.iterable.text, pos: { line: item.line, col: item.col, length: Math.max(1, firstLine(item.text).length) } }
          : this.operand(form.iterable, item, 'quiet', 'For each <name> in <expression>');
        if (form.nlList) this.mention(item.text);
        const variable = this.target(form.variable, item);
        return { id: base.id, text: base.text, pos: base.pos, kind: 'foreach', variable, iterable, body: this.build(item.children, base.id) };
      }
      case 'return':
        this.noBody(item, base, 'Return');
        return { id: base.id, text: base.text, pos: base.pos, kind: 'return', value: form.value ? this.operand(form.value, item, 'quiet', 'Return <expression>') : undefined };
      case 'end':
        this.noBody(item, base, 'End program');
        return { id: base.id, text: base.text, pos: base.pos, kind: 'end' };
      case 'break':
      case 'continue':
        this.noBody(item, base, form.form);
        return { id: base.id, text: base.text, pos: base.pos, kind: form.form };
      case 'say': {
        if (form.recipient && !this.speaksToUser(form.recipient.text)) return this.sayTo(form.recipient, form.arg, item, base);
        const message = this.sayOperand(form.arg, item);
        if (message.k === 'nl') return this.nl(item, base, 'say');
        this.noBody(item, base, 'Say');
        return { id: base.id, text: base.text, pos: base.pos, kind: 'say', message };
      }
      case 'ask': {
        this.noBody(item, base, 'Ask');
        if (form.prompt) this.mention(form.prompt.text);
        // The fixed question speaks to the user: "their phone number" -> "your phone number".
        const prompt = form.prompt?.text.replace(/\$([A-Za-z_])/g, '$1').replace(/^(?:their|his|her|the user's)\s+/i, 'your ');
        const answers = form.vars.map((v) => answerKind(v.type, prompt));
        return { id: base.id, text: base.text, pos: base.pos, kind: 'ask', targets: form.vars.map((v) => this.target(v, item)), answers, ...(prompt ? { prompt } : {}) };
      }
      case 'assign': {
        // "the user is happy (very" is prose; only the `=` and `set` spellings are held to code.
        const expected = form.style === 'is' ? undefined : form.style === 'set' ? 'set $name to <expression>' : '$name = <expression>';
        const value = this.operand(form.value, item, form.style === 'is' ? 'quiet' : 'warn', expected);
        // "user is happy" is a sentence, not an assignment: the 'is' form needs a code right side.
        if (value.k === 'nl' && form.style === 'is') return this.nl(item, base, 'step');
        this.noBody(item, base, 'an assignment');
        return { id: base.id, text: base.text, pos: base.pos, kind: 'assign', target: this.target(form.target, item), value };
      }
      case 'call': {
        const op = this.operand(form.call, item, 'warn', 'Name(argument, name=value)');
        if (op.k === 'expr' && op.expr.k === 'call') {
          this.noBody(item, base, 'a call');
          const toUser = this.sayToUser(op.expr);
          if (toUser) return { id: base.id, text: base.text, pos: base.pos, kind: 'say', message: { k: 'expr', expr: toUser } };
          return { id: base.id, text: base.text, pos: base.pos, kind: 'call', call: op.expr };
        }
        return this.nl(item, base, 'step');
      }
      default: {
        // `Foo(1,` or `Lookup($id` : a call with a typo, not prose.
        const call = /^((?:call[ \t]+)?)[$A-Za-z_][A-Za-z0-9_.]*\(/i.exec(item.text);
        if (call) this.checkCode({ text: item.text.slice(call[1]!.length), offset: call[1]!.length }, item, 'Name(argument, name=value)');
        return this.nl(item, base, /^(?:say|tell|greet|thank|inform|welcome|apologi[sz]e)\b/i.test(item.text) ? 'say' : /^ask\b/i.test(item.text) ? 'ask' : 'step');
      }
    }
  }

  /** `Say(user, ...)`, `Say("human", ...)`: the recipient is the user unless a variable of that name is meant. */
  private speaksToUser(recipient: string): boolean {
    return isUserRecipient(recipient) && !this.known.has(recipient.trim());
  }

  /**
   * `Say(Alice, "hi")`, `Say($worker, msg)`, `Say(meeting_id, ...)`, `Say("agent 2", ...)`: a call
   * of the Say builtin with both arguments, so the VM routes the message. A recipient or message
   * that is not code over known names leaves the whole step to the model.
   */
  private sayTo(recipient: Part, message: Part, item: RawStep, base: StepBase): Stmt {
    const to = this.operand(recipient, item, 'warn', 'Say(recipient, message)');
    if (to.k === 'nl') return this.nl(item, base, 'say');
    const text = this.sayOperand(message, item);
    if (text.k === 'nl') return this.nl(item, base, 'say');
    this.noBody(item, base, 'Say');
    const call: Expr = { k: 'call', callee: { k: 'var', name: 'Say', state: false, pos: base.pos }, args: [to.expr, text.expr], kwargs: [], pos: base.pos };
    return { id: base.id, text: base.text, pos: base.pos, kind: 'call', call };
  }

  /** The message of a `Say(user, message)` call of the builtin: it is the SAY opcode. */
  private sayToUser(call: Extract<Expr, { k: 'call' }>): Expr | undefined {
    if (call.args.length !== 2 || call.kwargs.length > 0) return undefined;
    const to = call.args[0]!;
    if (to.k !== 'lit' || (to.value !== 'user' && to.value !== 'human')) return undefined;
    return this.symbols.resolve(call, this.agent, this.known).kind === 'builtin' && call.callee.k === 'var' && call.callee.name === 'Say' ? call.args[1] : undefined;
  }

  private noBody(item: RawStep, base: StepBase, what: string): void {
    if (item.children.length > 0) {
      const child = item.children[0]!;
      this.report.error('unexpected-nested-steps', `${what} cannot have nested steps`, { line: child.line, col: child.col, length: Math.max(1, firstLine(child.text).length) });
    }
  }

  private nl(item: RawStep, base: StepBase, nlKind: 'step' | 'say' | 'ask'): Stmt {
    this.mention(item.text);
    if (item.children.length > 0 && /^(?:for|repeat|loop|iterate)\b/i.test(item.text)) {
      this.report.warning(
        'nl-loop',
        `this step looks like a loop but is not one of the loop forms (While, Until, For each $x in ...); its nested steps run at most once, if the model decides they apply`,
        base.pos,
      );
    }
    return { id: base.id, text: base.text, pos: base.pos, kind: 'nl', nlKind, body: item.children.length ? this.build(item.children, base.id) : [] };
  }

  /** NL text may set any $var it mentions (the model has a set-variable tool). */
  private mention(text: string): void {
    if (text.indexOf('$') < 0) return;
    for (const m of text.matchAll(STATE_MENTION)) this.facts.stateWrites.add(m[1]!);
  }

  private target(v: VarRef, item: RawStep): Target {
    const pos: Pos = { line: item.line, col: item.col + v.offset, length: v.name.length + (v.state ? 1 : 0) };
    if (v.state && !this.params.has(v.name)) this.facts.stateWrites.add(v.name);
    else this.known.add(v.name);
    return { name: v.name, state: v.state && !this.params.has(v.name), pos };
  }

  /**
   * Warns when a part that must be code looks like code but does not parse (`$x = (1 +`,
   * `If $x >`): a typo there would otherwise quietly become a model call.
   */
  private checkCode(p: Part, item: RawStep, expected: string): void {
    if (!looksLikeCode(p.text)) return;
    try {
      toExpr(p.text, this.mapper(item, p.offset));
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      this.malformed(p, item, e, expected);
    }
  }

  private malformed(p: Part, item: RawStep, e: ExprError, expected: string): void {
    const at = Math.min(Math.max(0, e.offset), Math.max(0, p.text.length - 1));
    this.report.warning(
      'malformed-code',
      `this looks like code but does not parse (${e.message}); expected ${expected}, so it is read as natural language for the model`,
      { line: item.line, col: item.col + p.offset + at, length: 1 },
    );
  }

  /** Reads a part as an expression when it is one over known names; otherwise as natural language. */
  operand(p: Part, item: RawStep, mode: Mode, expected?: string): Operand {
    const nlPos: Pos = { line: item.line, col: item.col + p.offset, length: Math.max(1, firstLine(p.text).length) };
    const nl = (): Operand => {
      this.mention(p.text);
      return { k: 'nl', text: p.text, pos: nlPos };
    };
    if (p.text.length === 0) return nl();
    let expr: Expr;
    try {
      expr = toExpr(p.text, this.mapper(item, p.offset));
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      const fallback = () => {
        if (expected && looksLikeCode(p.text)) this.malformed(p, item, e, expected);
        return nl();
      };
      // A sentence-ending period after code ("Say "hi".", "$x = 5.") is not part of it.
      if (!p.text.endsWith('.') || p.text.endsWith('..')) return fallback();
      try {
        expr = toExpr(p.text.slice(0, -1), this.mapper(item, p.offset));
      } catch (e2) {
        if (e2 instanceof ExprError) return fallback();
        throw e2;
      }
    }
    const unknown = this.unknownNames(expr);
    // "Return user", "If Alice": a lone agent name in a sentence-like form stays prose.
    if (unknown.length === 0 && mode === 'quiet' && expr.k === 'var' && !expr.state && !this.known.has(expr.name)) return nl();
    if (unknown.length > 0) {
      if (mode === 'warn') {
        const names = unknown.map((u) => `'${u.name}'`).join(', ');
        // A capitalized name is likely a misspelt agent ("Wroker"); "count" is not "Counter".
        const first = unknown[0]!.name;
        const agent = /^[A-Z]/.test(first) ? closest(first, this.symbols.agentNames()) : undefined;
        this.report.warning(
          'nl-fallback',
          `${names} ${unknown.length === 1 ? 'is not a known variable' : 'are not known variables'} here, so this is read as natural language for the model${agent ? ` (did you mean agent '${agent}'?)` : ''}`,
          unknown[0]!.pos,
        );
      }
      return nl();
    }
    expr = this.withAgents(expr);
    this.accept(expr);
    return { k: 'expr', expr };
  }

  /** Agent names (and user/human) that are not variables here become their string constants. */
  private withAgents(expr: Expr): Expr {
    return withAgentValues(expr, (name) => (this.known.has(name) ? undefined : agentValue(name, this.symbols)));
  }

  /** Bare names an expression reads that are not parameters or earlier locals. */
  private unknownNames(expr: Expr): StateUse[] {
    const names = { bare: [] as StateUse[], state: [] as StateUse[] };
    namesRead(expr, names);
    return names.bare.filter((n) => !this.known.has(n.name) && agentValue(n.name, this.symbols) === undefined);
  }

  private sayOperand(p: Part, item: RawStep): Operand {
    const op = this.operand(p, item, 'quiet', 'Say <expression>');
    if (op.k === 'expr' && op.expr.k === 'lit' && typeof op.expr.value === 'string' && op.expr.value.includes('{')) {
      // Say "Hello {$name}" interpolates, like an f-string.
      try {
        const quoteOffset = p.offset + 1;
        const parts = splitInterpolation(op.expr.value, 0, this.mapper(item, quoteOffset), false);
        let expr: Expr = { k: 'fstr', parts, pos: op.expr.pos };
        const unknown = this.unknownNames(expr);
        if (unknown.length === 0) {
          expr = this.withAgents(expr);
          this.accept(expr);
          return { k: 'expr', expr };
        }
        this.report.warning('unknown-interpolation', `'${unknown[0]!.name}' is not a known variable here, so '{${unknown[0]!.name}}' is printed as written`, unknown[0]!.pos);
      } catch (e) {
        if (!(e instanceof ExprError)) throw e;
      }
    }
    return op;
  }

  private mapper(item: RawStep, offset: number) {
    return (o: number, l: number): Pos => ({ line: item.line, col: item.col + offset + o, length: Math.max(1, l) });
  }

  /** Records the $state reads of an expression read as code and checks its calls. */
  private accept(expr: Expr): void {
    const names = { bare: [] as StateUse[], state: [] as StateUse[] };
    namesRead(expr, names);
    for (const s of names.state) if (!this.params.has(s.name)) this.facts.stateReads.push(s);
    this.checkCalls(expr);
  }

  private checkCalls(e: Expr): void {
    const visit = (x: Expr): void => {
      switch (x.k) {
        case 'call':
          this.symbols.checkCall(x, this.agent, this.known, this.params, this.report);
          // CreateAgent(Klass, key=value): the keywords become the new instance's $state.
          if (x.callee.k === 'var' && !x.callee.state && x.callee.name === 'CreateAgent') for (const k of x.kwargs) this.facts.stateWrites.add(k.name);
          x.args.forEach(visit);
          x.kwargs.forEach((k) => visit(k.value));
          if (x.callee.k !== 'var' && x.callee.k !== 'attr') visit(x.callee);
          return;
        case 'fstr':
          x.parts.forEach((p) => typeof p !== 'string' && visit(p));
          return;
        case 'list':
          x.items.forEach(visit);
          return;
        case 'obj':
          x.entries.forEach(([a, b]) => (visit(a), visit(b)));
          return;
        case 'index':
          visit(x.obj);
          visit(x.index);
          return;
        case 'attr':
          visit(x.obj);
          return;
        case 'bin':
        case 'logic':
          visit(x.left);
          visit(x.right);
          return;
        case 'un':
          visit(x.expr);
          return;
        default:
          return;
      }
    };
    visit(e);
  }
}

/**
 * Text that a person writing prose would not write: brackets or quotes left open, or a
 * trailing operator (`(1 +`, `$x >`, `{"a": 1`, `"hello`). An apostrophe inside a word
 * ("user's") is not a quote.
 */
export function looksLikeCode(t: string): boolean {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"') quote = c;
    else if (c === "'" && (i === 0 || !/[A-Za-z0-9]/.test(t[i - 1]!))) quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
  }
  if (quote || depth !== 0) return true;
  // Not "!" or "," (sentences end so), nor "C++", "->", "*emphasis*" or "85%".
  return /(?:==|!=|<=|>=|\*\*|\/\/|(?:^|[^=!<>])=|(?:^|[^-<])>|<|(?:^|[^+])\+|&|\||\^|(?:^|\s)[-*/%])[ \t]*$/.test(t);
}

/**
 * An Ask stores only a number when its variable is typed so (`$n:int`, `$x:float`) or its words
 * ask for one ("a number between 1 and 10", "another number", "an integer"); "a phone number"
 * or "their order number" stay text.
 */
function answerKind(type: string | undefined, prompt: string | undefined): AnswerKind {
  if (type === 'int' || type === 'integer') return 'int';
  if (type === 'float' || type === 'number' || type === 'num') return 'number';
  if (type || !prompt) return 'text';
  const m = /^(?:(?:a|an|another|one|the|some|their|your)\s+)?(?:(?:positive|negative|non-negative|real|decimal)\s+)?(number|integer|whole\s+number)\b/i.exec(prompt);
  if (!m) return 'text';
  return /^number$/i.test(m[1]!) ? 'number' : 'int';
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

function firstWord(s: string): string {
  return /^[A-Za-z]+(?:[ \t]+if)?/i.exec(s)?.[0] ?? s;
}
