/** Tables and numbers as they appear both on stdout and in RESULTS.md. */

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** Lines printed under the table: conventions, caveats, skip reasons. */
  notes: string[];
}

/** A markdown table padded to aligned columns, so stdout and the file read the same. */
export function markdownTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const rule = `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`;
  return [line(table.columns), rule, ...table.rows.map(line)].join('\n');
}

export function section(table: Table): string {
  const notes = table.notes.length > 0 ? `\n\n${table.notes.join('\n')}` : '';
  return `## ${table.title}\n\n${markdownTable(table)}${notes}\n`;
}

/** Three significant digits, without exponent notation in the usual ranges. */
export function num(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 10 ** digits) return Math.round(value).toLocaleString('en-US');
  if (magnitude < 1e-3) return value.toExponential(digits - 1);
  return Number(value.toPrecision(digits)).toString();
}

/** Relative errors span many decades; they always read as exponents. */
export function err(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  return value === 0 ? '0' : value.toExponential(1);
}

/** numerator / denominator as a factor, n/a when either is missing. */
export function factor(numerator: number | null | undefined, denominator: number | null | undefined): string {
  if (!numerator || !denominator) return 'n/a';
  return `${num(numerator / denominator)}×`;
}

/** How many times faster ours is: peer time / our time. */
export const ratio = (peerSeconds: number | null | undefined, oursSeconds: number | null | undefined) => factor(peerSeconds, oursSeconds);
