/**
 * `linear describe`: prints this container's TrainingSpecification and
 * InferenceSpecification as JSON, ready for CreateAlgorithm. Reads nothing
 * and needs no network: everything comes from the code.
 */
import { Command, InvalidArgumentError } from 'commander';
import { INSTANCE_TYPES, PLACEHOLDER_IMAGE, algorithmSpecification } from '../contract/algorithm';
import { LOG_PREFIX } from './context';

/** What SageMaker instance types look like: ml.<family>.<size>. */
const INSTANCE_TYPE = /^ml\.[a-z0-9-]+\.[a-z0-9]+$/;

/** SageMaker's limits on an image URI: no spaces, at most 255 characters. */
function imageUri(value: string): string {
  if (!/^\S{1,255}$/.test(value)) throw new InvalidArgumentError('an image URI has no spaces and at most 255 characters');
  return value;
}

/** Instance types given after --instance-types, space- or comma-separated. */
function instanceTypes(value: string, previous: string[] | undefined): string[] {
  const types = value.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const bad = types.find((t) => !INSTANCE_TYPE.test(t));
  if (bad !== undefined) throw new InvalidArgumentError(`'${bad}' is not an instance type such as ml.m5.large`);
  return [...(previous ?? []), ...types];
}

export function describeCommand(): Command {
  return new Command('describe')
    .description('print the TrainingSpecification and InferenceSpecification for SageMaker CreateAlgorithm (JSON)')
    .option('--image <uri>', 'the ECR image URI the container was pushed to', imageUri)
    .option('--instance-types <types...>', `instance types for training and inference (default: ${INSTANCE_TYPES.length} x86-64 CPU types)`, instanceTypes)
    .action((options: { image?: string; instanceTypes?: string[] }) => {
      if (options.image === undefined) {
        process.stderr.write(`${LOG_PREFIX} no --image: the specification names ${PLACEHOLDER_IMAGE}; give the image's ECR URI\n`);
      }
      const spec = algorithmSpecification(options.image ?? PLACEHOLDER_IMAGE, options.instanceTypes ?? INSTANCE_TYPES);
      process.stdout.write(`${JSON.stringify(spec, null, 2)}\n`);
    });
}
