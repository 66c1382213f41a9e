// Dynamic playbook generation, seen from the VM. The VM never imports the compiler: the
// host injects a PlaybookGenerator that has the model write `.pb` source and compiles it
// under the restricted profile. The VM links the resulting code objects into the running
// program; they are part of every snapshot, and the journal keeps their source so a replay
// recompiles the same code without asking the model again.
import type { CodeObject, Value } from './pbasm/program.js';
import type { CallSite, ModelReply, ModelRequest } from './model/protocol.js';

export interface GenerateRequest {
  goal: string;
  /** Requested playbook name, if any. */
  name: string | null;
  /** The agent the new playbook joins (the caller's). */
  agent: string;
  /** Playbook that asked, for provenance. */
  parent: string;
  /** Names the generated code may call: the caller's visible playbooks and allowed tools. */
  callable: string[];
  /** Listing of those playbooks (signatures and descriptions) for the model. */
  listing: string;
  /** Names already taken in the agent (the new playbook must not clash). */
  taken: string[];
  /** Whether the caller may offer generate_playbook to the model; generated code gets exactly this. */
  mayGenerate: boolean;
  step: string;
  line: number;
  file: string;
  /** Set when a generated playbook failed at run time and a corrected version is wanted. */
  repair?: RepairInfo;
}

/** What went wrong with a generated playbook, for writing its next version. */
export interface RepairInfo {
  /** The failure: the runtime error with its code frame, or why a playbook it called gave up. */
  failure: string;
  /** The failing version's source. */
  source: string;
  /** Its parameters: the new version must keep them (it is rerun with the same arguments). */
  params: string[];
  /** The arguments of the failing call, as shown to the model. */
  args: string;
  /** Version number of the new playbook (the first generated version is 0). */
  revision: number;
  /** Where the failing version came from ('model', 'library:<id>', 'journal'). */
  origin: string;
}

export interface Generated {
  /** The `.pb` source that compiled; kept in the journal and the library. */
  source: string;
  /** Entry playbook name, after renaming to avoid clashes. */
  entry: string;
  /** Linked code objects (agent set to the caller's, names made unique). */
  objects: CodeObject[];
  /** How many attempts the model needed, and why earlier ones were rejected. */
  attempts: Array<{ accepted: boolean; reason?: string }>;
  /** Where it came from: 'model' or 'library:<id>'. */
  origin: string;
}

/** Model access for the generator: calls are journaled and replayed by the runner. */
export interface GeneratorModel {
  complete(request: ModelRequest, site: CallSite): Promise<ModelReply>;
  model: string;
}

export interface PlaybookGenerator {
  /** Writes, checks and compiles a new playbook (model calls go through `model`). */
  generate(request: GenerateRequest, model: GeneratorModel | undefined): Promise<Generated>;
  /** Recompiles journaled source on replay (no model involved); `origin` is the recorded one. */
  relink(request: GenerateRequest, source: string, entry: string, origin?: string): Generated;
  /** Reports how a generated playbook did (for the library's success/failure counts). */
  outcome?(generated: { origin: string }, success: boolean): void;
}

export type GenerateRecord = { source: string; entry: string; origin: string } & Record<string, Value>;
