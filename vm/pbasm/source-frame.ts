// Renders the source line under a `file:line:col: severity: message` header with a caret
// underline. Shared by compile-time diagnostics and runtime errors so both look alike.

export function codeFrame(lineText: string | undefined, line: number, col: number, length: number): string {
  if (lineText === undefined) return '';
  const shown = lineText.replace(/\t/g, ' ');
  const gutter = String(line);
  const pad = ' '.repeat(gutter.length);
  const c = Math.max(1, Math.min(col, shown.length + 1));
  const width = Math.max(1, Math.min(length, shown.length - c + 1));
  return `\n ${gutter} | ${shown}\n ${pad} | ${' '.repeat(c - 1)}${'^'.repeat(width)}`;
}
