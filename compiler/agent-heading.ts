// `# Name:Kind` agent headings (Playbooks AI): the name is the part before the colon, the
// kind says what stands behind the agent — a model (AI, the default), a person, an MCP server.
import type { Pos } from './ast.js';
import type { AgentKind } from '../vm/pbasm/program.js';

/** Accepted kinds, as written in the docs; matched case-insensitively. */
export const AGENT_KINDS: Readonly<Record<string, AgentKind | undefined>> = { ai: undefined, human: 'human', mcp: 'mcp' };
const ACCEPTED = 'AI, Human, MCP';

/** A one-word suffix after the last colon; "Ops: the night shift" is not a kind. */
const SUFFIX = /^(.*?\S)[ \t]*:[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*$/s;

export interface AgentHeading {
  /** The text the agent's identifier is made from. */
  base: string;
  kind?: AgentKind;
}

export function agentHeading(text: string, pos: Pos, error: (code: string, message: string, pos: Pos) => void): AgentHeading {
  const m = SUFFIX.exec(text);
  if (!m) return { base: text };
  const word = m[2]!;
  const key = word.toLowerCase();
  if (!(key in AGENT_KINDS)) {
    const at = text.lastIndexOf(word);
    error('unknown-agent-kind', `unknown agent kind '${word}' in '# ${text.trim()}'; accepted kinds: ${ACCEPTED} (e.g. '# ${m[1]!.trim()}:Human')`, { line: pos.line, col: pos.col + at, length: word.length });
    return { base: m[1]! };
  }
  const kind = AGENT_KINDS[key];
  return kind ? { base: m[1]!, kind } : { base: m[1]! };
}
