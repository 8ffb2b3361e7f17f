/**
 * Linear Learner's hyperparameters that are not in this container's table,
 * so a Linear Learner job's settings either work or say why not. Audited
 * against the SageMaker Python SDK's `LinearLearner` estimator (its
 * hyperparameters and its base class's `feature_dim` and `mini_batch_size`):
 * every name there is in the table, in `IGNORED` or in `REFUSED`, and a test
 * checks it against the SDK itself.
 */

/** Knobs that only steer Linear Learner's SGD: an exact solve has nothing to tune with them. */
export const IGNORED: readonly string[] = [
  'epochs',
  'mini_batch_size',
  'learning_rate',
  'optimizer',
  'momentum',
  'beta_1',
  'beta_2',
  'bias_lr_mult',
  'bias_wd_mult',
  'use_lr_scheduler',
  'lr_scheduler_step',
  'lr_scheduler_factor',
  'lr_scheduler_minimum_lr',
  'early_stopping_patience',
  'early_stopping_tolerance',
  'num_models',
  'num_calibration_samples',
  'init_method',
  'init_scale',
  'init_sigma',
  'init_bias',
  'unbias_data',
  'unbias_label',
  'normalize_data',
  'normalize_label',
  'num_point_for_scaler',
  'margin',
];

const OTHER_LOSS = 'it belongs to a loss other than squared loss, and only squared loss (ordinary least squares) is fitted';
const CLASSIFIER_ONLY = 'it applies to classifiers, and this container fits regression only';

/** Knobs that would change the answer and have no equivalent here, with the reason. */
export const REFUSED: ReadonlyMap<string, string> = new Map([
  ['huber_delta', OTHER_LOSS],
  ['quantile', OTHER_LOSS],
  ['loss_insensitivity', OTHER_LOSS],
  ['positive_example_weight_mult', CLASSIFIER_ONLY],
  ['target_recall', CLASSIFIER_ONLY],
  ['target_precision', CLASSIFIER_ONLY],
  ['binary_classifier_model_selection_criteria', CLASSIFIER_ONLY],
  ['num_classes', CLASSIFIER_ONLY],
  ['accuracy_top_k', CLASSIFIER_ONLY],
  ['balance_multiclass_weights', CLASSIFIER_ONLY],
  ['f_beta', CLASSIFIER_ONLY],
]);
