"""Prints, as a JSON list on the last line, the hyperparameter names the
SageMaker Python SDK's LinearLearner estimator declares (its base class's
feature_dim and mini_batch_size included)."""
import json

from sagemaker.amazon.hyperparameter import Hyperparameter
from sagemaker.amazon.linear_learner import LinearLearner

names = {v.name for cls in LinearLearner.__mro__ for v in vars(cls).values() if isinstance(v, Hyperparameter)}
print(json.dumps(sorted(names)))
