//! Which estimator a fit is, and the one place that runs it on a factor.
//!
//! Every estimator is solved from the same R factor of `[1, X, y]`: least
//! squares and ridge by the rank-revealing solve, the elastic net and
//! non-negative least squares on the slopes' block left once the unpenalised
//! intercept is eliminated (`solve::reduce`). So one pass over the data
//! serves them all, and every fold and penalty of a cross-validation.

use crate::accumulate::Factor;
use crate::error::CoreError;
use crate::estimate::{elastic_net, non_negative, Problem};
use crate::scalar::Scalar;
use crate::solve::{from_slopes, reduce, solve, Fit, Precision, Reduced};

/// Penalties and constraints of a fit, in the users' terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Penalties {
    /// Ridge: ‖y − Xb‖² + l2‖b‖² (scikit-learn `Ridge`).
    pub l2: f64,
    /// Elastic net: (1/(2n))‖y − Xb‖² + l1‖b‖₁ + (wd/2)‖b‖² (scikit-learn `ElasticNet`);
    /// weighted, (1/(2Σw))Σw·r² + ... (scikit-learn's `sample_weight`).
    pub l1: f64,
    pub wd: f64,
    /// Slopes ≥ 0 (scikit-learn `positive=True`).
    pub non_negative: bool,
}

impl Default for Penalties {
    fn default() -> Self {
        Penalties { l2: 0.0, l1: 0.0, wd: 0.0, non_negative: false }
    }
}

impl Penalties {
    pub fn validate(&self) -> Result<(), CoreError> {
        for (name, value) in [("l2", self.l2), ("l1", self.l1), ("wd", self.wd)] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(CoreError::InvalidArgument(format!("{name} must be a finite number >= 0, got {value}")));
            }
        }
        if self.l2 > 0.0 && (self.l1 > 0.0 || self.wd > 0.0) {
            return Err(CoreError::InvalidArgument(format!(
                "l2={} is the ridge penalty on the scale of ‖y − Xb‖², l1 and wd the elastic net's on (1/(2n))‖y − Xb‖²; \
                 set one of them (l2 = n·wd)",
                self.l2
            )));
        }
        if self.non_negative && (self.l2 > 0.0 || self.l1 > 0.0 || self.wd > 0.0) {
            return Err(CoreError::InvalidArgument("non_negative is fitted without penalties; set l1, wd and l2 to 0".into()));
        }
        Ok(())
    }
}

/// What produced a fit's coefficients.
#[derive(Clone, Debug, PartialEq)]
pub enum Estimator {
    LeastSquares,
    Ridge {
        l2: f64,
    },
    ElasticNet {
        l1: f64,
        wd: f64,
    },
    /// `at_bound[j]`: slope j is held at 0 by its constraint.
    NonNegative {
        at_bound: Vec<bool>,
    },
}

impl Estimator {
    pub fn ridge(l2: f64) -> Self {
        if l2 > 0.0 {
            Estimator::Ridge { l2 }
        } else {
            Estimator::LeastSquares
        }
    }

    /// The ridge penalty on the scale of ‖y − Xb‖² (0 unless ridge).
    pub fn l2(&self) -> f64 {
        match self {
            Estimator::Ridge { l2 } => *l2,
            _ => 0.0,
        }
    }

    /// The elastic net's (l1, wd); zeros unless an elastic net.
    pub fn elastic_net(&self) -> (f64, f64) {
        match self {
            Estimator::ElasticNet { l1, wd } => (*l1, *wd),
            _ => (0.0, 0.0),
        }
    }

    /// The slopes held at 0 by their constraint; empty unless non-negative.
    pub fn at_bound(&self) -> &[bool] {
        match self {
            Estimator::NonNegative { at_bound } => at_bound,
            _ => &[],
        }
    }

    pub fn is_non_negative(&self) -> bool {
        matches!(self, Estimator::NonNegative { .. })
    }

    /// Whether classical standard errors and tests describe the estimates.
    pub fn is_least_squares(&self) -> bool {
        *self == Estimator::LeastSquares
    }
}

/// Fits `factor` with `penalties`.
pub fn fit_factor<T: Scalar>(factor: &Factor<T>, penalties: Penalties, precision: Precision) -> Result<Fit, CoreError> {
    // A stopped job's factor holds only the segments ended before the stop: never solved.
    crate::cancel::check()?;
    penalties.validate()?;
    if penalties.non_negative {
        let reduced = reduce(factor);
        let solution = non_negative(&problem(&reduced))?;
        let mut fit = from_slopes(factor, &solution.coefficients, precision)?;
        fit.estimator = Estimator::NonNegative { at_bound: solution.at_bound };
        return Ok(fit);
    }
    if penalties.l1 > 0.0 {
        let reduced = reduce(factor);
        // In the factor's units (x'_j = x_j·s_j, y' = y·s_y, so b_j = b'_j·s_j/s_y) the
        // objective times s_y² has l1·s_y·s_j on |b'_j| and wd·s_j² on b'_j².
        let s_y = reduced.label_scale;
        let l1: Vec<f64> = reduced.slope_scale.iter().map(|s| penalties.l1 * s_y * s).collect();
        let wd: Vec<f64> = reduced.slope_scale.iter().map(|s| penalties.wd * s * s).collect();
        let solution = elastic_net(&problem(&reduced), &l1, &wd, None)?;
        let mut fit = from_slopes(factor, &solution.coefficients, precision)?;
        fit.estimator = Estimator::ElasticNet { l1: penalties.l1, wd: penalties.wd };
        return Ok(fit);
    }
    if penalties.wd > 0.0 {
        // Without l1 the elastic net is ridge with l2 = n·wd (n = Σw when weighted): exact by the direct solve.
        let mut fit = solve(factor, penalties.wd * factor.weight, precision)?;
        fit.estimator = Estimator::ElasticNet { l1: 0.0, wd: penalties.wd };
        return Ok(fit);
    }
    solve(factor, penalties.l2, precision)
}

fn problem(reduced: &Reduced) -> Problem<'_> {
    // The mean loss of a weighted fit is Σw·r²/Σw, as scikit-learn's with sample_weight.
    Problem { triangle: &reduced.triangle, target: &reduced.target, rows: reduced.weight }
}
