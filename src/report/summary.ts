/** A statsmodels-style regression summary, printed at the end of training. */
import type { CrossValidation, ModelDocument, PerParameter } from '../model/model';

const WIDTH = 78;

function num(v: number | null, digits = 4): string {
  if (v === null) return 'nan';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  return abs >= 1e6 || abs < 1e-3 ? v.toExponential(digits - 1) : v.toFixed(digits);
}

function pair(left: [string, string], right: [string, string]): string {
  const half = WIDTH / 2;
  const l = left[0] + left[1].padStart(half - left[0].length - 2);
  return `${l}  ${right[0]}${right[1].padStart(half - right[0].length)}`;
}

function at(p: PerParameter, i: number | 'intercept'): number | null {
  return i === 'intercept' ? p.intercept : p.coefficients[i];
}

export function summaryTable(model: ModelDocument): string {
  const s = model.statistics;
  const lines = [
    'Least Squares Regression Results'.padStart((WIDTH + 32) / 2),
    '='.repeat(WIDTH),
    pair(['Dep. Variable:', model.label_name], ['R-squared:', num(s.r_squared, 3)]),
    pair(['Model:', estimatorName(model)], ['Adj. R-squared:', num(s.adj_r_squared, 3)]),
    pair(['No. Observations:', String(s.n)], ['F-statistic:', num(s.f_statistic, 4)]),
    pair(['Df Residuals:', String(s.df_resid)], ['Prob (F-statistic):', num(s.f_p_value, 3)]),
    pair(['Df Model:', String(s.df_model)], ['Residual Std. Error:', num(s.residual_std_error)]),
    pair(['Rank:', String(s.rank)], ['RMSE:', num(s.rmse)]),
    pair(['Covariance Type:', s.covariance_type], ['Weights:', model.weight_column ? model.weight_column.name : 'none']),
    '='.repeat(WIDTH),
  ];
  const names = model.feature_names;
  const nameWidth = Math.min(24, Math.max(9, ...names.map((n) => n.length))) + 2;
  const header = ''.padEnd(nameWidth) + ['coef', 'std err', 't', 'P>|t|'].map((h) => h.padStart(14)).join('');
  lines.push(header, '-'.repeat(WIDTH));
  const row = (name: string, coef: number, i: number | 'intercept', aliased: boolean) => {
    const cells = aliased
      ? ['0', 'aliased', '', '']
      : [num(coef), num(at(s.std_errors, i)), num(at(s.t_values, i), 3), num(at(s.p_values, i), 3)];
    lines.push(name.slice(0, nameWidth - 2).padEnd(nameWidth) + cells.map((c) => c.padStart(14)).join(''));
  };
  if (model.fit_intercept) row('intercept', model.intercept, 'intercept', false);
  names.forEach((name, i) => row(name, model.coefficients[i], i, model.aliased[i]));
  lines.push('='.repeat(WIDTH));
  lines.push(`Condition No.: ${num(s.condition_number, 3)}    Precision: ${s.precision}`);
  const aliased = names.filter((_, i) => model.aliased[i]);
  if (aliased.length > 0) {
    lines.push(`Aliased (linear combinations of earlier columns, coefficient 0): ${aliased.join(', ')}`);
  }
  const bound = names.filter((_, i) => model.at_bound[i]);
  if (bound.length > 0) lines.push(`Held at 0 by the non-negativity constraint: ${bound.join(', ')}`);
  if (model.inference === null && !isLeastSquares(model)) {
    lines.push('Standard errors, t and p are not reported for penalised or constrained fits: their estimates do not follow the classical sampling distribution.');
  }
  if (model.cv) lines.push(...crossValidationLines(model.cv));
  const hosts = model.training?.hosts ?? [];
  if (hosts.length > 1) {
    const shares = hosts.map((h) => `${h.host} ${h.rows} rows (${(h.bytes / 1e6).toFixed(1)} MB)`).join(', ');
    lines.push(`Hosts: ${shares}; ${model.training?.distribution}, merged exactly`);
  }
  return lines.join('\n');
}

function isLeastSquares(model: ModelDocument): boolean {
  return model.l2 === 0 && model.l1 === 0 && model.wd === 0 && !model.non_negative;
}

function estimatorName(model: ModelDocument): string {
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
