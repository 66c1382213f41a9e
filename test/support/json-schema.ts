// A small JSON Schema toolkit for tests that fake a model: the smallest valid instance of a
// schema, an instance that violates it, and a validator for the subset that tool
// `input_schema`s use (type, properties, required, additionalProperties, items, prefixItems,
// enum, const, anyOf/oneOf/allOf, $ref into $defs/definitions, min/max bounds, format).
// It is deliberately dependency-free; it is not a complete JSON Schema implementation.

export type JsonSchema = boolean | { [key: string]: unknown };
type SchemaObject = { [key: string]: unknown };

const isObject = (v: unknown): v is SchemaObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith('#')) throw new Error(`json-schema: only local $ref is supported, got ${ref}`);
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) && !Array.isArray(node)) throw new Error(`json-schema: cannot resolve ${ref}`);
    node = (node as Record<string, unknown>)[part];
  }
  if (node === undefined) throw new Error(`json-schema: cannot resolve ${ref}`);
  return node as JsonSchema;
}

/** Follows `$ref`s and folds `allOf` into one object schema (properties and required merged). */
function normalize(schema: JsonSchema, root: JsonSchema, depth = 0): JsonSchema {
  if (depth > 32) throw new Error('json-schema: $ref/allOf nesting too deep (recursive schema?)');
  if (!isObject(schema)) return schema;
  let s: SchemaObject = schema;
  if (typeof s.$ref === 'string') {
    const { $ref, ...rest } = s;
    const target = normalize(resolveRef(root, $ref as string), root, depth + 1);
    if (!isObject(target)) return target;
    s = { ...target, ...rest };
  }
  if (Array.isArray(s.allOf)) {
    const { allOf, ...rest } = s;
    let merged: SchemaObject = { ...rest };
    for (const part of allOf as JsonSchema[]) {
      const p = normalize(part, root, depth + 1);
      if (!isObject(p)) continue;
      merged = {
        ...p,
        ...merged,
        properties: { ...(isObject(p.properties) ? p.properties : {}), ...(isObject(merged.properties) ? merged.properties : {}) },
        required: [...new Set([...(Array.isArray(p.required) ? p.required : []), ...(Array.isArray(merged.required) ? merged.required : [])])],
      };
    }
    s = merged;
  }
  return s;
}

function primaryType(s: SchemaObject): string | undefined {
  if (typeof s.type === 'string') return s.type;
  if (Array.isArray(s.type) && s.type.length > 0) return String(s.type[0]);
  if (isObject(s.properties) || Array.isArray(s.required)) return 'object';
  if (s.items !== undefined || Array.isArray(s.prefixItems)) return 'array';
  return undefined;
}

function minimalString(s: SchemaObject): string {
  const byFormat: Record<string, string> = {
    'date-time': '1970-01-01T00:00:00Z',
    date: '1970-01-01',
    time: '00:00:00Z',
    email: 'ok@example.com',
    uri: 'https://example.com/',
    url: 'https://example.com/',
    uuid: '00000000-0000-0000-0000-000000000000',
    ipv4: '127.0.0.1',
    hostname: 'example.com',
  };
  let out = (typeof s.format === 'string' && byFormat[s.format]) || 'ok';
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
  if (out.length < min) out = out + 'k'.repeat(min - out.length);
  if (out.length > max) out = out.slice(0, max);
  return out;
}

function minimalNumber(s: SchemaObject, integer: boolean): number {
  let n = 0;
  if (typeof s.minimum === 'number' && n < s.minimum) n = s.minimum;
  if (typeof s.exclusiveMinimum === 'number' && n <= s.exclusiveMinimum) n = s.exclusiveMinimum + (integer ? 1 : 0.5);
  if (typeof s.maximum === 'number' && n > s.maximum) n = s.maximum;
  if (typeof s.exclusiveMaximum === 'number' && n >= s.exclusiveMaximum) n = s.exclusiveMaximum - (integer ? 1 : 0.5);
  return integer ? Math.ceil(n) : n;
}

/**
 * The smallest valid instance of `schema`: required properties only; strings "ok" (or a
 * value fitting `format`/length bounds), numbers 0 (or the nearest bound), booleans false,
 * arrays [] (or `minItems` minimal items), enums their first value, `const` its value,
 * `anyOf`/`oneOf` their first branch, nested objects recursively. An empty schema gives {}
 * at the top level (a tool input is always an object) and "ok" below it.
 */
export function minimalInstance(schema: JsonSchema, root: JsonSchema = schema, depth = 0): unknown {
  if (depth > 32) throw new Error('json-schema: schema nests too deep for a minimal instance');
  const s = normalize(schema, root);
  if (s === true || s === undefined) return depth === 0 ? {} : 'ok';
  if (s === false) throw new Error('json-schema: the schema `false` has no valid instance');
  if (!isObject(s)) return depth === 0 ? {} : 'ok';
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if (Array.isArray(s.anyOf) && s.anyOf.length > 0) return minimalInstance(s.anyOf[0] as JsonSchema, root, depth + 1);
  if (Array.isArray(s.oneOf) && s.oneOf.length > 0) return minimalInstance(s.oneOf[0] as JsonSchema, root, depth + 1);
  switch (primaryType(s)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = isObject(s.properties) ? s.properties : {};
      for (const key of Array.isArray(s.required) ? (s.required as string[]) : []) {
        out[key] = minimalInstance((props[key] ?? true) as JsonSchema, root, depth + 1);
      }
      return out;
    }
    case 'array': {
      const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as JsonSchema[]) : [];
      const minItems = typeof s.minItems === 'number' ? s.minItems : 0;
      const out: unknown[] = [];
      for (let i = 0; i < minItems; i++) {
        const itemSchema = i < prefix.length ? prefix[i]! : ((s.items ?? true) as JsonSchema);
        out.push(minimalInstance(itemSchema, root, depth + 1));
      }
      return out;
    }
    case 'string':
      return minimalString(s);
    case 'integer':
      return minimalNumber(s, true);
    case 'number':
      return minimalNumber(s, false);
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return depth === 0 ? {} : 'ok';
  }
}

/** A value of the wrong JSON type for a schema of type `type`. */
function wrongTypeValue(type: string | undefined): unknown {
  switch (type) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
      return 'not-a-number';
    case 'boolean':
      return 'not-a-boolean';
    case 'array':
      return 'not-an-array';
    case 'object':
      return 'not-an-object';
    case 'null':
      return 'not-null';
    default:
      return undefined;
  }
}

/**
 * An instance that violates `schema` (checked with {@link validateInstance}): the minimal
 * instance with its first required property removed; failing that, a property of the wrong
 * type, a value outside an enum, or an unexpected property where `additionalProperties` is
 * false; failing that, a value that is not an object at all.
 */
export function invalidInstance(schema: JsonSchema, root: JsonSchema = schema): unknown {
  const asObject = invalidObjectInstance(schema, root);
  if (asObject !== undefined) return asObject;
  for (const c of ['<malformed tool input>', 12345, null]) if (validateInstance(schema, c, root).length > 0) return c;
  throw new Error('json-schema: could not build an instance that violates the schema (it accepts everything)');
}

/**
 * Like {@link invalidInstance} but always a JSON object (as a model's tool input always is),
 * or `undefined` when no object violates the schema (e.g. a bare `{type: 'object'}`).
 */
export function invalidObjectInstance(schema: JsonSchema, root: JsonSchema = schema): Record<string, unknown> | undefined {
  const s = normalize(schema, root);
  const candidates: Array<Record<string, unknown>> = [];
  if (isObject(s) && primaryType(s) === 'object') {
    const base = minimalInstance(s, root) as Record<string, unknown>;
    const props = isObject(s.properties) ? s.properties : {};
    const required = Array.isArray(s.required) ? (s.required as string[]) : [];
    if (required.length > 0) {
      const { [required[0]!]: _dropped, ...rest } = base;
      candidates.push(rest);
    }
    for (const [key, propSchema] of Object.entries(props)) {
      const p = normalize(propSchema as JsonSchema, root);
      const bad = isObject(p) ? wrongTypeValue(primaryType(p)) : undefined;
      if (bad !== undefined) candidates.push({ ...base, [key]: bad });
      if (isObject(p) && Array.isArray(p.enum)) candidates.push({ ...base, [key]: '__not_in_enum__' });
    }
    if (s.additionalProperties === false) candidates.push({ ...base, __unexpected__: true });
  }
  return candidates.find((c) => validateInstance(schema, c, root).length > 0);
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(expected: string, v: unknown): boolean {
  const actual = typeOf(v);
  return expected === actual || (expected === 'number' && actual === 'integer');
}

const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Validates `value` against `schema`; returns error strings (empty when valid). */
export function validateInstance(schema: JsonSchema, value: unknown, root: JsonSchema = schema, path = '$'): string[] {
  const s = normalize(schema, root);
  if (s === true) return [];
  if (s === false) return [`${path}: no value is allowed here`];
  if (!isObject(s)) return [];
  const errors: string[] = [];
  const types = typeof s.type === 'string' ? [s.type] : Array.isArray(s.type) ? (s.type as string[]) : undefined;
  if (types && !types.some((t) => typeMatches(t, value))) {
    return [`${path}: expected ${types.join(' | ')}, got ${typeOf(value)}`];
  }
  if ('const' in s && !deepEqual(s.const, value)) errors.push(`${path}: expected const ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, value))) errors.push(`${path}: not one of the enum values`);
  if (Array.isArray(s.anyOf) && !s.anyOf.some((b) => validateInstance(b as JsonSchema, value, root, path).length === 0)) {
    errors.push(`${path}: matches no anyOf branch`);
  }
  if (Array.isArray(s.oneOf)) {
    const n = s.oneOf.filter((b) => validateInstance(b as JsonSchema, value, root, path).length === 0).length;
    if (n !== 1) errors.push(`${path}: matches ${n} oneOf branches, expected exactly 1`);
  }
  if (isObject(value) && (types?.includes('object') || primaryType(s) === 'object')) {
    const props = isObject(s.properties) ? s.properties : {};
    for (const key of Array.isArray(s.required) ? (s.required as string[]) : []) {
      if (!(key in value)) errors.push(`${path}: missing required property "${key}"`);
    }
    for (const [key, v] of Object.entries(value)) {
      if (key in props) errors.push(...validateInstance(props[key] as JsonSchema, v, root, `${path}.${key}`));
      else if (s.additionalProperties === false) errors.push(`${path}: unexpected property "${key}"`);
      else if (isObject(s.additionalProperties)) errors.push(...validateInstance(s.additionalProperties, v, root, `${path}.${key}`));
    }
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) errors.push(`${path}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) errors.push(`${path}: more than ${s.maxItems} items`);
    const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as JsonSchema[]) : [];
    value.forEach((item, i) => {
      const itemSchema = i < prefix.length ? prefix[i] : (s.items as JsonSchema | undefined);
      if (itemSchema !== undefined) errors.push(...validateInstance(itemSchema, item, root, `${path}[${i}]`));
    });
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength) errors.push(`${path}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === 'number' && value.length > s.maxLength) errors.push(`${path}: longer than ${s.maxLength}`);
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value)) errors.push(`${path}: does not match ${s.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) errors.push(`${path}: below minimum ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) errors.push(`${path}: above maximum ${s.maximum}`);
    if (typeof s.exclusiveMinimum === 'number' && value <= s.exclusiveMinimum) errors.push(`${path}: not above ${s.exclusiveMinimum}`);
    if (typeof s.exclusiveMaximum === 'number' && value >= s.exclusiveMaximum) errors.push(`${path}: not below ${s.exclusiveMaximum}`);
  }
  return errors;
}
