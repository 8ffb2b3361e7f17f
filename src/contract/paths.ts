import * as path from 'node:path';

/** Where SageMaker mounts inputs and collects outputs inside the container. */
export const DEFAULT_ML_ROOT = '/opt/ml';

/** Every path of the SageMaker container layout this program reads or writes. */
export interface MlPaths {
  readonly root: string;
  readonly config: {
    readonly hyperparameters: string;
    readonly inputData: string;
    readonly resource: string;
    /** Present when the job checkpoints (CheckpointConfig: spot training). */
    readonly checkpoint: string;
  };
  /** CheckpointConfig's default LocalPath. */
  readonly checkpointDir: string;
  /** Parent of one directory per File/FastFile channel. */
  readonly dataDir: string;
  channel(name: string): string;
  /** Pipe mode's FIFO of a channel's first (and, for an exact fit, only) epoch. */
  pipe(name: string): string;
  /** Uploaded as model.tar.gz; also where `serve` finds the model. */
  readonly modelDir: string;
  readonly modelFile: string;
  readonly outputDir: string;
  /** Its first 1024 characters become the training job's FailureReason. */
  readonly failureFile: string;
  /** Uploaded as output.tar.gz. */
  readonly outputDataDir: string;
}

/** The layout under `root`, which tests and local runs point at a temporary tree. */
export function mlPaths(root: string = DEFAULT_ML_ROOT): MlPaths {
  const base = path.resolve(root);
  const configDir = path.join(base, 'input', 'config');
  const dataDir = path.join(base, 'input', 'data');
  const modelDir = path.join(base, 'model');
  const outputDir = path.join(base, 'output');
  return {
    root: base,
    config: {
      hyperparameters: path.join(configDir, 'hyperparameters.json'),
      inputData: path.join(configDir, 'inputdataconfig.json'),
      resource: path.join(configDir, 'resourceconfig.json'),
      checkpoint: path.join(configDir, 'checkpointconfig.json'),
    },
    checkpointDir: path.join(base, 'checkpoints'),
    dataDir,
    channel: (name) => path.join(dataDir, name),
    pipe: (name) => path.join(dataDir, `${name}_0`),
    modelDir,
    modelFile: path.join(modelDir, 'model.json'),
    outputDir,
    failureFile: path.join(outputDir, 'failure'),
    outputDataDir: path.join(outputDir, 'data'),
  };
}
