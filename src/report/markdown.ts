/** report.md: the training report for terminals and pull requests (the charts are in report.html). */
import { sampleNote } from './charts';
import type { ReportDocument } from './report';
import { num } from './summary';

const cell = (v: number | null | undefined, digits = 4) => (v === null || v === undefined ? '' : num(v, digits));
/** Text from the data (column names, hosts) as Markdown shows it literally: no markup, HTML or line breaks. */
const escape = (text: string) =>
  text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;');

export function reportMarkdown(report: ReportDocument): string {
  const m = report.model;
  const s = m.statistics;
  const out: string[] = [`# Training report: ${escape(m.label_name)}`, '', `Generated ${report.generated_at} (${report.format} version ${report.version}).`, ''];
  if (report.warnings.length > 0) {
    out.push('## Warnings', '', ...report.warnings.map((w) => `- ${escape(w)}`), '');
  }
  out.push('## Summary', '', '```text', report.summary, '```', '');
  out.push('## Metrics', '', '| channel | rows | mse | rmse | r2 | mae |', '|---|--:|--:|--:|--:|--:|');
  for (const c of report.channels) {
    out.push(`| ${escape(c.channel)} | ${c.rows ?? ''} | ${cell(c.mse)} | ${cell(c.rmse)} | ${cell(c.r2)} | ${cell(c.mae)} |`);
  }
  out.push('');
  const ci = s.conf_int ?? null;
  const level = ci ? `${Math.round(ci.level * 1000) / 10}%` : '';
  const vif = s.vif ?? [];
  out.push('## Coefficients', '');
  out.push(`| parameter | coef | std err | p | ${ci ? `${level} lower | ${level} upper | ` : ''}VIF |`, `|---|--:|--:|--:|${ci ? '--:|--:|' : ''}--:|`);
  const line = (name: string, coef: number, i: number | 'intercept', aliased: boolean) => {
    const pick = (p: { intercept: number | null; coefficients: (number | null)[] }) => (i === 'intercept' ? p.intercept : p.coefficients[i]);
    const cells = aliased ? ['0 (aliased)', '', ''] : [cell(coef), cell(pick(s.std_errors)), cell(pick(s.p_values), 3)];
    if (ci) cells.push(aliased ? '' : cell(pick(ci.lower)), aliased ? '' : cell(pick(ci.upper)));
    cells.push(i === 'intercept' ? '' : cell(vif[i], 2));
    out.push(`| ${escape(name)} | ${cells.join(' | ')} |`);
  };
  if (m.fit_intercept) line('intercept', m.intercept, 'intercept', false);
  m.feature_names.forEach((name, i) => line(name, m.coefficients[i], i, m.aliased[i]));
  out.push('');
  if (m.cv) {
    out.push(
      '## Cross-validation',
      '',
      `${m.cv.folds}-fold cross-validation over ${m.cv.grid.length} values of ${m.cv.parameter}: ${m.cv.parameter}=${num(m.cv.chosen)} ` +
        `(least CV mse, fitted); one-standard-error choice ${m.cv.parameter}=${num(m.cv.one_standard_error)}.`,
      '',
    );
  }
  const hosts = m.training?.hosts ?? [];
  if (hosts.length > 1) {
    out.push('## Hosts', '', `${m.training?.distribution}; the hosts' sums were merged exactly.`, '', '| host | rows | MB |', '|---|--:|--:|');
    for (const h of hosts) out.push(`| ${escape(h.host)} | ${h.rows} | ${(h.bytes / 1e6).toFixed(1)} |`);
    out.push('');
  }
  out.push('## Charts', '', `report.html, next to this file, has the charts. ${sampleNote(report)}`, '');
  return out.join('\n');
}
