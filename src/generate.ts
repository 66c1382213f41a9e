// The host side of GeneratePlaybook: the model writes `.pb` source for a goal, the same
// compiler checks it under the restricted profile, diagnostics go back to the model for
// repair (at most 3 attempts), and the code objects are prepared for linking into the
// running program: moved into the caller's agent, renamed so they clash with nothing, and
// marked as generated (their own step budget and generation depth apply).
import { compileSource } from '../compiler/compile.js';
import { formatDiagnostics } from '../compiler/diagnostics.js';
import type { CodeObject } from '../vm/pbasm/program.js';
import type { Generated, GenerateRequest, GeneratorModel, PlaybookGenerator } from '../vm/generate.js';
import { liveGenerated } from '../vm/linker.js';
import type { ModelRequest, ToolUseBlock } from '../vm/model/protocol.js';
import { assistantTurn } from '../vm/model/reply.js';
import { LibraryError, type PlaybookLibrary } from './library.js';

export const GENERATION_RULES = `You write playbooks in the pbvm markdown playbook language. A playbook is compiled and run by a virtual machine; write only the playbook, with the write_playbook tool.
Format:
## Name($param, other = 2)
One line saying what it does.
### Steps
- one step per bullet; nest bullets (two spaces) under If / Else if / Else, While, Until, For each
Deterministic steps (run by the machine): $x = expr (agent state) or x = expr (local); If $x > 3 / Else if ... / Else; While cond; For each item in $list; Return expr; Say "text with {$x}"; Ask user for $x; calls Name(arg, key=value) and $r = Name(...). Expressions are Python-like: numbers, "strings", f"{x}", True/False/None, lists, objects, a[i], a.key, + - * / // % **, == != < <= > >=, and/or/not/in, len(), str(), int(), range(), join(), split(), upper(), lower().
Any other step is natural language that the model performs at run time (e.g. "- Summarize $report for the user").
If the goal cannot be met, call Fail("why"): the failure goes back to whoever asked.
Rules: no code fences, no !import, call only the playbooks and tools listed, keep it short, and make every loop end.`;

const WRITE_TOOL = {
  name: 'write_playbook',
  description: 'Submit the complete playbook source (markdown).',
  input_schema: { type: 'object', properties: { source: { type: 'string' } }, required: ['source'], additionalProperties: false },
};

export interface GeneratorOptions {
  maxAttempts: number;
  maxBytes: number;
  maxTokens: number;
}

export const DEFAULT_GENERATOR: GeneratorOptions = { maxAttempts: 3, maxBytes: 16_384, maxTokens: 2048 };

export class GenerationError extends Error {
  constructor(
    message: string,
    readonly attempts: Array<{ accepted: boolean; reason?: string }>,
  ) {
    super(message);
  }
}

export interface CompileGeneratedOptions {
  /** Preferred entry playbook (a library entry's recorded name). */
  entryHint?: string;
  /** Check that only callable names are called (off when relinking code accepted before). */
  checkCalls?: boolean;
}

/** Compiles generated source and prepares its code objects for linking; throws with the diagnostics. */
export function compileGenerated(request: GenerateRequest, source: string, maxBytes: number, options: CompileGeneratedOptions = {}): Omit<Generated, 'attempts' | 'origin'> {
  const revision = request.repair?.revision ?? 0;
  const path = `<generated>/${request.name ?? 'playbook'}${revision ? `.v${revision + 1}` : ''}.pb`;
  const r = compileSource(source, path, { restricted: { maxBytes, callable: new Set(request.callable), checkCalls: options.checkCalls ?? true } });
  if (!r.program) throw new GenerationError(formatDiagnostics(r.diagnostics.filter((d) => d.severity === 'error'), r.sources), []);
  const agent = r.program.agents[0];
  const playbooks = (agent?.playbooks ?? []).filter((p) => p.kind === 'markdown' || p.kind === 'react' || p.kind === 'raw');
  if (!agent || playbooks.length === 0) throw new GenerationError(`${path}: error: the source defines no playbook ("## Name" with "### Steps")`, []);
  // A plan of its own would be judged apart from the caller's; generated code never widens permissions.
  const planned = playbooks.find((p) => p.plan);
  if (planned) throw new GenerationError(`${path}: error: generated playbooks may not declare step contracts or plan rules (strict_sequence, allow_extra_tools, max_iterations); '${planned.name}' does`, []);
  const repair = request.repair;
  // A corrected version replaces the failed one under its name (calls by name and through
  // the returned value must reach it): a single playbook named otherwise takes the name.
  let renamedEntry: string | undefined;
  if (repair && request.name && !playbooks.some((p) => p.name === request.name)) {
    if (playbooks.length !== 1) throw new GenerationError(`${path}: error: the corrected playbook must keep the name ${request.name}`, []);
    renamedEntry = playbooks[0]!.name;
  }
  // Names that clash with the caller's agent get a numeric suffix.
  const taken = new Set(request.taken);
  const rename = new Map<string, string>();
  for (const p of playbooks) {
    if (p.name === renamedEntry) {
      taken.add(request.name!);
      rename.set(p.name, request.name!);
      continue;
    }
    let name = p.name;
    for (let n = 2; taken.has(name); n++) name = `${p.name}_${n}`;
    taken.add(name);
    rename.set(p.name, name);
  }
  const wanted = renamedEntry ?? options.entryHint ?? request.name ?? undefined;
  const names = [...rename.values()];
  const entry = (wanted && rename.get(wanted)) ?? (wanted && names.includes(wanted) ? wanted : names[0]!);
  // Every playbook of one generated source shares its path (runtime errors show that source's lines).
  const unit = revision ? `${entry}.v${revision + 1}` : entry;
  const objects: CodeObject[] = playbooks.map((p) => {
    const name = rename.get(p.name)!;
    return {
      ...p,
      name,
      agent: request.agent,
      // Generated code never widens permissions: whatever its metadata says, it may offer the
      // model generate_playbook only where its caller may, and it is not public to other agents.
      public: false,
      metadata: { ...p.metadata, generate: request.mayGenerate, public: false, generated: true, goal: request.goal, unit, revision, ...(name === entry ? { source } : {}) },
      calls: p.calls.map((c) => (c.kind === 'playbook' && c.agent === agent.name ? { ...c, agent: request.agent, name: rename.get(c.name) ?? c.name } : c)),
    };
  });
  if (repair) {
    // The new version is rerun with the failing call's arguments, so it keeps the parameters.
    const got = objects.find((o) => o.name === entry)!.params.map((p) => p.name);
    if (got.join(',') !== repair.params.join(',')) {
      const want = repair.params.length ? repair.params.map((p) => `$${p}`).join(', ') : 'none';
      throw new GenerationError(`${path}: error: playbook ${entry} must keep its parameters (${want}); it has (${got.map((p) => `$${p}`).join(', ')})`, []);
    }
  }
  return { source, entry, objects };
}

export interface LibraryUse {
  library: PlaybookLibrary;
  runId: string;
}

export class ModelPlaybookGenerator implements PlaybookGenerator {
  constructor(
    private readonly options: GeneratorOptions = DEFAULT_GENERATOR,
    private readonly store?: LibraryUse,
  ) {}

  /**
   * Records how the run went for every library entry whose version it still runs (called
   * once, at the end); returns what could not be recorded. The entries come from the
   * machine's linked code, which every snapshot holds: a resumed process counts them
   * whether it relinked them from the journal or restored them from a snapshot.
   */
  finish(success: boolean, linked: readonly CodeObject[]): string[] {
    const problems: string[] = [];
    if (!this.store) return problems;
    const ids = new Set(liveGenerated(linked).map((c) => libraryId(String(c.metadata.origin ?? ''))).filter((id): id is string => id !== undefined));
    for (const id of ids) {
      try {
        this.store.library.recordOutcome(id, success);
      } catch (err) {
        // The run's result stands; a library that lost the entry only loses the count.
        if (!(err instanceof LibraryError)) throw err;
        problems.push(`library entry ${id}: ${success ? 'success' : 'failure'} not recorded (${err.message.replace(/^error: /, '')})`);
      }
    }
    return problems;
  }

  /** A generated playbook failed at run time and was replaced: count its failure now. */
  outcome(generated: { origin: string }, success: boolean): void {
    const id = libraryId(generated.origin);
    if (!this.store || !id) return;
    try {
      this.store.library.recordOutcome(id, success);
    } catch (err) {
      if (!(err instanceof LibraryError)) throw err;
    }
  }

  relink(request: GenerateRequest, source: string, entry: string, origin = 'journal'): Generated {
    // Accepted once already: relinking (resume, inspect) does not re-judge which names it may call.
    const g = compileGenerated(request, source, this.options.maxBytes, { checkCalls: false });
    // The journal recorded the linked name; renaming is deterministic, so it matches.
    return { ...g, entry: g.objects.some((o) => o.name === entry) ? entry : g.entry, attempts: [{ accepted: true }], origin };
  }

  async generate(request: GenerateRequest, model: GeneratorModel | undefined): Promise<Generated> {
    // Reuse before writing anew: an approved entry for this goal, or a proposed one that has worked.
    // A failed playbook's next version is always written anew, told what went wrong.
    const found = request.repair ? undefined : this.store?.library.find(request.goal);
    if (found) {
      try {
        const g = compileGenerated(request, found.source, this.options.maxBytes, { entryHint: found.name });
        return { ...g, attempts: [], origin: `library:${found.id}` };
      } catch (err) {
        if (!(err instanceof GenerationError)) throw err;
        // The entry no longer fits this caller (e.g. a playbook it calls is missing): write a new one.
      }
    }
    const made = await this.write(request, model);
    if (this.store) {
      const entry = this.store.library.add({
        goal: request.goal,
        source: made.source,
        name: made.objects.find((o) => o.name === made.entry)?.title ?? made.entry,
        agent: request.agent,
        provenance: { runId: this.store.runId, model: model?.model ?? null, parent: request.parent, replaces: libraryId(request.repair?.origin) ?? null },
      });
      return { ...made, origin: `library:${entry.id}` };
    }
    return made;
  }

  private async write(request: GenerateRequest, model: GeneratorModel | undefined): Promise<Generated> {
    if (!model) throw new GenerationError('GeneratePlaybook needs a model to write the playbook, and none is configured', []);
    const attempts: Array<{ accepted: boolean; reason?: string }> = [];
    const ask = request.repair ? repairPrompt(request, request.repair) : [
      `Goal: ${request.goal}`,
      request.name ? `Name the playbook ${request.name}.` : 'Choose a short CamelCase name.',
      request.listing || 'There are no other playbooks or tools to call.',
    ].join('\n\n');
    const req: ModelRequest = {
      model: model.model,
      max_tokens: this.options.maxTokens,
      system: [{ type: 'text', text: GENERATION_RULES, cache_control: { type: 'ephemeral' } }],
      tools: [{ ...WRITE_TOOL, cache_control: { type: 'ephemeral' } }],
      tool_choice: { type: 'tool', name: WRITE_TOOL.name },
      messages: [{ role: 'user', content: [{ type: 'text', text: ask }] }],
    };
    const purpose = request.repair ? 'regenerate' : 'generate';
    const site = { agent: request.agent, playbook: request.parent.split('.').pop() ?? request.parent, step: request.step, line: request.line, file: request.file, purpose };
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      const reply = await model.complete(req, site);
      const use = reply.content.find((b): b is ToolUseBlock => b.type === 'tool_use' && b.name === WRITE_TOOL.name);
      const source = use && typeof (use.input as { source?: unknown })?.source === 'string' ? ((use.input as { source: string }).source) : undefined;
      let reason: string;
      if (source === undefined) {
        reason = 'no write_playbook call with a "source" string';
      } else {
        try {
          const g = compileGenerated(request, source, this.options.maxBytes);
          attempts.push({ accepted: true });
          return { ...g, attempts, origin: 'model' };
        } catch (err) {
          if (!(err instanceof GenerationError)) throw err;
          reason = err.message;
        }
      }
      attempts.push({ accepted: false, reason });
      req.messages.push(assistantTurn(reply));
      const feedback = `The playbook was rejected:\n${reason}\nFix it and submit the whole playbook again with write_playbook.`;
      // Every tool use of the reply must be answered; all of them carry the rejection.
      const uses = reply.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
      req.messages.push({
        role: 'user',
        content: uses.length ? uses.map((u) => ({ type: 'tool_result' as const, tool_use_id: u.id, content: feedback, is_error: true })) : [{ type: 'text', text: feedback }],
      });
    }
    throw new GenerationError(`the model's playbook was rejected ${this.options.maxAttempts} times; last reason: ${attempts[attempts.length - 1]?.reason ?? 'unknown'}`, attempts);
  }
}

/** The request for a failed playbook's next version: the goal, what failed, and the old source. */
function repairPrompt(request: GenerateRequest, repair: NonNullable<GenerateRequest['repair']>): string {
  const params = repair.params.length ? repair.params.map((p) => `$${p}`).join(', ') : 'no parameters';
  return [
    `Goal: ${request.goal}`,
    `Your playbook ${request.name} for this goal failed while it ran, called with ${repair.args}:`,
    repair.failure,
    `Its source was:\n${repair.source}`,
    `Write a corrected playbook. Keep the name ${request.name} and its parameters (${params}); it will be run again with the same arguments. Work around the failure rather than repeating it, and call Fail("why") if the goal cannot be met.`,
    request.listing || 'There are no other playbooks or tools to call.',
  ].join('\n\n');
}

/** The library entry id of an origin such as 'library:<id>'. */
function libraryId(origin: string | undefined): string | undefined {
  return origin?.startsWith('library:') ? origin.slice('library:'.length) : undefined;
}
