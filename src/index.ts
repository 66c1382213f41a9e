// The public API of pbvm (`import ... from 'pbvm'`, or require). Only the API is re-exported
// here; the README's "Public API" section documents it.
export { VERSION } from './version.js';
export { EXIT, type ExitCode } from './cli/exit-codes.js';

// Compiling
export { compileSource, COMPILER_VERSION, type CompileOptions, type CompileResult } from '../compiler/compile.js';
export { compileLocus } from '../compiler/locus.js';
export { formatDiagnostic, formatDiagnostics, type Diagnostic, type Severity } from '../compiler/diagnostics.js';
export { disassemble } from '../compiler/disasm.js';
export { compileFile, loadProgram, LoadError, type LoadedProgram } from './load-program.js';

// Programs and the .pbasm container
export { encodeProgram, decodeProgram } from '../vm/pbasm/container.js';
export { FormatError } from '../vm/pbasm/envelope.js';
export type { Program, CodeObject, Value } from '../vm/pbasm/program.js';

// Running, resuming, inspecting
export { runProgram, resumeRun, inspectRun, auditRun, StateError, type RunOptions, type ResumeOptions, type RunResult, type RunReport, type RunStatus, type RunEnd, type GeneratedInfo, type AuditReport, type SyncPolicy } from './run.js';
export { PbRuntimeError, type RuntimeErrorCode, type StackEntry } from '../vm/errors.js';
export { DEFAULT_LIMITS, type Limits } from '../vm/limits.js';
export type { RunnerIO, ModelHost, ToolHost, RunOutcome } from '../vm/runner.js';
export type { PlanExecution, StepExecution, ToolCallRecord, Violation } from '../vm/plan.js';
export { LocalDirRunStore, RunStoreError, type RunStore, type LocalDirOptions, type FileOps } from './run-store.js';
export { toolCall, ToolLoadError, type ToolCallContext } from './tools.js';

// The model, and recording / replaying its replies
export { AnthropicModel, DEFAULT_MODEL, type AnthropicOptions } from './providers/anthropic.js';
export { ModelError, type Model, type ModelRequest, type ModelReply, type CallSite, type Usage } from '../vm/model/protocol.js';
export { RecordingModel, ReplayModel, ReplayFileError, REPLAY_FORMAT } from './replay-file.js';

// The playbook library
export { LocalDirLibrary, LibraryError, type PlaybookLibrary, type LibraryEntry } from './library.js';
