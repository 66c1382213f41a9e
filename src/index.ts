// The public API of pbvm. Only the API is re-exported here.
export { compileSource, COMPILER_VERSION, type CompileOptions, type CompileResult } from '../compiler/compile.js';
export { formatDiagnostic, formatDiagnostics, type Diagnostic, type Severity } from '../compiler/diagnostics.js';
export { disassemble } from '../compiler/disasm.js';
export { encodeProgram, decodeProgram } from '../vm/pbasm/container.js';
export { FormatError } from '../vm/pbasm/envelope.js';
export type { Program, CodeObject, Value } from '../vm/pbasm/program.js';
export { PbRuntimeError } from '../vm/errors.js';
export { DEFAULT_LIMITS, type Limits } from '../vm/limits.js';
export type { RunnerIO, ModelHost, ToolHost, RunOutcome } from '../vm/runner.js';
export { compileFile, loadProgram, LoadError } from './load-program.js';
export { runProgram, resumeRun, inspectRun, auditRun, StateError, type RunOptions, type ResumeOptions, type RunResult, type RunReport, type AuditReport, type SyncPolicy } from './run.js';
export { compileLocus } from '../compiler/locus.js';
export type { PlanExecution, StepExecution, ToolCallRecord, Violation } from '../vm/plan.js';
export { LocalDirRunStore, type RunStore } from './run-store.js';
export { toolCall, type ToolCallContext } from './tools.js';
export { LocalDirLibrary, LibraryError, type PlaybookLibrary, type LibraryEntry } from './library.js';
export { AnthropicModel, DEFAULT_MODEL, type AnthropicOptions } from './providers/anthropic.js';
export type { Model, ModelRequest, ModelReply } from '../vm/model/protocol.js';
