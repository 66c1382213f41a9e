// Recognizes the deterministic step forms by their leading words and splits a step into
// its parts (condition, target, value, ...). Each part keeps its offset in the step text so
// diagnostics can point into it. Whether a part is an expression or natural language is
// decided later, by the compiler, which knows the names in scope.

export interface Part {
  text: string;
  /** Offset of `text` within the step text. */
  offset: number;
}

export interface VarRef {
  name: string;
  /** Written as $name. */
  state: boolean;
  offset: number;
  /** A type written after it (`$age:int`), lower-cased. */
  type?: string;
}

export type StepForm =
  | { form: 'if'; cond: Part; colon: boolean }
  | { form: 'elif'; cond: Part }
  | { form: 'else'; inline?: Part }
  | { form: 'while'; cond: Part }
  | { form: 'until'; cond: Part }
  /** `nlList`: "For each aspect" — no `in <expr>`; the model supplies the items. */
  | { form: 'foreach'; variable: VarRef; iterable: Part; nlList?: boolean }
  | { form: 'return'; value?: Part }
  | { form: 'end' }
  | { form: 'break' }
  | { form: 'continue' }
  /** `recipient`: the first of two arguments as written (`Alice`, `$worker`, `"agent 2"`). */
  | { form: 'say'; arg: Part; recipient?: Part }
  /** `prompt`: what to ask for, when the step says it in words ("a number between 1 and 10"). */
  | { form: 'ask'; vars: VarRef[]; prompt?: Part }
  | { form: 'assign'; target: VarRef; value: Part; style: 'eq' | 'set' | 'is' }
  | { form: 'call'; call: Part }
  | { form: 'nl' };

const LEADING_WORDS = new Set([
  'if', 'else', 'elif', 'otherwise', 'while', 'until', 'for', 'return', 'end', 'exit', 'quit',
  'break', 'continue', 'say', 'ask', 'set', 'call', 'repeat', 'or', 'elseif', 'as', 'loop', 'keep', 'do', 'iterate',
]);

function part(text: string, whole: string, from: number): Part {
  // Locate the trimmed part inside the step text; `from` is where to start searching.
  const t = text.trim();
  const at = whole.indexOf(t, from);
  return { text: t, offset: at < 0 ? from : at };
}

function stripColon(p: Part): { part: Part; colon: boolean } {
  if (p.text.endsWith(':')) return { part: { text: p.text.slice(0, -1).trimEnd(), offset: p.offset }, colon: true };
  return { part: p, colon: false };
}

const RE = {
  elif: /^(?:else[ \t]*,?[ \t]*if|elif|elseif|otherwise[ \t]*,?[ \t]*if|or[ \t]+else[ \t]*,?[ \t]+if)\b[ \t]*,?(.*)$/i,
  else: /^(?:else|otherwise)\b[ \t]*[,:]?[ \t]*(.*)$/i,
  if: /^if\b[ \t]*(.*)$/i,
  while: /^while\b[ \t]*(.*)$/i,
  until: /^(?:repeat[ \t]+)?until\b[ \t]*(.*)$/i,
  foreach: /^for[ \t]+(?:each[ \t]+|every[ \t]+|all[ \t]+)?(\$?[A-Za-z_][A-Za-z0-9_]*)[ \t]+in[ \t]+(.+)$/i,
  foreachNL: /^for[ \t]+(?:each|every|all)[ \t]+(?:(?:of|one|item)[ \t]+)?(?:(?:the|these|those|our|your|their|its)[ \t]+)?(\$?[A-Za-z_][A-Za-z0-9_]*)\b(.*)$/i,
  return: /^return\b[ \t]*(.*)$/i,
  end: /^(?:end|exit|quit)[ \t]+(?:the[ \t]+)?(?:program|conversation)[ \t]*\.?$/i,
  break: /^break(?:[ \t]+(?:out[ \t]+)?(?:of[ \t]+)?(?:the[ \t]+)?loop)?[ \t]*\.?$/i,
  continue: /^continue(?:[ \t]+(?:with[ \t]+)?(?:the[ \t]+)?(?:next[ \t]+)?(?:loop|iteration))?[ \t]*\.?$/i,
  say: /^say\b[ \t]*(.*)$/i,
  ask: /^ask[ \t]+(?:the[ \t]+)?user[ \t]+(?:for|to[ \t]+(?:provide|enter|give))[ \t]+(.*)$/i,
  set: /^set[ \t]+(\$?[A-Za-z_][A-Za-z0-9_]*)[ \t]+(?:to|=)[ \t]+(.+)$/i,
  assignEq: /^(\$?[A-Za-z_][A-Za-z0-9_]*)(?:[ \t]*:[ \t]*[A-Za-z_][A-Za-z0-9_]*(?:\[[A-Za-z_, \t\[\]]*\])?)?[ \t]*=(?!=)[ \t]*(.+)$/,
  assignIs: /^(\$?[A-Za-z_][A-Za-z0-9_]*)[ \t]+is[ \t]+(.+)$/,
  call: /^(?:call[ \t]+)?([$A-Za-z_][A-Za-z0-9_.]*[ \t]*\(.*\))[ \t]*\.?$/i,
  askVar: /^(?:(?:a|an|the|their|his|her|your|its)[ \t]+)?(\$[A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?/,
  /** `ask user for a number and store in $x`: the words say what to ask, the end where to keep it. */
  askStore:
    /^ask[ \t]+(?:the[ \t]+)?user[ \t]+(?:for|to[ \t]+(?:provide|enter|give))[ \t]+(.+?)[ \t]*,?[ \t]+(?:and[ \t]+)?(?:then[ \t]+)?(?:store|save|put|keep|remember|assign)(?:[ \t]+(?:it|that|this|the[ \t]+(?:answer|result|value|response)))?[ \t]+(?:in|into|to|as)[ \t]+(\$[A-Za-z_][A-Za-z0-9_]*)[ \t]*[.!]?$/i,
  /** The right side of `$x = Ask user for ...`. */
  askValue: /^ask[ \t]+(?:the[ \t]+)?user[ \t]+(?:for|to[ \t]+(?:provide|enter|give))[ \t]+(.+?)[ \t]*[.?!]?$/i,
  /** Loops written in words: "As long as <cond>", "Repeat while <cond>", "Loop until <cond>", ... */
  loopWords:
    /^(?:(?:for[ \t]+)?(as[ \t]+long[ \t]+as)|(?:repeat|loop|iterate|keep[ \t]+(?:going|repeating|looping)|do[ \t]+(?:the[ \t]+following|this))(?:[ \t]+(?:the[ \t]+following|this|these[ \t]+steps))?[ \t]*,?[ \t]+(while|until|as[ \t]+long[ \t]+as))\b[ \t]*(.*)$/i,
  askSep: /^[ \t]*(?:,[ \t]*(?:and[ \t]+)?|and[ \t]+)/i,
};

/** Splits "$a and $b, $c" style lists; undefined when anything else is in the text. */
function askVars(text: string, whole: string, base: number): VarRef[] | undefined {
  const vars: VarRef[] = [];
  let rest = text.replace(/[ \t]*[.?!]$/, '');
  let offset = base;
  for (;;) {
    const m = RE.askVar.exec(rest);
    if (!m) return undefined;
    const at = whole.indexOf(m[1]!, offset);
    vars.push({ name: m[1]!.slice(1), state: true, offset: at, ...(m[2] ? { type: m[2].toLowerCase() } : {}) });
    rest = rest.slice(m[0].length);
    offset = at + m[1]!.length;
    if (rest.trim().length === 0) return vars;
    const sep = RE.askSep.exec(rest);
    if (!sep) return undefined;
    rest = rest.slice(sep[0].length);
  }
}

function variable(name: string, whole: string, from = 0): VarRef {
  const state = name.startsWith('$');
  return { name: state ? name.slice(1) : name, state, offset: Math.max(0, whole.indexOf(name, from)) };
}

/** Recognizes the form of one step's text (already without its bullet). */
export function recognizeStep(text: string): StepForm {
  // The leading word, if it is short enough to be one of LEADING_WORDS (at most 9 letters).
  let n = 0;
  while (n < text.length && n < 10) {
    const c = text.charCodeAt(n) | 32;
    if (c < 97 || c > 122) break;
    n++;
  }
  const firstWord = n > 0 && n <= 9 ? text.slice(0, n).toLowerCase() : undefined;
  if (firstWord !== undefined && LEADING_WORDS.has(firstWord)) {
    const form = recognizeKeywordForm(text, firstWord);
    if (form) return form;
  }
  // Assignments and calls need '=' or '('; everything else is natural language.
  if (text.indexOf('=') >= 0) {
    const m = RE.assignEq.exec(text);
    if (m) return askAssign(variable(m[1]!, text), part(m[2]!, text, m[1]!.length)) ?? { form: 'assign', target: variable(m[1]!, text), value: part(m[2]!, text, m[1]!.length), style: 'eq' };
  }
  if (text.indexOf('(') >= 0) {
    const m = RE.call.exec(text);
    if (m) return { form: 'call', call: part(m[1]!, text, 0) };
  }
  if (text.indexOf(' is ') > 0) {
    const m = RE.assignIs.exec(text);
    if (m) return { form: 'assign', target: variable(m[1]!, text), value: part(m[2]!, text, m[1]!.length + 3), style: 'is' };
  }
  return { form: 'nl' };
}

function recognizeKeywordForm(text: string, word: string): StepForm | undefined {
  let m: RegExpExecArray | null;
  switch (word) {
    case 'else':
    case 'elseif':
    case 'elif':
    case 'otherwise':
    case 'or':
      if ((m = RE.elif.exec(text))) return { form: 'elif', cond: stripColon(part(m[1]!, text, 4)).part };
      if ((m = RE.else.exec(text))) {
        const inline = m[1]!.trim();
        return inline ? { form: 'else', inline: part(inline, text, 4) } : { form: 'else' };
      }
      return undefined;
    case 'if':
      if ((m = RE.if.exec(text))) {
        const { part: cond, colon } = stripColon(part(m[1]!, text, 2));
        return cond.text ? { form: 'if', cond, colon } : undefined;
      }
      return undefined;
    case 'while':
      if ((m = RE.while.exec(text))) {
        const cond = stripColon(part(m[1]!, text, 5)).part;
        return cond.text ? { form: 'while', cond } : undefined;
      }
      return undefined;
    case 'until':
    case 'repeat':
      if ((m = RE.until.exec(text))) {
        const cond = stripColon(part(m[1]!, text, 5)).part;
        return cond.text ? { form: 'until', cond } : undefined;
      }
      return word === 'repeat' ? loopWords(text) : undefined;
    case 'for':
      if ((m = RE.foreach.exec(text))) {
        const v = variable(m[1]!, text, 3);
        const iterable = stripColon(part(m[2]!, text, v.offset + m[1]!.length)).part;
        return { form: 'foreach', variable: v, iterable };
      }
      if ((m = RE.foreachNL.exec(text))) {
        // "For each of them": a pronoun is no name; such a loop variable is called item.
        const word = /^(?:them|it|these|those|one|ones)$/i.test(m[1]!) ? 'item' : m[1]!;
        const v = word === m[1] ? variable(m[1]!, text, 3) : { name: word, state: false, offset: Math.max(0, text.indexOf(m[1]!, 3)) };
        return { form: 'foreach', variable: v, iterable: stripColon({ text, offset: 0 }).part, nlList: true };
      }
      return loopWords(text);
    case 'return':
      if ((m = RE.return.exec(text))) {
        const value = m[1]!.trim().replace(/\.$/, '');
        return value ? { form: 'return', value: part(value, text, 6) } : { form: 'return' };
      }
      return undefined;
    case 'end':
    case 'exit':
    case 'quit':
      return RE.end.test(text) ? { form: 'end' } : undefined;
    case 'break':
      return RE.break.test(text) ? { form: 'break' } : undefined;
    case 'continue':
      return RE.continue.test(text) ? { form: 'continue' } : undefined;
    case 'say':
      if ((m = RE.say.exec(text))) return sayForm(text, m[1]!);
      return undefined;
    case 'ask':
      if ((m = RE.ask.exec(text))) {
        const base = text.length - m[1]!.length;
        const vars = askVars(m[1]!, text, base);
        if (vars) return { form: 'ask', vars };
      }
      if ((m = RE.askStore.exec(text))) {
        const prompt = part(m[1]!, text, 4);
        return { form: 'ask', vars: [variable(m[2]!, text, prompt.offset + prompt.text.length)], prompt };
      }
      return undefined;
    case 'set':
      if ((m = RE.set.exec(text))) {
        const target = variable(m[1]!, text, 3);
        const value = part(m[2]!, text, target.offset + m[1]!.length);
        return askAssign(target, value) ?? { form: 'assign', target, value, style: 'set' };
      }
      return undefined;
    case 'as':
    case 'loop':
    case 'keep':
    case 'do':
    case 'iterate':
      // "Repeat while" / "Repeat until" come here too (see 'repeat' below).
      return loopWords(text);
    case 'call':
      if ((m = RE.call.exec(text))) return { form: 'call', call: part(m[1]!, text, 4) };
      return undefined;
  }
  return undefined;
}

/** `$x = Ask user for <what>`: an Ask into $x, the words saying what to ask for. */
function askAssign(target: VarRef, value: Part): StepForm | undefined {
  if (!/^ask[ \t]/i.test(value.text)) return undefined;
  const m = RE.askValue.exec(value.text);
  if (!m) return undefined;
  return { form: 'ask', vars: [target], prompt: { text: m[1]!, offset: value.offset + value.text.indexOf(m[1]!) } };
}

/** "As long as the conversation goes on", "Repeat while ...", "Loop until ...": While/Until loops. */
function loopWords(text: string): StepForm | undefined {
  const m = RE.loopWords.exec(text);
  if (!m) return undefined;
  const cond = stripColon(part(m[3]!, text, text.length - m[3]!.length)).part;
  if (!cond.text) return undefined;
  const until = !m[1] && /^until$/i.test(m[2]!);
  return until ? { form: 'until', cond } : { form: 'while', cond };
}

/** Say "text" | Say $x | Say("text") | Say(user, "text"). */
function sayForm(text: string, rest: string): StepForm {
  const start = text.length - rest.length;
  const r = rest.trim();
  if (r.startsWith('(') && r.endsWith(')')) {
    const inner = r.slice(1, -1);
    const recipient = /^[ \t]*("[^"]*"|'[^']*'|\$?[A-Za-z_][A-Za-z0-9_ ]*?)[ \t]*,(.*)$/s.exec(inner);
    if (recipient) {
      const who = part(recipient[1]!, text, start + 1);
      return { form: 'say', arg: part(recipient[2]!, text, who.offset + who.text.length), recipient: who };
    }
    return { form: 'say', arg: part(inner, text, start + 1) };
  }
  return { form: 'say', arg: part(r, text, start) };
}
