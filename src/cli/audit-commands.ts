// pb audit DIR: the plans of a run's enforced procedures, as a table or JSON. This is the
// audit trail: every step's status, times, tool calls (with argument digests) and violations.
import type { Command } from 'commander';
import { auditRun, StateError } from '../run.js';
import { OutputClosed, writeOut, writeStderr } from '../console-io.js';
import { EXIT } from './exit-codes.js';
import type { PlanExecution, StepExecution, ToolCallRecord } from '../../vm/plan.js';

export function registerAuditCommands(program: Command): void {
  program
    .command('audit')
    .description("print the plans of a run's enforced procedures: step statuses, tool calls and violations")
    .argument('<dir>', 'state directory of a run (pb run --state DIR)')
    .option('--json', 'print as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      try {
        const r = await auditRun(dir);
        if (opts.json) {
          writeOut(JSON.stringify(r, null, 2));
          return;
        }
        const lines = [`run ${r.runId} in ${r.dir}: ${r.status}${r.waitingOn ? `, waiting on ${r.waitingOn}` : r.lastEffect ? ` (last effect: ${r.lastEffect})` : ''}; ${r.plans.length} plan${r.plans.length === 1 ? '' : 's'}`];
        for (const p of r.plans) lines.push('', ...planTable(p));
        writeOut(lines.join('\n'));
      } catch (err) {
        if (err instanceof OutputClosed) return;
        if (!(err instanceof StateError)) throw err;
        writeStderr(err.message);
        process.exitCode = EXIT.io;
      }
    });
}

/** One plan: a header line, then one row per step (and its violations beneath). */
export function planTable(p: PlanExecution): string[] {
  const rules = `strict_sequence ${p.strictSequence ? 'on' : 'off'}, extra tools ${p.allowExtraTools ? 'allowed' : 'rejected'}, ${p.iterations}/${p.maxIterations} model turns`;
  const out = [`plan ${p.planId}${p.version ? ` v${p.version}` : ''} (${p.agent}.${p.playbook}): ${p.status}; started ${p.startedAt}${p.finishedAt ? `, finished ${p.finishedAt}` : ''}; ${rules}`];
  const rows = p.steps.map((s, i) => [String(i + 1), s.id, s.status, time(s.startedAt), time(s.completedAt), calls(s.toolCalls)]);
  const head = ['#', 'STEP', 'STATUS', 'STARTED', 'COMPLETED', 'TOOL CALLS'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const row = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  out.push(row(head));
  p.steps.forEach((s, i) => {
    out.push(row(rows[i]!));
    out.push(...notes(s));
  });
  if (p.outside.length) out.push(`  outside the steps: ${calls(p.outside)}`);
  for (const v of p.violations) out.push(`  violation (${v.kind}): ${v.message}`);
  return out;
}

function notes(s: StepExecution): string[] {
  const out: string[] = [];
  for (const v of s.violations) out.push(`     violation (${v.kind}): ${v.message}`);
  for (const e of s.errors) out.push(`     note: ${e}`);
  return out;
}

function calls(cs: ToolCallRecord[]): string {
  if (cs.length === 0) return '-';
  return cs.map((c) => `${c.tool}#${c.argsDigest.slice(0, 8)} ${c.outcome}${c.extra ? ' (extra)' : ''}${c.by === 'model' ? '' : ' [code]'}`).join(', ');
}

function time(at: string | null): string {
  return at ? at.slice(11, 19) : '-';
}
