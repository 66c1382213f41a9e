// pb library list | show | approve | reject | export
import { writeSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { writeStderr } from '../console-io.js';
import { DEFAULT_LIBRARY_DIR, LIBRARY_STATUSES, LibraryError, LocalDirLibrary, type LibraryEntry, type LibraryStatus } from '../library.js';
import { EXIT } from './exit-codes.js';

interface LibraryFlags {
  library?: string;
}

function open(opts: LibraryFlags): LocalDirLibrary {
  return new LocalDirLibrary(opts.library ?? DEFAULT_LIBRARY_DIR);
}

/** Runs a command body; a library problem (unknown id, corrupt file, lock) is exit 4. */
function guard(body: () => void): void {
  try {
    body();
    process.exitCode ??= EXIT.ok;
  } catch (err) {
    if (err instanceof ClosedPipe) return;
    if (!(err instanceof LibraryError)) throw err;
    writeStderr(err.message);
    process.exitCode = EXIT.io;
  }
}

/** The entry for an id or a unique prefix of at least 4 hex digits. */
function entryFor(lib: LocalDirLibrary, ref: string): LibraryEntry {
  const id = lib.resolveId(ref);
  const entry = id === undefined ? undefined : lib.get(id);
  if (!entry) throw new LibraryError(`error: no library entry '${ref}'`);
  return entry;
}

function libraryOption(cmd: Command): Command {
  return cmd.option('--library <dir>', `library directory (default: ${DEFAULT_LIBRARY_DIR})`);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n');
}

class ClosedPipe extends Error {}

/** Writes synchronously (nothing is lost at exit); a reader that went away (`| head`) ends quietly. */
function write(text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off, buf.length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') throw new ClosedPipe();
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
}

function out(text: string): void {
  write(text.endsWith('\n') ? text : `${text}\n`);
}

export function registerLibraryCommands(program: Command): void {
  const library = program
    .command('library')
    .description('the playbook library: generated playbooks kept for reuse');

  libraryOption(
    library
      .command('list')
      .description('list library entries, most recently updated first')
      .addOption(new Option('--status <status>', 'only entries with this status').choices(LIBRARY_STATUSES as string[]))
      .option('--json', 'print the entries as JSON'),
  ).action((opts: LibraryFlags & { status?: LibraryStatus; json?: boolean }) =>
    guard(() => {
      const rows = open(opts).list({ status: opts.status });
      if (opts.json) {
        out(JSON.stringify(rows.map(({ tokens: _tokens, ...r }) => r), null, 2));
        return;
      }
      if (rows.length === 0) {
        writeStderr(`pb: no library entries${opts.status ? ` with status ${opts.status}` : ''} in ${opts.library ?? DEFAULT_LIBRARY_DIR}`);
        return;
      }
      out(table([['ID', 'STATUS', 'S/F', 'NAME', 'GOAL'], ...rows.map((r) => [r.id, r.status, `${r.successes}/${r.failures}`, r.name, r.goal.replace(/\s+/g, ' ')])]));
    }),
  );

  libraryOption(
    library
      .command('show')
      .description('show every field of a library entry, then its source')
      .argument('<id>', 'entry id (or a unique prefix of at least 4 characters)')
      .option('--json', 'print the entry as JSON'),
  ).action((ref: string, opts: LibraryFlags & { json?: boolean }) =>
    guard(() => {
      const e = entryFor(open(opts), ref);
      if (opts.json) {
        out(JSON.stringify(e, null, 2));
        return;
      }
      const p = e.provenance;
      const fields: Array<[string, string]> = [
        ['id', e.id],
        ['status', e.status],
        ['goal', e.goal],
        ['goal key', e.goalKey],
        ['name', e.name],
        ['agent', e.agent || '-'],
        ['successes', String(e.successes)],
        ['failures', String(e.failures)],
        ['created', e.created],
        ['updated', e.updated],
        ['run', p.runId ?? '-'],
        ['model', p.model ?? '-'],
        ['parent', p.parent ?? '-'],
        ...(p.replaces ? [['replaces', p.replaces] as [string, string]] : []),
        ['generated', p.created],
        ['source sha256', e.sourceSha256],
      ];
      const w = Math.max(...fields.map(([k]) => k.length)) + 1;
      out(`${fields.map(([k, v]) => `${`${k}:`.padEnd(w)} ${v}`).join('\n')}\n\n${e.source}`);
    }),
  );

  for (const [verb, status] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    libraryOption(
      library
        .command(verb)
        .description(`mark a library entry ${status}`)
        .argument('<id>', 'entry id (or a unique prefix of at least 4 characters)'),
    ).action((ref: string, opts: LibraryFlags) =>
      guard(() => {
        const lib = open(opts);
        const e = lib.setStatus(entryFor(lib, ref).id, status);
        out(`${e.id} ${e.status}: ${e.name}`);
      }),
    );
  }

  libraryOption(
    library
      .command('export')
      .description('print the source of a library entry (pb library export ID > file.pb)')
      .argument('<id>', 'entry id (or a unique prefix of at least 4 characters)'),
  ).action((ref: string, opts: LibraryFlags) =>
    guard(() => {
      write(entryFor(open(opts), ref).source);
    }),
  );
}
