// Live linking of generated playbooks, for the runner: GeneratePlaybook (write or reuse,
// check, link) and deviation handling (a generated playbook that fails at run time is
// regenerated, told the failure, and rerun with the same arguments; when its versions run
// out, the nearest generated caller is regenerated instead, and a model that called it
// from a natural-language step is told it failed). Every generation is journaled with its
// source, so a replay relinks the same code without asking the model again.
import { PbRuntimeError, PlaybookCallFailed, type RuntimeErrorCode } from './errors.js';
import type { Frame, Machine } from './machine.js';
import { clipText } from './model/context.js';
import type { CallSite, ModelReply, ModelRequest } from './model/protocol.js';
import { callableListing } from './model/prompt.js';
import type { Generated, GenerateRequest, PlaybookGenerator, RepairInfo } from './generate.js';
import type { JournalRecord } from './durable/journal.js';
import { ConversationFailed } from './durable/retry.js';
import type { CodeObject, Value } from './pbasm/program.js';
import { toPlain } from './values.js';

/** Runtime errors that count as a generated playbook's own failure (its code was wrong). */
const DEVIATIONS: ReadonlySet<RuntimeErrorCode> = new Set<RuntimeErrorCode>([
  'undefined-variable',
  'type-error',
  'index-error',
  'key-error',
  'value-error',
  'division-by-zero',
  'call-error',
  'undefined-playbook',
  'not-public',
  'stack-overflow',
  'foreign-call',
  'unsupported',
  'failed',
]);
// Not deviations: tool, model and input failures lie outside the code (the run stops and a
// `pb resume` retries them), and the generated-code step budget is the final security stop.

export interface DeviationReport {
  /** The failing playbook and the version that replaces it (0 is the first generated version). */
  playbook: string;
  revision: number;
  /** Why it was regenerated: the runtime error, or its callee's exhausted failure. */
  failure: string;
  origin: string;
}

export interface LinkerOptions {
  generator?: PlaybookGenerator;
  /** Generated playbooks may call GeneratePlaybook up to this depth. */
  maxGenerationDepth?: number;
  /** A generated playbook is regenerated at most this many times after failing at run time. */
  maxRegenerations?: number;
  /** Regenerations allowed in one run, in all. */
  maxRunRegenerations?: number;
  /** Told about each regeneration made (not replayed). */
  onDeviation?: (report: DeviationReport) => void;
  /** Told about each playbook GeneratePlaybook linked (not replayed): written anew or reused. */
  onGenerated?: (report: GeneratedReport) => void;
}

export interface GeneratedReport {
  goal: string;
  playbook: string;
  /** 'model', or 'library:<id>' (reused, or stored after writing). */
  origin: string;
  /** Attempts the model needed; 0 when a library entry was reused. */
  attempts: number;
}

/** What the linker needs from the runner. */
export interface LinkerHost {
  readonly machine: Machine;
  /** Generation records of the journal being replayed, by effect number. */
  readonly recorded: Map<number, Value>;
  readonly replayOnly: boolean;
  /** Stops a replay-only run at the first generation the journal did not record. */
  endOfReplay(): never;
  journal(record: JournalRecord): void;
  toolNames(): string[];
  /** The same tools as `Name(param, ...)` where known, for the model. */
  toolSignatures(): string[];
  /** Model access for the generator; undefined when no model is configured. */
  model(): { model: string; complete(request: ModelRequest, site: CallSite): Promise<ModelReply> } | undefined;
  /** Runs model work during which no snapshot may be taken. */
  busy<T>(work: () => Promise<T>): Promise<T>;
}

type At = { step: string; line: number; file: string };

export class Linker {
  constructor(
    private readonly host: LinkerHost,
    private readonly options: LinkerOptions,
  ) {}

  /** Generates a playbook for `frame` (or relinks the journaled one), links it, and returns its name. */
  async generate(seq: number, frame: Frame, goal: string, name: string | null, at: At, fail: (code: RuntimeErrorCode, message: string) => PbRuntimeError): Promise<string> {
    const m = this.host.machine;
    const gen = this.options.generator;
    if (!gen) throw fail('unsupported', 'GeneratePlaybook needs a playbook generator (a model and the compiler); none is configured for this run');
    const limit = this.options.maxGenerationDepth ?? 3;
    if (m.generationDepth() >= limit) throw fail('generation-error', `GeneratePlaybook nested more than ${limit} generated playbooks deep`);
    const request = this.request(frame.code.agent, `${frame.code.agent}.${frame.code.name}`, goal, name, at, this.mayGenerate(frame.code));
    const replayed = this.host.recorded.has(seq);
    const g = await this.obtain(seq, request, (message) => fail('generation-error', `GeneratePlaybook("${clipText(goal, 80)}") failed: ${message}`));
    for (const o of g.objects) if (!m.lookup(o.agent, o.name)) m.linkGenerated(o);
    if (!replayed) this.options.onGenerated?.({ goal, playbook: g.entry, origin: g.origin, attempts: g.attempts.length });
    return g.entry;
  }

  /**
   * Deviation handling for a runtime error. Returns true when a generated playbook at or above
   * frames[floor] was regenerated and restarted (the run goes on), false when the error is not
   * a deviation. Throws PlaybookCallFailed when the failing playbooks ran for the model (frames[floor]
   * was started by a natural-language step) and none can be regenerated any more.
   */
  async recover(err: PbRuntimeError, floor: number): Promise<boolean> {
    const m = this.host.machine;
    if (!this.options.generator || !DEVIATIONS.has(err.code) || m.frames.length === 0) return false;
    let failure = err.format(m.program, (path) => m.sourceText(path));
    let exhausted: string | undefined;
    for (let i = m.frames.length - 1; i >= floor; i--) {
      // Only a generated source's entry playbook is regenerated; its helpers fail through it.
      if (typeof m.frames[i]!.code.metadata.source !== 'string') continue;
      // Recursion: the call to rerun is the outermost one of this source, made from outside it.
      i = outermostOfUnit(m.frames, i, floor);
      const f = m.frames[i]!;
      const revision = revisionOf(f.code.metadata.revision);
      if (revision < (this.options.maxRegenerations ?? 2) && this.runRegenerations() < (this.options.maxRunRegenerations ?? 6)) {
        await this.regenerate(i, failure, exhausted);
        return true;
      }
      // Out of versions: its caller's plan is next.
      exhausted = f.code.name;
      failure = `${f.code.name} (generated for "${clipText(String(f.code.metadata.goal ?? ''), 100)}") failed in version ${revision + 1} and may not be regenerated again; its last failure:\n${failure}`;
    }
    const base = m.frames[floor];
    if (exhausted !== undefined && base?.hostReturn) {
      m.unwindTo(floor);
      throw new PlaybookCallFailed(`${base.code.name} failed: ${err.message}${base.code.name === exhausted ? '' : ` (in generated playbook ${exhausted})`}`);
    }
    return false;
  }

  /** Regenerations this run made so far (every linked version after the first). */
  private runRegenerations(): number {
    let n = 0;
    for (const c of this.host.machine.linked) if (typeof c.metadata.source === 'string' && revisionOf(c.metadata.revision) > 0) n++;
    return n;
  }

  /** Writes the next version of the generated playbook in frames[index] and restarts the call with it. */
  private async regenerate(index: number, failure: string, callee: string | undefined): Promise<void> {
    const m = this.host.machine;
    const f = m.frames[index]!;
    const code = f.code;
    const callerAt = m.callStack()[index - 1];
    const caller = m.frames[index - 1];
    const repair: RepairInfo = {
      failure: clipLines(failure, 4000),
      source: String(code.metadata.source),
      params: code.params.map((p) => p.name),
      args: describeArgs(f),
      revision: revisionOf(code.metadata.revision) + 1,
      origin: typeof code.metadata.origin === 'string' ? code.metadata.origin : 'model',
    };
    const at = callerAt ? { step: callerAt.step, line: callerAt.line, file: callerAt.file } : { step: '--', line: code.line, file: '?' };
    const request = {
      ...this.request(code.agent, caller ? `${caller.code.agent}.${caller.code.name}` : `${code.agent}.${code.name}`, String(code.metadata.goal ?? ''), code.name, at, this.mayGenerate(code), code.name),
      repair,
    };
    const seq = m.nextSeq();
    const replayed = this.host.recorded.has(seq);
    const g = await this.obtain(seq, request, (message) => {
      const why = callee ? `its callee ${callee} failed and regenerating ${code.name} failed too` : `regenerating it failed`;
      return new PbRuntimeError('generation-error', `generated playbook '${code.name}' failed (${clipText(firstLine(failure), 200)}); ${why}: ${message}`, m.callStack());
    });
    // (A replayed regeneration's failure was counted by the process that made it.)
    if (!replayed) {
      this.options.generator!.outcome?.({ origin: repair.origin }, false);
      this.options.onDeviation?.({ playbook: code.name, revision: repair.revision, failure: firstLine(failure), origin: g.origin });
    }
    m.replaceGenerated(index, g.objects, g.entry);
  }

  /** The request for a playbook in `agent`: what it may call, and names it must not take. */
  /** Whether the model may be offered generate_playbook in this playbook (its own or its agent's metadata). */
  private mayGenerate(code: CodeObject): boolean {
    const agent = this.host.machine.program.agents.find((a) => a.name === code.agent);
    return code.metadata.generate === true || agent?.metadata.generate === true;
  }

  private request(agent: string, parent: string, goal: string, name: string | null, at: At, mayGenerate: boolean, replacing?: string): GenerateRequest {
    const m = this.host.machine;
    const own = [...(m.program.agents.find((a) => a.name === agent)?.playbooks ?? []), ...m.linked.filter((c) => c.agent === agent)].filter((p) => p.kind !== 'foreign');
    const tools = this.host.toolNames();
    const taken = own.map((p) => p.name).filter((n) => n !== replacing);
    return {
      goal,
      name,
      agent,
      parent,
      callable: [...own.map((p) => p.name), ...tools],
      listing: callableListing(m.program.agents.filter((a) => a.name === agent), agent, this.host.toolSignatures()),
      taken,
      mayGenerate,
      step: at.step,
      line: at.line,
      file: at.file,
    };
  }

  /** The journaled generation for `seq` relinked, else a new one from the generator (journaled). */
  private async obtain(seq: number, request: GenerateRequest, failed: (message: string) => PbRuntimeError): Promise<Generated> {
    const m = this.host.machine;
    const gen = this.options.generator!;
    const recorded = this.host.recorded.get(seq) as { source?: string; entry?: string; origin?: string; seqAfter?: number } | undefined;
    let g: Generated;
    if (recorded && typeof recorded.source === 'string' && typeof recorded.entry === 'string') {
      g = gen.relink(request, recorded.source, recorded.entry, typeof recorded.origin === 'string' ? recorded.origin : undefined);
      // The model calls that wrote it used effect numbers; later effects must keep theirs.
      if (typeof recorded.seqAfter === 'number' && recorded.seqAfter > m.seq) m.seq = recorded.seqAfter;
    } else {
      if (this.host.replayOnly) this.host.endOfReplay();
      const fromSeq = m.peekSeq();
      try {
        g = await this.host.busy(() => gen.generate(request, this.host.model()));
      } catch (err) {
        if (err instanceof PbRuntimeError) throw err;
        // Rejected by the compiler on every attempt: decided by the journaled replies, so a
        // resume writes the playbook afresh (vm/durable/retry.ts) instead of replaying them.
        throw ConversationFailed.from(failed((err as Error)?.message ?? String(err)), { fromSeq, did: [] });
      }
      const attempts = g.attempts.map((a) => (a.accepted ? { accepted: true } : { accepted: false, reason: clipLines(a.reason ?? '', 2000) }));
      const repair = request.repair ? { replaces: request.name, revision: request.repair.revision, failure: clipLines(request.repair.failure, 2000) } : {};
      this.host.journal({ t: 'generate', seq, result: { source: g.source, entry: g.entry, origin: g.origin, attempts, seqAfter: m.seq, ...repair } as Value });
    }
    // The entry remembers where it came from (the library counts its failures).
    const entry = g.objects.find((o) => o.name === g.entry);
    if (entry) entry.metadata = { ...entry.metadata, origin: g.origin };
    return g;
  }
}

/**
 * The generated entry playbooks still in use: not retired by a regeneration (Machine.replaceGenerated
 * renames a replaced version `Name~<revision>`; a playbook name never holds a '~' otherwise).
 */
export function liveGenerated(linked: readonly CodeObject[]): CodeObject[] {
  return linked.filter((c) => c.metadata.generated === true && typeof c.metadata.source === 'string' && !c.name.includes('~'));
}

/** The outermost entry frame, at or below `i` and not below `floor`, in the run of frames of i's generated source. */
function outermostOfUnit(frames: Frame[], i: number, floor: number): number {
  const unit = frames[i]!.code.metadata.unit;
  let at = i;
  for (let k = i - 1; k >= floor; k--) {
    const code = frames[k]!.code;
    if (code.metadata.generated !== true || code.metadata.unit !== unit) break;
    if (typeof code.metadata.source === 'string') at = k;
  }
  return at;
}

function revisionOf(v: Value | undefined): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0;
}

/** Shortens multi-line text (an error with its code frame), keeping its lines. */
function clipLines(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function firstLine(text: string): string {
  const cut = text.indexOf('\n');
  return cut >= 0 ? text.slice(0, cut) : text;
}

/** The failing call's arguments, for the model: `(ticket="T-1", n=3)`. */
function describeArgs(f: Frame): string {
  const args = f.args ?? [];
  if (f.code.params.length === 0) return 'no arguments';
  return `(${f.code.params.map((p, i) => `${p.name}=${clipText(JSON.stringify(toPlain(args[i])) ?? 'None', 200)}`).join(', ')})`;
}
