// The live status line on stderr (model calls, tokens, time). It shares the terminal with the
// program's output and the user's typing, so every other write goes around it: clear the line,
// write, draw it again. Before input is read it is cleared and stays away until the next write
// or model call, so the user types on a clean line.

/** A status line only on a terminal that wants one: stderr is a TTY, NO_COLOR unset, TERM not dumb. */
export function statusLineWanted(env: NodeJS.ProcessEnv, stderrIsTTY: boolean): boolean {
  return stderrIsTTY && !env.NO_COLOR && env.TERM !== 'dumb';
}

const CLEAR = '\r\x1b[K';

export class StatusLine {
  private text = '';
  private shown = false;

  constructor(
    private readonly write: (s: string) => void,
    /** Terminal width; a longer line would wrap and could then not be cleared. */
    private readonly columns: () => number | undefined,
  ) {}

  show(text: string): void {
    this.text = text;
    this.draw();
  }

  /** Runs another write with the line cleared before and drawn again after. */
  around<T>(write: () => T): T {
    this.hide();
    try {
      return write();
    } finally {
      this.draw();
    }
  }

  /** Clears the line until the next show() or write (used before reading input). */
  hide(): void {
    if (!this.shown) return;
    this.write(CLEAR);
    this.shown = false;
  }

  /** Clears it for good (end of the run). */
  close(): void {
    this.hide();
    this.text = '';
  }

  private draw(): void {
    if (!this.text) return;
    const width = Math.max((this.columns() ?? 80) - 1, 10);
    const line = this.text.length > width ? `${this.text.slice(0, width - 1)}…` : this.text;
    this.write(`${CLEAR}${line}`);
    this.shown = true;
  }
}

let active: StatusLine | undefined;

/** The status line of this process's run, if any; console writes go around it. */
export function setStatusLine(line: StatusLine | undefined): void {
  active = line;
}

export function aroundStatusLine<T>(write: () => T): T {
  return active ? active.around(write) : write();
}

export function hideStatusLine(): void {
  active?.hide();
}

export function closeStatusLine(): void {
  active?.close();
  active = undefined;
}
