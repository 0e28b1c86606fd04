/**
 * `lockstep audit export`: the timeline and audit entries of a time range, from the table and the history archive
 * (`retention:`), as JSON Lines or CSV, filtered by environment and actor (`lambdas/promotion/audit-export.ts`).
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidInputError } from '../../lambdas/promotion/errors';
import { auditEntries, toCsv, toJsonLines, type AuditQuery } from '../../lambdas/promotion/audit-export';
import { adapters, connect, DATA_DIR_OPTION } from './connect';

export interface AuditExportOptions {
  from?: string;
  to?: string;
  environment?: string;
  actor?: string;
  format: string;
  output?: string;
  dataDir: string;
}

/** A `--from`/`--to` value: an ISO 8601 date or time. */
function time(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms))
    throw new InvalidInputError(
      `${option} ${value} is not a date or time; use ISO 8601, e.g. 2026-01-31 or 2026-01-31T18:00:00Z`,
    );
  return ms;
}

/** The body of `lockstep audit export`: the export as text. */
export async function auditExport(options: AuditExportOptions): Promise<string> {
  if (options.format !== 'jsonl' && options.format !== 'csv')
    throw new InvalidInputError(`--format ${options.format} is not supported; use jsonl or csv`);
  const from = time('--from', options.from);
  const to = time('--to', options.to);
  const query: AuditQuery = {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.actor ? { actor: options.actor } : {}),
  };
  connect(options.dataDir);
  const runtime = await adapters();
  const entries = await auditEntries(runtime.auditDependencies(), query);
  return options.format === 'csv' ? toCsv(entries) : toJsonLines(entries);
}

export function register(program: Command): void {
  const audit = program
    .command('audit')
    .description('the audit trail: timeline entries from the table and the archive');
  audit
    .command('export')
    .description('export timeline and audit entries (table and history archive) as JSON Lines or CSV')
    .option('--from <time>', 'first time included, ISO 8601 (default: the beginning)')
    .option('--to <time>', 'first time excluded, ISO 8601 (default: now)')
    .option('--environment <name>', 'only entries of this environment')
    .option('--actor <who>', 'only entries by this actor, e.g. ann@example.com or execution:<name>')
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--output <file>', 'write to this file instead of standard output')
    .option(...DATA_DIR_OPTION)
    .action(async (options: AuditExportOptions) => {
      const text = await auditExport(options);
      if (options.output) await writeFile(options.output, text);
      else process.stdout.write(text);
    });
}
