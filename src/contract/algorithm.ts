/**
 * This container as a SageMaker algorithm: the TrainingSpecification and
 * InferenceSpecification that CreateAlgorithm takes, assembled from the
 * hyperparameter table, the channels and content types the readers and the
 * server take, and the metric lines training prints.
 */
import { CHANNEL_MEDIA_TYPES, REQUEST_CONTENT_TYPES, RESPONSE_CONTENT_TYPES } from '../codecs/media-types';
import { metricDefinitions, tuningObjectives, type MetricDefinition, type TuningObjective } from '../report/metrics';
import { SCORED_CHANNELS, TRAIN_CHANNEL } from './channels';
import { HYPERPARAMETERS, HYPERPARAMETER_NAMES, type Hyperparameter, type HyperparameterType } from './hyperparameter-table';

/** Stands for the image when none is given: the ECR URI the image was pushed to. */
export const PLACEHOLDER_IMAGE = '<account>.dkr.ecr.<region>.amazonaws.com/linear:latest';

const sizes = (family: string, names: string[]) => names.map((size) => `ml.${family}.${size}`);

/**
 * x86-64 CPU instances (the addon is built for x86-64 Linux and uses no GPU)
 * that SageMaker offers for training, batch transform and endpoints alike;
 * r6i for the memory of wide data with many cross-validation folds.
 */
export const INSTANCE_TYPES: readonly string[] = [
  ...sizes('m5', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
  ...sizes('c5', ['xlarge', '2xlarge', '4xlarge', '9xlarge', '18xlarge']),
  ...sizes('m6i', ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge']),
  ...sizes('c6i', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge']),
  ...sizes('r6i', ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge']),
];

const SAGEMAKER_TYPES: Record<HyperparameterType, string> = {
  boolean: 'Categorical',
  integer: 'Integer',
  categorical: 'Categorical',
  'free text': 'FreeText',
};

const CHANNEL_DESCRIPTIONS: Record<typeof TRAIN_CHANNEL | (typeof SCORED_CHANNELS)[number], string> = {
  train: 'Rows to fit, label first: CSV, libsvm, RecordIO-protobuf or Parquet, plain or gzip.',
  validation: 'Labelled rows scored with the fitted model: the validation metrics tuning jobs optimise.',
  test: 'Labelled rows scored with the fitted model: the test metrics.',
};

export interface AlgorithmSpecification {
  TrainingSpecification: {
    TrainingImage: string;
    SupportedHyperParameters: HyperparameterSpecification[];
    SupportedTrainingInstanceTypes: readonly string[];
    SupportsDistributedTraining: boolean;
    MetricDefinitions: MetricDefinition[];
    TrainingChannels: ChannelSpecification[];
    SupportedTuningJobObjectiveMetrics: TuningObjective[];
  };
  InferenceSpecification: {
    Containers: { Image: string }[];
    SupportedTransformInstanceTypes: readonly string[];
    SupportedRealtimeInferenceInstanceTypes: readonly string[];
    SupportedContentTypes: readonly string[];
    SupportedResponseMIMETypes: readonly string[];
  };
}

interface HyperparameterSpecification {
  Name: string;
  Description: string;
  Type: string;
  Range?: Record<string, unknown>;
  IsTunable: boolean;
  IsRequired?: boolean;
  DefaultValue?: string;
}

interface ChannelSpecification {
  Name: string;
  Description: string;
  IsRequired: boolean;
  SupportedContentTypes: readonly string[];
  SupportedCompressionTypes: readonly string[];
  SupportedInputModes: readonly string[];
}

/** The specifications for CreateAlgorithm, for the image at `image` offered on `instanceTypes`. */
export function algorithmSpecification(image: string, instanceTypes: readonly string[] = INSTANCE_TYPES): AlgorithmSpecification {
  return {
    TrainingSpecification: {
      TrainingImage: image,
      SupportedHyperParameters: HYPERPARAMETER_NAMES.map((name) => hyperparameterSpecification(name, HYPERPARAMETERS[name])),
      SupportedTrainingInstanceTypes: instanceTypes,
      // Hosts merge their factors exactly: N instances fit the model one would.
      SupportsDistributedTraining: true,
      MetricDefinitions: metricDefinitions(),
      TrainingChannels: [TRAIN_CHANNEL, ...SCORED_CHANNELS].map((name) => ({
        Name: name,
        Description: CHANNEL_DESCRIPTIONS[name],
        IsRequired: name === TRAIN_CHANNEL,
        SupportedContentTypes: CHANNEL_MEDIA_TYPES,
        SupportedCompressionTypes: ['None', 'Gzip'],
        // FastFile is read too, but CreateAlgorithm refuses it here although the API's enum lists it (boto/boto3#4469).
        SupportedInputModes: ['File', 'Pipe'],
      })),
      SupportedTuningJobObjectiveMetrics: tuningObjectives(),
    },
    InferenceSpecification: {
      Containers: [{ Image: image }],
      SupportedTransformInstanceTypes: instanceTypes,
      SupportedRealtimeInferenceInstanceTypes: instanceTypes,
      SupportedContentTypes: REQUEST_CONTENT_TYPES,
      SupportedResponseMIMETypes: RESPONSE_CONTENT_TYPES,
    },
  };
}

function hyperparameterSpecification(name: string, h: Hyperparameter): HyperparameterSpecification {
  const description = h.accepts === undefined ? h.description : `${h.description} Values: ${h.accepts}.`;
  return {
    Name: name,
    // Plain text: SageMaker shows descriptions as written.
    Description: description.replaceAll('`', ''),
    Type: SAGEMAKER_TYPES[h.type],
    ...range(h),
    IsTunable: h.tunable,
    // SageMaker refuses a default on a required hyperparameter; none is required.
    ...(h.default === undefined ? { IsRequired: false } : { DefaultValue: h.default }),
  };
}

function range(h: Hyperparameter): Pick<HyperparameterSpecification, 'Range'> {
  if (h.range !== undefined) {
    return { Range: { IntegerParameterRangeSpecification: { MinValue: String(h.range.min), MaxValue: String(h.range.max) } } };
  }
  if (h.values !== undefined) return { Range: { CategoricalParameterRangeSpecification: { Values: h.values } } };
  return {};
}
