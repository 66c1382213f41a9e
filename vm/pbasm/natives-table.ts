// Names and arities of the pure builtin functions (len, str, ...). The compiler resolves a
// call to one of these into CALL_NATIVE with this table's index; stdlib/natives.ts holds the
// implementations in the same order. Keeping the table here lets both sides agree without
// the VM importing the compiler.

export interface NativeSpec {
  name: string;
  minArgs: number;
  maxArgs: number;
  doc: string;
}

const n = (name: string, minArgs: number, maxArgs: number, doc: string): NativeSpec => ({ name, minArgs, maxArgs, doc });

export const NATIVES: readonly NativeSpec[] = Object.freeze([
  n('len', 1, 1, 'length of a string, list or object'),
  n('str', 1, 1, 'text form of a value'),
  n('int', 1, 1, 'integer from a number or numeric text'),
  n('float', 1, 1, 'number from numeric text'),
  n('bool', 1, 1, 'truthiness of a value'),
  n('abs', 1, 1, 'absolute value'),
  n('min', 1, 16, 'smallest of the arguments, or of one list'),
  n('max', 1, 16, 'largest of the arguments, or of one list'),
  n('sum', 1, 1, 'sum of a list of numbers'),
  n('round', 1, 2, 'round to n digits (default 0)'),
  n('range', 1, 3, 'list of integers, as Python range()'),
  n('sorted', 1, 1, 'sorted copy of a list'),
  n('reversed', 1, 1, 'reversed copy of a list or string'),
  n('keys', 1, 1, 'keys of an object'),
  n('values', 1, 1, 'values of an object'),
  n('lower', 1, 1, 'lower-case text'),
  n('upper', 1, 1, 'upper-case text'),
  n('strip', 1, 1, 'text without surrounding white space'),
  n('split', 1, 2, 'split text on a separator (default: white space)'),
  n('join', 1, 2, 'join a list of values with a separator (default: "")'),
  n('replace', 3, 3, 'replace every occurrence in text'),
  n('startswith', 2, 2, 'text starts with a prefix'),
  n('endswith', 2, 2, 'text ends with a suffix'),
  n('append', 2, 2, 'a new list with one value added at the end'),
  n('type', 1, 1, 'type name: None, bool, int, float, str, list, object, playbook'),
  n('json', 1, 1, 'JSON text of a value'),
  n('parse_json', 1, 1, 'value from JSON text'),
  n('format', 2, 2, 'format(value, spec): Python format-spec mini-language, as in f"{x:.2f}"'),
  n('repr', 1, 1, 'quoted text form of a value'),
  n('parse_answer', 2, 2, 'parse_answer(text, fields): the values an answer gives for the fields ("name", "name:number", "name:int"), as an object'),
]);

export const NATIVE_COUNT = NATIVES.length;

const INDEX = new Map(NATIVES.map((s, i) => [s.name, i]));

export function nativeIndex(name: string): number | undefined {
  return INDEX.get(name);
}
