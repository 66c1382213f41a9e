// Renders the source line under a `file:line:col: severity: message` header with a caret
// underline. Shared by compile-time diagnostics and runtime errors so both look alike.

const WINDOW = 120;

export function codeFrame(lineText: string | undefined, line: number, col: number, length: number): string {
  if (lineText === undefined) return '';
  let shown = lineText.replace(/\t/g, ' ');
  if (shown.length > WINDOW) {
    // Show a window of a long line around the column, marked with ellipses.
    const start = Math.max(0, Math.min(col - 1 - 40, shown.length - WINDOW));
    const clipped = shown.slice(start, start + WINDOW);
    shown = (start > 0 ? '…' : '') + clipped + (start + WINDOW < shown.length ? '…' : '');
    col = col - start + (start > 0 ? 1 : 0);
    length = Math.min(length, WINDOW);
  }
  const gutter = String(line);
  const pad = ' '.repeat(gutter.length);
  const c = Math.max(1, Math.min(col, shown.length + 1));
  const width = Math.max(1, Math.min(length, shown.length - c + 1));
  return `\n ${gutter} | ${shown}\n ${pad} | ${' '.repeat(c - 1)}${'^'.repeat(width)}`;
}
