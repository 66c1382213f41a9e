// Signatures of the built-in playbooks every agent can call (Playbooks AI's standard ones
// plus ours). The compiler checks calls against this table; the VM implements them
// (vm/builtins.ts). Pure value functions such as len() live in natives-table.ts instead.

export interface BuiltinSpec {
  name: string;
  params: string[];
  minArgs: number;
  doc: string;
}

const b = (name: string, params: string[], minArgs: number, doc: string): BuiltinSpec => ({ name, params, minArgs, doc });

export const BUILTINS: readonly BuiltinSpec[] = Object.freeze([
  b('Say', ['recipient', 'message'], 1, 'Say(message) or Say(recipient, message): one line to the user'),
  b('Ask', ['question'], 1, 'ask the user a question; returns the answer line'),
  b('SendMessage', ['target', 'message'], 2, 'send a message to an agent, a human or a meeting'),
  b('WaitForMessage', ['source'], 0, 'wait for the next message (from the user); returns it'),
  b('SaveArtifact', ['name', 'summary', 'content'], 2, 'store a named artifact'),
  b('LoadArtifact', ['name'], 1, 'load a named artifact'),
  b('CreateAgent', ['kind', 'name'], 1, 'create an agent instance'),
  b('EndProgram', [], 0, 'end the program'),
  b('Fail', ['reason'], 0, 'stop with a failure; a generated playbook that fails is regenerated'),
  b('GeneratePlaybook', ['goal', 'name'], 1, 'have the model write, check and link a new playbook'),
]);

const INDEX = new Map(BUILTINS.map((s) => [s.name, s]));

export function builtinSpec(name: string): BuiltinSpec | undefined {
  return INDEX.get(name);
}
