// Signatures of the built-in playbooks every agent can call (Playbooks AI's standard ones
// plus ours). The compiler checks calls against this table; the VM implements them
// (vm/builtins.ts). Pure value functions such as len() live in natives-table.ts instead.

export interface BuiltinSpec {
  name: string;
  params: string[];
  minArgs: number;
  doc: string;
  /** Any keyword argument is accepted besides `params` (CreateAgent: they become the new instance's $state). */
  anyKeywords?: boolean;
}

const b = (name: string, params: string[], minArgs: number, doc: string, anyKeywords?: true): BuiltinSpec =>
  anyKeywords ? { name, params, minArgs, doc, anyKeywords } : { name, params, minArgs, doc };

export const BUILTINS: readonly BuiltinSpec[] = Object.freeze([
  b('Say', ['recipient', 'message'], 1, 'Say(message) or Say(recipient, message): one line to the user, or a message to an agent or meeting'),
  b('Ask', ['question'], 1, 'ask the user a question; returns the answer line'),
  b('SendMessage', ['target', 'message'], 2, 'send a message to an agent id ("agent 2"), an agent class name, "human"/"user", or a meeting id ("meeting 1")'),
  b(
    'WaitForMessage',
    ['source'],
    0,
    'wait for messages from source: "*" any (default), "human"/"user", an agent id like "agent 2", an agent class name, or a meeting id like "meeting 1"; returns the list of messages waiting',
  ),
  b('SaveArtifact', ['name', 'summary', 'content'], 2, 'store a named artifact'),
  b('LoadArtifact', ['name'], 1, 'load a named artifact'),
  b('CreateAgent', ['klass'], 1, 'create an instance of agent class klass; keyword arguments become its $state; returns its agent id', true),
  b('SharedState', ['key'], 0, "the current meeting's shared state object, or the value at key"),
  b('SetSharedState', ['key', 'value'], 2, "set key to value in the current meeting's shared state"),
  b('EndProgram', [], 0, 'end the program'),
  b('Fail', ['reason'], 0, 'stop with a failure; a generated playbook that fails is regenerated'),
  b('GeneratePlaybook', ['goal', 'name'], 1, 'have the model write, check and link a new playbook'),
]);

const INDEX = new Map(BUILTINS.map((s) => [s.name, s]));

export function builtinSpec(name: string): BuiltinSpec | undefined {
  return INDEX.get(name);
}
