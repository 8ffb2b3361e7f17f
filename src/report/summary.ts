/** A statsmodels-style regression summary, printed at the end of training. */
import type { CrossValidation, ModelDocument, PerParameter } from '../model/model';

/** What the summary reads of a model: everything but the serving internals. */
export type SummaryModel = Omit<ModelDocument, 'prediction' | 'inference'>;

const MIN_WIDTH = 78;
const CELL = 11;

export function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'nan';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  return abs >= 1e6 || abs < 1e-3 ? v.toExponential(digits - 1) : v.toFixed(digits);
}

/** Two label-value columns across `width`. */
function pair(width: number, left: [string, string], right: [string, string]): string {
  const half = Math.floor(width / 2);
  const l = left[0] + left[1].padStart(half - left[0].length - 2);
  return `${l}  ${right[0]}${right[1].padStart(width - half - 2 - right[0].length)}`;
}

function at(p: PerParameter, i: number | 'intercept'): number | null {
  return i === 'intercept' ? p.intercept : p.coefficients[i];
}

/** Words wrapped to `width`, the text's own indentation kept and continuation lines indented two more. */
function wrap(text: string, width: number): string[] {
  const indent = /^ */.exec(text)?.[0] ?? '';
  const lines: string[] = [];
  let line = indent;
  for (const word of text.trim().split(/ +/)) {
    if (line.trim().length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `${indent}  ${word}`;
    } else {
      line = line.trim().length > 0 ? `${line} ${word}` : `${line}${word}`;
    }
  }
  if (line.trim().length > 0) lines.push(line);
  return lines;
}

/**
 * statsmodels' OLS summary, as far as an exact streaming fit knows it: the
 * fit's figures, the coefficient table with confidence intervals, and the
 * residual diagnostics (from a row sample when the data was not kept).
 */
export function summaryTable(model: SummaryModel): string {
  const s = model.statistics;
  const names = model.feature_names;
  const nameWidth = Math.min(24, Math.max(9, ...names.map((n) => n.length))) + 2;
  const ci = s.conf_int ?? null;
  const headings = ['coef', 'std err', 't', 'P>|t|'];
  if (ci) headings.push(...ciHeadings(ci.level));
  const width = Math.max(MIN_WIDTH, nameWidth + CELL * headings.length);
  const row2 = (l: [string, string], r: [string, string]) => pair(width, l, r);
  const lines = [
    'Least Squares Regression Results'.padStart(Math.floor((width + 32) / 2)),
    '='.repeat(width),
    row2(['Dep. Variable:', model.label_name], ['R-squared:', num(s.r_squared, 3)]),
    row2(['Model:', estimatorName(model)], ['Adj. R-squared:', num(s.adj_r_squared, 3)]),
    row2(['No. Observations:', String(s.n)], ['F-statistic:', num(s.f_statistic, 4)]),
    row2(['Df Residuals:', String(s.df_resid)], ['Prob (F-statistic):', num(s.f_p_value, 3)]),
    row2(['Df Model:', String(s.df_model)], ['Log-Likelihood:', num(s.log_likelihood, 2)]),
    row2(['Rank:', String(s.rank)], ['AIC:', num(s.aic, 1)]),
    row2(['Covariance Type:', s.covariance_type], ['BIC:', num(s.bic, 1)]),
    row2(['Weights:', model.weight_column ? model.weight_column.name : 'none'], ['Residual Std. Error:', num(s.residual_std_error)]),
    row2(['Precision:', s.precision], ['RMSE:', num(s.rmse)]),
    '='.repeat(width),
  ];
  lines.push(''.padEnd(nameWidth) + headings.map((h) => h.padStart(CELL)).join(''), '-'.repeat(width));
  const row = (name: string, coef: number, i: number | 'intercept', aliased: boolean) => {
    const cells = aliased
      ? ['0', 'aliased', '', '']
      : [num(coef), num(at(s.std_errors, i)), num(at(s.t_values, i), 3), num(at(s.p_values, i), 3)];
    if (ci && !aliased) cells.push(num(at(ci.lower, i), 3), num(at(ci.upper, i), 3));
    lines.push(name.slice(0, nameWidth - 2).padEnd(nameWidth) + cells.map((c) => c.padStart(CELL)).join(''));
  };
  if (model.fit_intercept) row('intercept', model.intercept, 'intercept', false);
  names.forEach((name, i) => row(name, model.coefficients[i], i, model.aliased[i]));
  lines.push('='.repeat(width));
  lines.push(...diagnosticLines(model, width));
  const vif = s.vif ?? [];
  if (vif.some((v) => v !== null)) {
    const shown = names.flatMap((name, i) => (vif[i] === null || vif[i] === undefined ? [] : [`${name} ${num(vif[i], 2)}`]));
    lines.push(...wrap(`VIF: ${shown.join(', ')}`, width));
  }
  const aliased = names.filter((_, i) => model.aliased[i]);
  if (aliased.length > 0) {
    lines.push(...wrap(`Aliased (linear combinations of earlier columns, coefficient 0): ${aliased.join(', ')}`, width));
  }
  const bound = names.filter((_, i) => model.at_bound[i]);
  if (bound.length > 0) lines.push(...wrap(`Held at 0 by the non-negativity constraint: ${bound.join(', ')}`, width));
  if (!isLeastSquares(model)) {
    lines.push('Standard errors, t and p are not reported for penalised or constrained fits:', '  their estimates do not follow the classical sampling distribution.');
  }
  if (model.cv) lines.push(...crossValidationLines(model.cv).flatMap((line) => wrap(line, width)));
  const hosts = model.training?.hosts ?? [];
  if (hosts.length > 1) {
    const shares = hosts.map((h) => `${h.host} ${h.rows} rows (${(h.bytes / 1e6).toFixed(1)} MB)`).join(', ');
    lines.push(...wrap(`Hosts: ${shares}; ${model.training?.distribution}, merged exactly`, width));
  }
  return lines.join('\n');
}

/** `[0.025  0.975]` for a 95% interval. */
function ciHeadings(level: number): [string, string] {
  const tail = Number(((1 - level) / 2).toFixed(4));
  const fixed = (v: number) => v.toFixed(Math.max(3, String(tail).length - 2));
  return [`[${fixed(tail)}`, `${fixed(1 - tail)}]`];
}

/** statsmodels' bottom block: residual shape, autocorrelation and the condition number. */
function diagnosticLines(model: SummaryModel, width: number): string[] {
  const s = model.statistics;
  const r = s.residuals ?? null;
  const cond = ['Cond. No.:', num(s.condition_number, 3)] as [string, string];
  if (r === null) return [pair(width, ['Residual diagnostics:', 'n/a'], cond)];
  const lines = [
    pair(width, ['Omnibus:', num(r.omnibus, 3)], ['Durbin-Watson:', num(r.durbin_watson, 3)]),
    pair(width, ['Prob(Omnibus):', num(r.omnibus_p_value, 3)], ['Jarque-Bera (JB):', num(r.jarque_bera, 3)]),
    pair(width, ['Skew:', num(r.skew, 3)], ['Prob(JB):', num(r.jarque_bera_p_value, 3)]),
    pair(width, ['Kurtosis:', num(r.kurtosis, 3)], cond),
  ];
  if (r.source === 'sample') {
    const dw = r.durbin_watson === null ? '; Durbin-Watson needs every row in reading order' : '';
    const hosts = model.training?.hosts ?? [];
    const of = hosts.length > 1 ? `the ${hosts[0].rows} rows ${hosts[0].host} read (of ${s.n})` : `${s.n} training rows`;
    lines.push(
      ...wrap(
        `Residual diagnostics from a deterministic sample of ${r.rows} of ${of}: skew and kurtosis estimated from it, ` +
          `Omnibus and Jarque-Bera taken at n=${s.n}${dw}.`,
        width,
      ),
    );
  }
  return lines;
}

function isLeastSquares(model: SummaryModel): boolean {
  return model.l2 === 0 && model.l1 === 0 && model.wd === 0 && !model.non_negative;
}

function estimatorName(model: SummaryModel): string {
  const weighted = model.weight_column ? 'Weighted ' : '';
  if (model.non_negative) return `${weighted}Non-negative least squares`;
  if (model.l1 > 0 || model.wd > 0) return `${weighted}Elastic net (l1=${model.l1}, wd=${model.wd})`;
  if (model.l2 > 0) return `${weighted}Ridge (l2=${num(model.l2)})`;
  return model.weight_column ? 'WLS' : 'OLS';
}

/** The curve's minimum and the one-standard-error choice, as glmnet users read them. */
function crossValidationLines(cv: CrossValidation): string[] {
  const at = (value: number) => cv.grid.indexOf(value);
  const best = at(cv.chosen);
  const oneSe = at(cv.one_standard_error);
  return [
    `Cross-validation (${cv.folds} folds, ${cv.grid.length} values of ${cv.parameter}): least CV mse ${num(cv.mse[best])} ` +
      `(standard error ${num(cv.standard_error[best])}) at ${cv.parameter}=${num(cv.chosen)}, the value fitted;`,
    `  one-standard-error choice ${cv.parameter}=${num(cv.one_standard_error)} (CV mse ${num(cv.mse[oneSe])}).`,
  ];
}
