/**
 * `linear serve`: SageMaker hosting and batch transform. Loads model.json
 * once (other files SageMaker leaves in model/ are ignored), then serves
 * until SIGTERM, draining in-flight requests.
 */
import { Command, InvalidArgumentError } from 'commander';
import { servingSettings } from '../contract/serving-env';
import { DEFAULT_ML_ROOT, type MlPaths } from '../contract/paths';
import { loadModel } from '../model/model';
import { Predictor } from '../native';
import { DEFAULT_HOST, serve } from '../server/server';
import { ML_ROOT_OPTION, type RunContext, type Runner } from './context';

export async function runServe(paths: MlPaths, ctx: RunContext, port?: number, host?: string): Promise<void> {
  const settings = servingSettings(process.env, port);
  const model = await loadModel(paths);
  const predictor = new Predictor(model.native);
  const serving = await serve(predictor, settings, ctx.log, ctx.signal, host);
  const doc = model.document;
  const intervals = doc.inference ? 'intervals available' : 'no intervals (ridge or no residual df)';
  ctx.log(
    `serving ${paths.modelFile} (${doc.coefficients.length} features: ${doc.feature_names.join(', ')}; ${intervals}) ` +
      `on ${serving.address}, payload limit ${settings.maxPayloadMb} MiB, timeout ${settings.timeoutMs / 1000} s`,
  );
  await serving.closed;
  ctx.log('stopped: all in-flight requests finished');
}

function portNumber(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return port;
}

export function serveCommand(run: Runner): Command {
  return new Command('serve')
    .description('answer SageMaker hosting and batch transform: GET /ping, POST /invocations, GET /execution-parameters')
    .option(ML_ROOT_OPTION, 'SageMaker directory tree to read the model from', DEFAULT_ML_ROOT)
    .option('--port <port>', 'port to listen on (default: SAGEMAKER_BIND_TO_PORT or 8080)', portNumber)
    .option('--host <address>', 'address to listen on: 127.0.0.1 for this machine only (SageMaker needs the default)', DEFAULT_HOST)
    .action((options: { mlRoot: string; port?: number; host: string }) =>
      run((paths, ctx) => runServe(paths, ctx, options.port, options.host), options.mlRoot),
    );
}
