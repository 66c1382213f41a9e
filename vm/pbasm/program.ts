// The shape of a compiled PBAsm program. The compiler produces it, the container codec
// serializes it, and the VM executes it. Everything here is plain data (msgpack-able).

/** Runtime values are JSON-shaped: what a model, a tool or a user can hand us. */
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

export type PlaybookKind =
  | 'markdown' // ### Steps compiled to bytecode
  | 'react' // no ### Steps: the stdlib ReAct steps run over the description
  | 'raw' // execution_mode: raw: the description is one natural-language step
  | 'code' // exported function of a ```ts / ```js block; run by the host
  | 'foreign'; // @playbook function of a ```python block; calling it is a runtime error

export interface ParamInfo {
  name: string;
  /** Constant default value; absent when the parameter is required. */
  default?: Value;
  hasDefault: boolean;
}

/**
 * playbook: resolved at compile time (agent + name); builtin: stdlib playbook;
 * tool: a name the program does not define, looked up at run time (host tools, linked
 * generated playbooks); value: the callee is a value on the stack below the arguments.
 */
export type CalleeKind = 'playbook' | 'builtin' | 'tool' | 'value';

export interface CallSite {
  /** Agent that owns the callee; '' for builtins and host tools resolved at run time. */
  agent: string;
  name: string;
  kind: CalleeKind;
  argc: number;
  /** Keyword names for the last kwnames.length arguments. */
  kwnames: string[];
  /** True when written as Agent.Playbook(...). */
  crossAgent: boolean;
}

export type StepKind =
  | 'assign'
  | 'call'
  | 'if'
  | 'elif'
  | 'else'
  | 'while'
  | 'until'
  | 'foreach'
  | 'return'
  | 'end'
  | 'say'
  | 'ask'
  | 'break'
  | 'continue'
  | 'nl'
  | 'react'
  | 'trigger'
  | 'predicate';

export interface StepInfo {
  /** Playbooks AI numbering: 01, 01.02, ... ; triggers are T1, T2, ... */
  id: string;
  kind: StepKind;
  /** Index into Program.files. */
  file: number;
  line: number;
  col: number;
  /** The step's source text, without the bullet. */
  text: string;
}

/**
 * step/say/ask: perform; value/return: compute a value; list: the items a For each loops
 * over; cond: decide; block: perform, then decide whether the nested steps run; task: carry
 * out a whole playbook without steps (ReAct), acting through tools, and return its result.
 */
export type NLKind = 'step' | 'say' | 'ask' | 'value' | 'list' | 'cond' | 'return' | 'block' | 'task';

export interface NLInfo {
  kind: NLKind;
  /** The natural-language text the model acts on. */
  text: string;
  /** $state and local names mentioned in the text, so the VM can show their values. */
  mentions: string[];
  /** For 'value' and 'ask': the variable the result is stored into. */
  target?: string;
  /** Index of the step this belongs to. */
  step: number;
}

export type TriggerKind = 'begin' | 'state' | 'nl';

export interface TriggerInfo {
  id: string;
  kind: TriggerKind;
  text: string;
  line: number;
  file: number;
  /** For state triggers: a code object that evaluates the condition and RETURNs it. */
  cond?: CodeObject;
}

export interface CodeObject {
  name: string;
  /** The heading as written, e.g. "Validate order id". */
  title: string;
  agent: string;
  kind: PlaybookKind;
  description: string;
  /** ### Notes, one per line, for the model's context. */
  notes: string[];
  metadata: Record<string, Value>;
  public: boolean;
  params: ParamInfo[];
  /** Slot names; parameters come first. Hidden slots (iterators) start with '%'. */
  locals: string[];
  code: number[];
  consts: Value[];
  calls: CallSite[];
  nl: NLInfo[];
  steps: StepInfo[];
  /** Step index for each code unit (-1 before the first step). */
  stepOf: number[];
  triggers: TriggerInfo[];
  file: number;
  line: number;
  /** For 'code' playbooks: index into the agent's code blocks. */
  block?: number;
  /** An enforced procedure: step tool contracts, sequence and validation (see vm/plan.ts). */
  plan?: PlanSpec;
}

/** Playbook-level rules of an enforced procedure (Locus's Playbook fields). */
export interface PlanSpec {
  /** Plan steps must complete in order (default true). */
  strictSequence: boolean;
  /** Tools outside the current step's contract may be called (default false). */
  allowExtraTools: boolean;
  /** Model turns the plan's steps may use in all. */
  maxIterations: number;
  steps: PlanStepSpec[];
}

/** A step's tool contract as written (Locus's PlaybookStep fields); see vm/plan.ts for their rules. */
export interface StepContract {
  expectedTools: string[];
  hints: string[];
  required: boolean;
  maxToolCalls: number | null;
  timeoutSeconds: number | null;
  /** Validation: at least this many accepted tool calls. */
  minToolCalls: number;
  /** Validation: words the step's result must contain (case-insensitive). */
  requiredResultKeywords: string[];
  metadata: Record<string, Value>;
}

/** One plan step: its contract, where it is, and its compiled predicate. */
export interface PlanStepSpec extends StepContract {
  /** The plan's name for the step (Locus's step id); defaults to the step id, e.g. "02". */
  id: string;
  /** Index into the code object's step table (the top-level step it wraps). */
  step: number;
  description: string;
  /** Validation: an expression over `result`, compiled to a code object with one parameter. */
  predicate?: CodeObject;
  predicateText?: string;
}

export interface CodeBlock {
  lang: 'ts' | 'js' | 'python';
  source: string;
  exports: string[];
  file: number;
  line: number;
}

/** What stands behind an agent heading `# Name:Kind`; an AI agent (`:AI` or no suffix) has none. */
export type AgentKind = 'human' | 'mcp';

export interface AgentInfo {
  name: string;
  /** The heading as written, e.g. "Alice:Human". */
  title: string;
  /** Absent for an AI agent. A human agent has no playbooks and is never an entry point. */
  kind?: AgentKind;
  description: string;
  metadata: Record<string, Value>;
  playbooks: CodeObject[];
  blocks: CodeBlock[];
}

export interface SourceFileInfo {
  path: string;
  sha256: string;
}

export interface Program {
  /** Version of the compiler that produced it. */
  compiler: string;
  frontMatter: Record<string, Value>;
  files: SourceFileInfo[];
  agents: AgentInfo[];
  /** Source text of every file, so diagnostics and inspection work from a .pbasm alone. */
  sources: string[];
}
