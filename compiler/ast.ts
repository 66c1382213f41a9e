// The AST the compiler works on, between the CST (grammar/) and PBAsm (vm/pbasm/).
import type { StepContract, Value } from '../vm/pbasm/program.js';

/** A position in the expanded source (line index into the loader's line map). */
export interface Pos {
  line: number;
  col: number;
  length: number;
}

export type Expr =
  | { k: 'lit'; value: Value; pos: Pos }
  | { k: 'fstr'; parts: Array<string | Expr>; pos: Pos }
  | { k: 'var'; name: string; state: boolean; pos: Pos }
  | { k: 'list'; items: Expr[]; pos: Pos }
  | { k: 'obj'; entries: Array<[Expr, Expr]>; pos: Pos }
  | { k: 'index'; obj: Expr; index: Expr; pos: Pos }
  | { k: 'attr'; obj: Expr; name: string; pos: Pos }
  | { k: 'call'; callee: Expr; args: Expr[]; kwargs: Array<{ name: string; value: Expr; pos: Pos }>; pos: Pos }
  | { k: 'bin'; op: BinOp; left: Expr; right: Expr; pos: Pos }
  | { k: 'un'; op: '-' | '+' | 'not'; expr: Expr; pos: Pos }
  | { k: 'logic'; op: 'and' | 'or'; left: Expr; right: Expr; pos: Pos };

export type BinOp = '+' | '-' | '*' | '/' | '//' | '%' | '**' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';

/** A condition, value or message that is either an expression or natural language. */
export type Operand = { k: 'expr'; expr: Expr } | { k: 'nl'; text: string; pos: Pos };

export interface StepBase {
  id: string;
  text: string;
  pos: Pos;
  /** A top-level step's tool contract (enforced procedures; compiler/contracts.ts). */
  contract?: ContractDecl;
}

export type Stmt = StepBase &
  (
    | { kind: 'assign'; target: Target; value: Operand }
    | { kind: 'call'; call: Expr }
    | { kind: 'if'; branches: Array<{ step: StepBase; cond: Operand; body: Stmt[] }>; orelse?: { step: StepBase; body: Stmt[] } }
    | { kind: 'while' | 'until'; cond: Operand; body: Stmt[] }
    | { kind: 'foreach'; variable: Target; iterable: Operand; body: Stmt[] }
    | { kind: 'return'; value?: Operand }
    | { kind: 'end' }
    | { kind: 'break' | 'continue' }
    | { kind: 'say'; message: Operand }
    /** `prompt`: what to ask for, in the step's words; `answers`: how each target reads the answer. */
    | { kind: 'ask'; targets: Target[]; prompt?: string; answers: AnswerKind[] }
    | { kind: 'nl'; nlKind: 'step' | 'say' | 'ask'; body: Stmt[] }
  );

/** How an Ask reads its answer into a variable: as text, or only as a number. */
export type AnswerKind = 'text' | 'number' | 'int';

export interface Target {
  name: string;
  state: boolean;
  pos: Pos;
}

export interface ParamDecl {
  name: string;
  default?: Value;
  hasDefault: boolean;
  pos: Pos;
}

export interface TriggerDecl {
  id: string;
  kind: 'begin' | 'state' | 'nl';
  text: string;
  expr?: Expr;
  pos: Pos;
}

export interface PlaybookDecl {
  name: string;
  title: string;
  pos: Pos;
  params: ParamDecl[];
  description: string;
  notes: string[];
  metadata: Record<string, Value>;
  triggers: TriggerDecl[];
  /** Undefined when the playbook has no ### Steps (a ReAct or raw playbook). */
  steps?: Stmt[];
  kind: 'markdown' | 'code' | 'foreign';
  block?: number;
}

export interface CodeBlockDecl {
  lang: 'ts' | 'js' | 'python';
  source: string;
  exports: Array<{ name: string; params: string[]; public: boolean; triggers: string[] }>;
  pos: Pos;
}

export interface AgentDecl {
  name: string;
  title: string;
  /** From `# Name:Human` / `# Name:MCP`; absent for an AI agent. */
  kind?: import('../vm/pbasm/program.js').AgentKind;
  pos: Pos;
  description: string;
  metadata: Record<string, Value>;
  playbooks: PlaybookDecl[];
  blocks: CodeBlockDecl[];
}

export interface ProgramDecl {
  frontMatter: Record<string, Value>;
  agents: AgentDecl[];
}

/** A step's tool contract as written, with where it stands (compiler/contracts.ts reads it). */
export interface ContractDecl extends StepContract {
  id?: string;
  predicate?: { expr: Expr; text: string; pos: Pos };
  pos: Pos;
}
