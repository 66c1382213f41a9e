// The .pbasm container: a lossless round trip, and a clear, specific FormatError for every kind
// of damage (truncation, flipped bits, wrong magic, a file from a newer format, trailing
// garbage, a payload that passes the checksum but not the verifier). Then the CLI around it:
// exit codes, one-line errors without stack traces, and compile -> disasm equivalence.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSource } from '../compiler/compile.js';
import { disassemble } from '../compiler/disasm.js';
import { decodeProgram, encodeProgram, looksLikePbasm, PBASM_FORMAT } from '../vm/pbasm/container.js';
import { decodeEnvelope, encodeEnvelope, FormatError, HEADER_SIZE, sha256 } from '../vm/pbasm/envelope.js';
import { OPCODES, opcodeByName, type Op } from '../vm/pbasm/opcodes.js';
import type { CodeObject, Program } from '../vm/pbasm/program.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(REPO, 'dist/src/cli/main.js');

// A program with a branch, a loop, a keyword call, a Say with interpolation and an NL step,
// so that its code has jumps, multi-operand instructions and every table in use.
const SAMPLE = `# Shop
A small shop assistant.

## Main
### Triggers
- At the beginning
### Steps
- $total = 0
- If $total > 0
  - Say "total is {$total}"
- Greet(name="bob")
- Check the stock levels
- For each $i in [1, 2, 3]
  - $total = $total + $i
- Say "done"
- End program

## Greet($name)
### Steps
- Return $name
`;

function compileSample(): Program {
  const r = compileSource(SAMPLE, 'sample.pb');
  if (!r.program) throw new Error(`sample does not compile: ${JSON.stringify(r.diagnostics)}`);
  return r.program;
}

const program = compileSample();
const bytes = encodeProgram(program);
const clone = (): Program => structuredClone(program);
const main = (p: Program): CodeObject => p.agents[0]!.playbooks.find((x) => x.name === 'Main')!;
const op = (name: string): Op => {
  const o = opcodeByName(name);
  if (o === undefined) throw new Error(`no opcode ${name}`);
  return o;
};
const width = (code: number[], pc: number) => 1 + OPCODES[code[pc] as Op].operands.length;
/** Start offsets of the instructions of a code object. */
function starts(code: number[]): number[] {
  const out: number[] = [];
  for (let pc = 0; pc < code.length; pc += width(code, pc)) out.push(pc);
  return out;
}

/** The FormatError that decoding throws; fails the test when decoding succeeds or throws anything else. */
function formatError(b: Uint8Array, what: string): FormatError {
  let result: Program | undefined;
  try {
    result = decodeProgram(b);
  } catch (err) {
    if (err instanceof FormatError) return err;
    throw new Error(`${what}: decodeProgram threw ${(err as Error)?.name} instead of FormatError: ${(err as Error)?.stack ?? String(err)}`);
  }
  expect.fail(`${what}: decodeProgram accepted the file (${result.agents.length} agent(s)); expected a FormatError`);
}

const flipped = (b: Buffer, byte: number, bit: number): Buffer => {
  const c = Buffer.from(b);
  c[byte] = c[byte]! ^ (1 << bit);
  return c;
};

describe('.pbasm container codec', () => {
  it('round-trips a program losslessly', () => {
    expect(looksLikePbasm(bytes)).toBe(true);
    const decoded = decodeProgram(bytes);
    expect(decoded).toStrictEqual(program);
    expect(disassemble(decoded)).toBe(disassemble(program));
    expect(encodeProgram(decoded).equals(bytes), 'encoding is deterministic').toBe(true);
  });

  it('writes the documented header: magic, version, minCompatible, length, sha256 over header fields and payload', () => {
    expect(bytes.toString('latin1', 0, 4)).toBe('PBAM');
    expect(bytes.readUInt16BE(4)).toBe(PBASM_FORMAT.version);
    expect(bytes.readUInt16BE(6)).toBe(PBASM_FORMAT.version);
    expect(bytes.readUInt32BE(8)).toBe(bytes.length - HEADER_SIZE);
    expect(bytes.subarray(12, 44).equals(sha256(Buffer.concat([bytes.subarray(0, 12), bytes.subarray(HEADER_SIZE)])))).toBe(true);
  });

  it('keeps agent kinds, meeting locals and attendee lists; an AI agent has no kind field', () => {
    const r = compileSource(
      [
        '# Alice:Human',
        '# Vault:MCP',
        '# Host:AI',
        '## Main',
        '### Triggers',
        '- At the beginning',
        '### Steps',
        '- Say(Alice, "hi")',
        '## Standup(topic)',
        'meeting: true',
        'required_attendees: Alice, Vault',
        '### Steps',
        '- Say(meeting_id, topic)',
        '',
      ].join('\n'),
      'multi.pb',
    );
    expect(r.errorCount).toBe(0);
    const decoded = decodeProgram(encodeProgram(r.program!));
    expect(decoded).toStrictEqual(r.program);
    expect(decoded.agents.map((a) => [a.name, a.title, a.kind])).toEqual([
      ['Alice', 'Alice:Human', 'human'],
      ['Vault', 'Vault:MCP', 'mcp'],
      ['Host', 'Host:AI', undefined],
    ]);
    expect('kind' in decoded.agents[2]!).toBe(false);
    const standup = decoded.agents[2]!.playbooks.find((p) => p.name === 'Standup')!;
    expect(standup.params.map((p) => p.name)).toEqual(['topic']);
    expect(standup.locals.slice(0, 3)).toEqual(['topic', 'meeting_id', 'inviter_id']);
    expect(standup.metadata.required_attendees).toEqual(['Alice', 'Vault']);
  });

  it('decodes from a Uint8Array view at a non-zero offset', () => {
    const big = Buffer.alloc(bytes.length + 13);
    bytes.copy(big, 7);
    expect(decodeProgram(new Uint8Array(big.buffer, big.byteOffset + 7, bytes.length))).toStrictEqual(program);
  });

  describe('truncated files', () => {
    it.each([1, 2, 3])('cut to %i byte(s) (inside the magic)', (n) => {
      expect(formatError(bytes.subarray(0, n), `cut to ${n}`).message).toMatch(/^(not a PBAsm file \(bad magic number\)|truncated PBAsm file)/);
    });

    it('an empty file', () => {
      expect(formatError(Buffer.alloc(0), 'empty').message).toMatch(/^(not a PBAsm file|truncated PBAsm file|empty)/);
    });

    it.each([4, 5, 6, 8, 11, 12, 20, 43])('cut to %i bytes (inside the header)', (n) => {
      expect(formatError(bytes.subarray(0, n), `cut to ${n}`).message).toBe('truncated PBAsm file (header is incomplete)');
    });

    it.each([0, 1, 100, 0.5, -1])('cut inside the payload (%s)', (where) => {
      const payload = bytes.length - HEADER_SIZE;
      const keep = where === 0.5 ? Math.floor(payload / 2) : where < 0 ? payload - 1 : where;
      const err = formatError(bytes.subarray(0, HEADER_SIZE + keep), `payload cut to ${keep}`);
      expect(err.message).toBe(`truncated PBAsm file: expected ${payload} payload bytes, found ${keep}`);
    });
  });

  describe('flipped bits', () => {
    it('in the magic number', () => {
      for (let byte = 0; byte < 4; byte++) {
        for (let bit = 0; bit < 8; bit++) {
          expect(formatError(flipped(bytes, byte, bit), `magic ${byte}.${bit}`).message).toBe('not a PBAsm file (bad magic number)');
        }
      }
    });

    it('in the payload length', () => {
      const payload = bytes.length - HEADER_SIZE;
      for (let byte = 8; byte < 12; byte++) {
        for (let bit = 0; bit < 8; bit++) {
          const c = flipped(bytes, byte, bit);
          const claimed = c.readUInt32BE(8);
          const message = formatError(c, `length ${byte}.${bit}`).message;
          if (claimed > payload) expect(message).toBe(`truncated PBAsm file: expected ${claimed} payload bytes, found ${payload}`);
          else expect(message).toMatch(new RegExp(`^corrupted PBAsm file: ${payload - claimed} unexpected trailing bytes?$`));
        }
      }
    });

    it('in the checksum', () => {
      for (let byte = 12; byte < HEADER_SIZE; byte++) {
        expect(formatError(flipped(bytes, byte, byte % 8), `checksum ${byte}`).message).toBe('corrupted PBAsm file: checksum mismatch');
      }
    });

    it('in the payload (every byte, one bit each)', () => {
      for (let byte = HEADER_SIZE; byte < bytes.length; byte++) {
        expect(formatError(flipped(bytes, byte, byte % 8), `payload ${byte}`).message).toBe('corrupted PBAsm file: checksum mismatch');
      }
    });

    // The checksum covers only the payload, so damage to the version fields must be caught by
    // the header checks. Every single-bit flip there has to be refused, not silently accepted.
    it('in the version and minCompatible fields', () => {
      const accepted: string[] = [];
      for (let byte = 4; byte < 8; byte++) {
        for (let bit = 0; bit < 8; bit++) {
          const c = flipped(bytes, byte, bit);
          try {
            decodeProgram(c);
            accepted.push(`byte ${byte} bit ${bit} (version ${c.readUInt16BE(4)}, minCompatible ${c.readUInt16BE(6)})`);
          } catch (err) {
            expect(err, `byte ${byte} bit ${bit}`).toBeInstanceOf(FormatError);
            expect((err as Error).message).toMatch(/PBAsm file/);
          }
        }
      }
      expect(accepted, `these damaged headers decode without any error:\n${accepted.join('\n')}`).toEqual([]);
    });
  });

  describe('wrong kind of file', () => {
    it.each([
      ['a .pb source', Buffer.from(SAMPLE)],
      ['an ELF binary', Buffer.from('\x7fELF\x02\x01\x01\0\0\0\0\0', 'latin1')],
      ['another envelope kind', encodeEnvelope({ magic: 'PBSN', label: 'snapshot', version: 1, minReadable: 1 }, { x: 1 })],
      ['lower-case magic', Buffer.concat([Buffer.from('pbam'), bytes.subarray(4)])],
      ['a UTF-8 BOM before the magic', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes])],
    ])('%s', (_name, b) => {
      expect(formatError(b, String(_name)).message).toBe('not a PBAsm file (bad magic number)');
    });
  });

  describe('format versions', () => {
    it('refuses a file that needs a newer reader', () => {
      const newer = encodeEnvelope({ ...PBASM_FORMAT, version: PBASM_FORMAT.version + 1 }, program, PBASM_FORMAT.version + 1);
      expect(formatError(newer, 'too new').message).toBe(
        `PBAsm file is too new: it needs a reader of format version ${PBASM_FORMAT.version + 1} or later, this build reads version ${PBASM_FORMAT.version}`,
      );
    });

    it('refuses a file whose minCompatible is far in the future', () => {
      const newer = encodeEnvelope({ ...PBASM_FORMAT, version: 65535 }, program, 65535);
      expect(formatError(newer, 'too new').message).toMatch(/^PBAsm file is too new: it needs a reader of format version 65535 or later/);
    });

    it('reads a newer file that declares itself readable by this version', () => {
      const newer = encodeEnvelope({ ...PBASM_FORMAT, version: PBASM_FORMAT.version + 3 }, program, PBASM_FORMAT.minReadable);
      expect(decodeProgram(newer)).toStrictEqual(program);
    });

    it('refuses a file older than the oldest readable version', () => {
      const kind = { ...PBASM_FORMAT, version: 5, minReadable: 3 };
      const older = encodeEnvelope({ ...kind, version: 2 }, program, 1);
      expect(() => decodeEnvelope(kind, older)).toThrow('PBAsm file is too old: format version 2, this build reads versions 3 to 5');
    });

    it('refuses inconsistent version fields (minCompatible 0, or above the version)', () => {
      expect(formatError(encodeEnvelope({ ...PBASM_FORMAT, version: 0 }, program, 0), 'version 0').message).toBe(
        'corrupted PBAsm file: inconsistent version fields (version 0, minimum compatible 0)',
      );
    });
  });

  describe('trailing garbage', () => {
    it.each([1, 2, 100])('%i extra byte(s)', (n) => {
      const c = Buffer.concat([bytes, Buffer.alloc(n, 0x41)]);
      expect(formatError(c, `${n} trailing`).message).toMatch(new RegExp(`^corrupted PBAsm file: ${n} unexpected trailing bytes?$`));
    });

    it('two containers concatenated', () => {
      expect(formatError(Buffer.concat([bytes, bytes]), 'concatenated').message).toMatch(new RegExp(`^corrupted PBAsm file: ${bytes.length} unexpected trailing bytes$`));
    });
  });

  describe('a payload with a valid checksum that is not a program', () => {
    const raw = (payload: Buffer): Buffer => {
      const header = Buffer.alloc(HEADER_SIZE);
      header.write(PBASM_FORMAT.magic, 0, 'latin1');
      header.writeUInt16BE(PBASM_FORMAT.version, 4);
      header.writeUInt16BE(PBASM_FORMAT.version, 6);
      header.writeUInt32BE(payload.length, 8);
      sha256(Buffer.concat([header.subarray(0, 12), payload])).copy(header, 12);
      return Buffer.concat([header, payload]);
    };

    it('an empty payload', () => {
      expect(formatError(raw(Buffer.alloc(0)), 'empty payload').message).toMatch(/^corrupted PBAsm file: payload does not decode \(.+\)$/);
    });

    it('a cut msgpack map', () => {
      expect(formatError(raw(Buffer.from([0x85, 0xa1])), 'cut map').message).toMatch(/^corrupted PBAsm file: payload does not decode \(.+\)$/);
    });

    it('a payload with bytes after the msgpack value', () => {
      expect(formatError(raw(Buffer.from([0x01, 0x02])), 'two values').message).toMatch(/^corrupted PBAsm file: payload does not decode \(.+\)$/);
    });

    it.each([
      ['a number', 42],
      ['a list', []],
      ['null', null],
      ['a string', 'PBAM'],
    ])('%s at the top level', (_name, value) => {
      expect(formatError(encodeEnvelope(PBASM_FORMAT, value), String(_name)).message).toBe('invalid PBAsm program: top level is not an object');
    });
  });

  // Crafted with encodeEnvelope(PBASM_FORMAT, tampered): the checksum is right, the program is not.
  describe('a payload that passes the checksum but fails verification', () => {
    const tampered = (edit: (p: Program) => void): Buffer => {
      const p = clone();
      edit(p);
      return encodeEnvelope(PBASM_FORMAT, p);
    };
    const reject = (edit: (p: Program) => void, expected: string | RegExp) => {
      const message = formatError(tampered(edit), String(expected)).message;
      if (typeof expected === 'string') expect(message).toBe(expected);
      else expect(message).toMatch(expected);
    };

    it('an unknown opcode', () => {
      reject((p) => (main(p).code[0] = 250), 'invalid PBAsm program: Shop.Main: unknown opcode 250 at 0');
    });

    it('an opcode that is not an integer', () => {
      reject((p) => ((main(p).code as unknown[])[0] = 'CONST'), 'invalid PBAsm program: Shop.Main: code holds a non-integer');
    });

    it('a constant operand out of range', () => {
      let at = -1;
      let limit = 0;
      reject((p) => {
        const co = main(p);
        at = starts(co.code).find((pc) => co.code[pc] === op('CONST'))!;
        limit = co.consts.length;
        co.code[at + 1] = limit + 100;
      }, /^invalid PBAsm program: Shop\.Main: CONST at \d+: const operand \d+ out of range$/);
      expect(at).toBeGreaterThanOrEqual(0);
      const message = formatError(tampered((p) => (main(p).code[at + 1] = limit + 100)), 'const').message;
      expect(message).toBe(`invalid PBAsm program: Shop.Main: CONST at ${at}: const operand ${limit + 100} out of range`);
    });

    it('a negative and a fractional operand', () => {
      const co = main(program);
      const at = starts(co.code).find((pc) => co.code[pc] === op('CONST'))!;
      reject((p) => (main(p).code[at + 1] = -1), `invalid PBAsm program: Shop.Main: CONST at ${at}: bad const operand`);
      reject((p) => (main(p).code[at + 1] = 0.5), 'invalid PBAsm program: Shop.Main: code holds a non-integer');
    });

    it('a call-site operand out of range', () => {
      const co = main(program);
      const at = starts(co.code).find((pc) => co.code[pc] === op('CALL'))!;
      reject((p) => (main(p).code[at + 1] = co.calls.length), `invalid PBAsm program: Shop.Main: CALL at ${at}: call operand ${co.calls.length} out of range`);
    });

    it('a state name operand that points at a non-string constant', () => {
      const co = main(program);
      const at = starts(co.code).find((pc) => co.code[pc] === op('STORE_STATE'))!;
      const numeric = co.consts.findIndex((c) => typeof c === 'number');
      expect(numeric).toBeGreaterThanOrEqual(0);
      reject((p) => (main(p).code[at + 1] = numeric), `invalid PBAsm program: Shop.Main: STORE_STATE at ${at}: name operand ${numeric} is not a string constant`);
    });

    it('a jump into the middle of an instruction', () => {
      const co = main(program);
      const pcs = starts(co.code);
      const jump = pcs.find((pc) => co.code[pc] === op('JUMP_IF_FALSE') || co.code[pc] === op('JUMP'))!;
      const wide = pcs.find((pc) => width(co.code, pc) > 1 && pc !== jump)!;
      expect(jump).toBeGreaterThanOrEqual(0);
      reject((p) => (main(p).code[jump + 1] = wide + 1), `invalid PBAsm program: Shop.Main: jump to ${wide + 1} is not an instruction boundary`);
    });

    it('a jump past the end of the code', () => {
      const co = main(program);
      const jump = starts(co.code).find((pc) => co.code[pc] === op('JUMP'))!;
      reject((p) => (main(p).code[jump + 1] = co.code.length + 1), `invalid PBAsm program: Shop.Main: JUMP at ${jump}: target operand ${co.code.length + 1} out of range`);
    });

    it('an instruction cut off at the end of the code', () => {
      const co = main(program);
      reject((p) => {
        const c = main(p);
        c.code.push(op('CONST'));
        c.stepOf.push(c.stepOf[c.stepOf.length - 1]!);
      }, `invalid PBAsm program: Shop.Main: truncated instruction at ${co.code.length}`);
    });

    it('a step map that does not match the code', () => {
      reject((p) => main(p).stepOf.pop(), 'invalid PBAsm program: Shop.Main: step map does not match code length');
    });

    it('a step map entry out of range', () => {
      reject((p) => (main(p).stepOf[0] = 999), 'invalid PBAsm program: Shop.Main: step map entry out of range');
    });

    it('a missing code array', () => {
      reject((p) => delete (main(p) as Partial<CodeObject>).code, 'invalid PBAsm program: Shop.Main: missing code');
    });

    it('a step that names a source file that does not exist', () => {
      reject((p) => (main(p).steps[0]!.file = 5), 'invalid PBAsm program: Shop.Main: step file index out of range');
    });

    it('a missing compiler version', () => {
      reject((p) => delete (p as Partial<Program>).compiler, 'invalid PBAsm program: missing compiler version');
    });

    it('sources and files of different lengths', () => {
      reject((p) => p.sources.push('extra'), 'invalid PBAsm program: sources and files differ in length');
    });
  });

  // Tables the disassembler and the VM index into must be well-formed too: today these decode
  // "successfully" and then crash `pb disasm` with a TypeError (see the CLI test below).
  describe('a payload that passes the checksum but has malformed tables', () => {
    it.each([
      ['a null call-site entry', (p: Program) => (main(p).calls[0] = null as never)],
      ['a call site without kwnames', (p: Program) => delete (main(p).calls[0] as Partial<Program['agents'][0]['playbooks'][0]['calls'][0]>).kwnames],
      ['a null NL entry', (p: Program) => (main(p).nl[0] = null as never)],
      ['an NL entry whose text is a number', (p: Program) => (main(p).nl[0]!.text = 5 as never)],
      ['a null parameter', (p: Program) => (p.agents[0]!.playbooks.find((x) => x.name === 'Greet')!.params[0] = null as never)],
      ['a null source-file entry', (p: Program) => (p.files[0] = null as never)],
      ['a step without text', (p: Program) => delete (main(p).steps[0] as Partial<CodeObject['steps'][0]>).text],
      ['a trigger without text', (p: Program) => delete (main(p).triggers[0] as Partial<CodeObject['triggers'][0]>).text],
      ['a null code block', (p: Program) => (p.agents[0]!.blocks = [null as never])],
      ['a playbook without metadata', (p: Program) => delete (main(p) as Partial<CodeObject>).metadata],
      ['an agent without metadata', (p: Program) => delete (p.agents[0] as Partial<Program['agents'][0]>).metadata],
    ])('%s', (name, edit) => {
      const p = clone();
      edit(p);
      const err = formatError(encodeEnvelope(PBASM_FORMAT, p), String(name));
      expect(err.message).toMatch(/^invalid PBAsm program: /);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI. Needs the build (`npx tsc -p .`; `npm test` runs it first).

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

let dir = '';

/** Runs the CLI in the temp dir; async, so the CLI tests can run concurrently. */
function pb(...args: string[]): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ status, stdout, stderr });
    });
  });
}

const show = (r: Run) => `exit ${String(r.status)}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

/** One line, `file: error: message`, no stack trace. */
function expectOneLineError(r: Run, file: string, message: RegExp): void {
  expect(r.stderr, show(r)).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: error: `));
  expect(r.stderr.trimEnd().split('\n'), `expected exactly one line on stderr\n${show(r)}`).toHaveLength(1);
  expect(r.stderr, show(r)).toMatch(message);
  expect(r.stderr, `stack trace on stderr\n${show(r)}`).not.toMatch(/^\s+at .+[:(]\d+/m);
  expect(r.stdout, show(r)).toBe('');
}

const BAD = `# Shop
## Main
### Triggers
- At the beginning
### Steps
- Say "hi"
- Else
  - Say "x"
- Return 1
  - nested
`;

describe.concurrent('pb CLI and .pbasm files', () => {
  beforeAll(() => {
    expect(existsSync(CLI), `${CLI} is missing: build first with \`npx tsc -p .\` (npm test does this in pretest)`).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'pbvm-container-'));
    writeFileSync(join(dir, 'sample.pb'), SAMPLE);
    writeFileSync(join(dir, 'bad.pb'), BAD);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('`pb compile x.pb -o y.pbasm`, then `pb disasm y.pbasm` prints the listing of `pb disasm x.pb`', async () => {
    const compiled = await pb('compile', 'sample.pb', '-o', 'out.pbasm');
    expect(compiled.status, show(compiled)).toBe(0);
    expect(compiled.stderr).toMatch(/^sample\.pb -> out\.pbasm \(\d+ bytes; 0 errors, 0 warnings\)$/m);
    const [fromBinary, fromSource] = await Promise.all([pb('disasm', 'out.pbasm'), pb('disasm', 'sample.pb')]);
    expect(fromBinary.status, show(fromBinary)).toBe(0);
    expect(fromSource.status, show(fromSource)).toBe(0);
    expect(fromBinary.stdout).toBe(fromSource.stdout);
    expect(fromBinary.stdout).toMatch(/^; PBAsm listing/);
    // The file on disk is exactly what the in-process encoder writes for the same source.
    expect(decodeProgram(readFileSync(join(dir, 'out.pbasm')))).toStrictEqual(program);
  });

  it('`pb compile` without -o writes <name>.pbasm beside the source', async () => {
    const r = await pb('compile', 'sample.pb');
    expect(r.status, show(r)).toBe(0);
    expect(existsSync(join(dir, 'sample.pbasm'))).toBe(true);
  });

  // Metadata keys are user text: a key named __proto__ must not change what the compiler
  // writes, and what `pb compile` writes must load again.
  it.each([
    ['front matter with a __proto__ list', '---\n__proto__: [1, 2]\n---\n'],
    ['agent metadata with a __proto__ list', ''],
  ])('compile -> disasm also works for %s', async (name, front) => {
    const agentMeta = front ? '' : '__proto__: [1, 2]\n';
    const base = front ? 'proto-front' : 'proto-agent';
    writeFileSync(join(dir, `${base}.pb`), `${front}# Shop\n${agentMeta}\n## Main\n### Triggers\n- At the beginning\n### Steps\n- Say "hi"\n`);
    const compiled = await pb('compile', `${base}.pb`, '-o', `${base}.pbasm`);
    expect(compiled.status, show(compiled)).toBe(0);
    const [fromBinary, fromSource] = await Promise.all([pb('disasm', `${base}.pbasm`), pb('disasm', `${base}.pb`)]);
    expect(fromBinary.status, show(fromBinary)).toBe(0);
    expect(fromBinary.stdout).toBe(fromSource.stdout);
  });

  it('`pb disasm` of a corrupted file: exit 4, one line, no stack trace', async () => {
    const damaged = flipped(bytes, HEADER_SIZE + 10, 3);
    writeFileSync(join(dir, 'corrupted.pbasm'), damaged);
    const r = await pb('disasm', 'corrupted.pbasm');
    expect(r.status, show(r)).toBe(4);
    expectOneLineError(r, 'corrupted.pbasm', /^corrupted\.pbasm: error: corrupted PBAsm file: checksum mismatch$/m);
  });

  it('`pb disasm` of truncated, too-new, trailing-garbage and tampered files: exit 4 with the reason', async () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['truncated.pbasm', bytes.subarray(0, 30), /truncated PBAsm file \(header is incomplete\)/],
      ['cut.pbasm', bytes.subarray(0, bytes.length - 5), /truncated PBAsm file: expected \d+ payload bytes, found \d+/],
      ['newer.pbasm', encodeEnvelope({ ...PBASM_FORMAT, version: 9 }, program, 9), /PBAsm file is too new: it needs a reader of format version 9 or later/],
      ['trailing.pbasm', Buffer.concat([bytes, Buffer.from('junk')]), /corrupted PBAsm file: 4 unexpected trailing bytes/],
      ['opcode.pbasm', encodeEnvelope(PBASM_FORMAT, (() => { const p = clone(); main(p).code[0] = 250; return p; })()), /invalid PBAsm program: Shop\.Main: unknown opcode 250 at 0/],
      ['empty.pbasm', Buffer.alloc(0), /not a PBAsm file|truncated|empty/],
    ];
    for (const [name, content] of cases) writeFileSync(join(dir, name), content);
    const runs = await Promise.all(cases.map(([name]) => pb('disasm', name)));
    cases.forEach(([name, , message], i) => {
      expect(runs[i]!.status, `${name}\n${show(runs[i]!)}`).toBe(4);
      expectOneLineError(runs[i]!, name, message);
    });
  });

  it('`pb disasm` of a file whose tables are malformed (checksum valid): exit 4, one line, no stack trace', async () => {
    const p = clone();
    main(p).calls[0] = null as never;
    writeFileSync(join(dir, 'tables.pbasm'), encodeEnvelope(PBASM_FORMAT, p));
    const r = await pb('disasm', 'tables.pbasm');
    expect(r.status, show(r)).toBe(4);
    expectOneLineError(r, 'tables.pbasm', /invalid PBAsm program/);
  });

  it('`pb check` on a file with errors: exit 1, `file:line:col: error:` lines and a code frame', async () => {
    const r = await pb('check', 'bad.pb');
    expect(r.status, show(r)).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("bad.pb:7:3: error: 'Else' without a matching 'If' before it at the same level\n 7 | - Else\n   |   ^^^^\n");
    expect(r.stderr).toContain('bad.pb:10:5: error: Return cannot have nested steps\n 10 |   - nested\n    |     ^^^^^^\n');
    for (const line of r.stderr.split('\n').filter((l) => l.includes(': error: '))) expect(line).toMatch(/^bad\.pb:\d+:\d+: error: \S/);
    expect(r.stderr).toMatch(/^1 file checked: 2 errors, 0 warnings$/m);
    expect(r.stderr).not.toMatch(/^\s+at .+[:(]\d+/m);
  });

  it('`pb check --json` prints parseable JSON on stdout', async () => {
    const [r, ok] = await Promise.all([pb('check', '--json', 'bad.pb'), pb('check', '--json', 'sample.pb')]);
    expect(r.status, show(r)).toBe(1);
    const parsed = JSON.parse(r.stdout) as { files: Array<{ diagnostics: Array<Record<string, unknown>> }> };
    const diagnostics = parsed.files[0]!.diagnostics;
    expect(diagnostics).toHaveLength(2);
    expect(diagnostics[0]).toMatchObject({ severity: 'error', code: 'else-without-if', file: 'bad.pb', line: 7, col: 3 });
    for (const d of diagnostics) expect(Object.keys(d).sort()).toEqual(['code', 'col', 'file', 'length', 'line', 'message', 'severity']);

    expect(ok.status, show(ok)).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ files: [{ file: 'sample.pb', status: 'ok', errors: 0, warnings: 0, diagnostics: [], message: null }], errors: 0, warnings: 0, unreadable: 0 });
  });

  it('`pb compile` of a file with errors exits 1 and writes nothing', async () => {
    const r = await pb('compile', 'bad.pb', '-o', 'bad.pbasm');
    expect(r.status, show(r)).toBe(1);
    expect(r.stderr).toMatch(/^bad\.pb:7:3: error: /m);
    expect(r.stderr).toMatch(/^bad\.pb: not compiled: 2 errors, 0 warnings$/m);
    expect(existsSync(join(dir, 'bad.pbasm'))).toBe(false);
  });

  it.each([
    ['check', 'missing.pb'],
    ['compile', 'missing.pb'],
    ['disasm', 'missing.pb'],
    ['disasm', 'missing.pbasm'],
  ])('`pb %s %s` (no such file): exit 4 with a clear one-line error', async (cmd, file) => {
    const r = await pb(cmd, file);
    expect(r.status, show(r)).toBe(4);
    expectOneLineError(r, file, new RegExp(`^${file.replace('.', '\\.')}: error: cannot read file: (ENOENT|no such file)`, 'im'));
  });

  it('`pb disasm` of a directory: exit 4 with a one-line error', async () => {
    mkdirSync(join(dir, 'adir.pbasm'), { recursive: true });
    const r = await pb('disasm', 'adir.pbasm');
    expect(r.status, show(r)).toBe(4);
    expectOneLineError(r, 'adir.pbasm', /cannot read file/);
  });

  it('`pb compile -o` into a missing directory: exit 4 with a one-line error', async () => {
    const r = await pb('compile', 'sample.pb', '-o', join('no', 'such', 'dir', 'x.pbasm'));
    expect(r.status, show(r)).toBe(4);
    expect(r.stderr).toMatch(/^no\/such\/dir\/x\.pbasm: error: cannot write/m);
    expect(r.stderr).not.toMatch(/^\s+at .+[:(]\d+/m);
  });

  it.each([
    [['bogus'], /unknown command 'bogus'/],
    [['check', '--bogus', 'sample.pb'], /unknown option '--bogus'/],
    [['--bogus'], /unknown option '--bogus'/],
    [['check'], /missing required argument/],
    [['disasm', 'a.pbasm', 'b.pbasm'], /too many arguments|unknown|excess/i],
  ])('usage error %j: exit 2', async (args, message) => {
    const r = await pb(...(args as string[]));
    expect(r.status, show(r)).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
