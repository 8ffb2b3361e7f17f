/**
 * report.html: one self-contained page (styles and charts inline, no script,
 * nothing fetched). Each chart is a
 * `<figure class="chart" id="chart-NAME"><svg>…</svg><figcaption>…</figcaption></figure>`.
 */
import { renderCharts, sampleNote } from './charts';
import type { ReportDocument } from './report';
import { num } from './summary';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const STYLE = `
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #2f6db5; --paper: #f8fafc; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--paper); color: var(--ink); font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 32px 28px 48px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 18px; margin: 32px 0 12px; }
.subtitle { color: var(--muted); margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 0 0 8px; }
.card { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.warnings { background: #fff8e6; border: 1px solid #f3d27a; border-left: 5px solid #d99a00; border-radius: 6px; padding: 12px 18px; margin: 20px 0; }
.warnings h2 { margin: 0 0 6px; font-size: 15px; }
.warnings ul { margin: 0; padding-left: 20px; }
pre.summary { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; overflow-x: auto; font: 12.5px/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
table.metrics { border-collapse: collapse; background: white; border: 1px solid var(--line); min-width: 60%; }
table.metrics th, table.metrics td { padding: 7px 14px; border-bottom: 1px solid var(--line); text-align: right; font-variant-numeric: tabular-nums; }
table.metrics th:first-child, table.metrics td:first-child { text-align: left; }
table.metrics thead th { background: #f1f5f9; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 18px; }
figure.chart { margin: 0; background: white; border: 1px solid var(--line); border-radius: 8px; padding: 14px; }
figure.chart h3 { font-size: 15px; margin: 0 0 8px; }
figure.chart svg { display: block; width: 100%; height: auto; max-width: 100%; }
figure.chart figcaption { color: var(--muted); font-size: 13px; margin-top: 8px; }
.note { color: var(--muted); font-size: 13px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 12px; }
@media (max-width: 560px) { .charts { grid-template-columns: 1fr; } main { padding: 18px 12px; } }
@media print { body { background: white; } figure.chart { break-inside: avoid; } }
`;

function card(label: string, value: string): string {
  return `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(value)}</div></div>`;
}

const cell = (v: number | null | undefined, digits = 4) => (v === null || v === undefined ? '—' : num(v, digits));

export function reportHtml(report: ReportDocument): string {
  const m = report.model;
  const s = m.statistics;
  const charts = renderCharts(report);
  const validation = report.channels.find((c) => c.channel === 'validation');
  const cards = [
    card('training rows', String(s.n)),
    card('features', String(m.feature_names.length)),
    card('R²', cell(s.r_squared, 3)),
    card('train RMSE', cell(s.rmse)),
    ...(validation ? [card('validation RMSE', cell(validation.rmse))] : []),
    card('precision', s.precision),
  ];
  const warnings =
    report.warnings.length === 0
      ? ''
      : `<section class="warnings" aria-label="warnings"><h2>Warnings</h2><ul>${report.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></section>`;
  const metricRows = report.channels
    .map((c) => `<tr><td>${escapeHtml(c.channel)}</td><td>${c.rows ?? '—'}</td><td>${cell(c.mse)}</td><td>${cell(c.rmse)}</td><td>${cell(c.r2)}</td><td>${cell(c.mae)}</td></tr>`)
    .join('\n');
  const figures = charts
    .map(
      (c) =>
        `<figure class="chart" id="chart-${c.name}">\n<h3>${escapeHtml(c.title)}</h3>\n${c.svg}\n<figcaption>${escapeHtml(c.caption)}</figcaption>\n</figure>`,
    )
    .join('\n');
  const title = `Training report: ${m.label_name}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="subtitle">${escapeHtml(modelLine(report))} · generated ${escapeHtml(report.generated_at)}</p>
</header>
<section class="cards" aria-label="key figures">${cards.join('')}</section>
${warnings}
<h2>Summary</h2>
<pre class="summary">${escapeHtml(report.summary)}</pre>
<h2>Metrics by channel</h2>
<table class="metrics">
<thead><tr><th>channel</th><th>rows</th><th>mse</th><th>rmse</th><th>r²</th><th>mae</th></tr></thead>
<tbody>
${metricRows}
</tbody>
</table>
<h2>Charts</h2>
<p class="note">${escapeHtml(sampleNote(report))}</p>
<div class="charts">
${figures}
</div>
<footer>${escapeHtml(report.format)} version ${report.version}; the same content is in report.json and report.md next to this file.</footer>
</main>
</body>
</html>
`;
}

function modelLine(report: ReportDocument): string {
  const m = report.model;
  const features = m.feature_names.length;
  const shown = m.feature_names.slice(0, 6).join(' + ') + (features > 6 ? ` + … (${features} features)` : '');
  return `${m.label_name} ~ ${m.fit_intercept ? '1 + ' : ''}${shown}`;
}
