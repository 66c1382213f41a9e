// The program's voice: stdout gets exactly the lines the program says, written
// synchronously so nothing is lost if the process exits right after. Input comes from
// stdin or an --input file, one line per Ask.
import { readFileSync, writeSync } from 'node:fs';
import type { RunnerIO } from '../vm/runner.js';
import { aroundStatusLine, hideStatusLine } from './status-line.js';
import { isSystemError, systemErrorText } from './io-errors.js';

/** stdout's reader went away (`pb run ... | head`): the run stops quietly and stays resumable. */
export class OutputClosed extends Error {}

/** The --input file cannot be read (missing, a directory, no permission). */
export class InputFileError extends Error {}

/**
 * A write that failed because the reader is gone (EPIPE): on stdout that ends the work with
 * OutputClosed; on stderr there is no one to tell, so the text is dropped (returns true).
 */
function closedPipe(fd: number, err: unknown): boolean {
  if ((err as NodeJS.ErrnoException)?.code !== 'EPIPE') return false;
  if (fd === 1) throw new OutputClosed('stdout was closed');
  return true;
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if (closedPipe(fd, err)) return;
      // A non-blocking pipe that is full: wait a moment and try again.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
}

export function writeStdout(lines: string[]): void {
  if (lines.length) writeAll(1, `${lines.join('\n')}\n`);
}

/** Text for stdout outside a run (reports); throws OutputClosed when stdout's reader is gone. */
export function writeOut(text: string): void {
  writeAll(1, text.endsWith('\n') ? text : `${text}\n`);
}

export function writeStderr(text: string): void {
  aroundStatusLine(() => writeAll(2, text.endsWith('\n') ? text : `${text}\n`));
}

/** Lines from a stream, read on demand; the stream is paused between reads. */
export class StreamLineReader {
  private buffer = '';
  private ended = false;
  private waiter: (() => void) | undefined;
  private attached = false;

  constructor(private readonly stream: NodeJS.ReadableStream & { pause(): unknown; resume(): unknown }) {}

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.stream.setEncoding?.('utf8');
    this.stream.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiter?.();
    });
    this.stream.on('end', () => {
      this.ended = true;
      this.waiter?.();
    });
    this.stream.on('error', () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  async readLine(): Promise<string | null> {
    this.attach();
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl).replace(/\r$/, '');
        this.buffer = this.buffer.slice(nl + 1);
        this.stream.pause();
        return line;
      }
      if (this.ended) {
        if (this.buffer.length === 0) return null;
        const line = this.buffer;
        this.buffer = '';
        return line;
      }
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        this.stream.resume();
      });
      this.waiter = undefined;
    }
  }
}

export class FileLineReader {
  private readonly lines: string[];
  private next: number;

  constructor(path: string, skip = 0) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (!isSystemError(err)) throw err;
      throw new InputFileError(`${path}: error: cannot read the input file: ${systemErrorText(err)}`);
    }
    this.lines = text.split(/\r?\n/);
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] === '') this.lines.pop();
    this.next = skip;
  }

  async readLine(): Promise<string | null> {
    return this.next < this.lines.length ? this.lines[this.next++]! : null;
  }
}

export function consoleIO(reader: { readLine(): Promise<string | null> }): RunnerIO {
  // The live status line (src/status-line.ts) steps aside for output and for the user's typing.
  return {
    writeLines: (lines) => aroundStatusLine(() => writeStdout(lines)),
    readLine: () => {
      hideStatusLine();
      return reader.readLine();
    },
  };
}
