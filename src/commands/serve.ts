/**
 * `linear serve`: SageMaker hosting and batch transform. Checks model.json
 * once (other files SageMaker leaves in model/ are ignored), then serves
 * until SIGTERM, draining in-flight requests: in this process, or in
 * SAGEMAKER_MODEL_SERVER_WORKERS worker processes (server/workers.ts), one
 * per core by default.
 */
import { Command, InvalidArgumentError } from 'commander';
import { servingSettings, type Balancing, type ServingSettings } from '../contract/serving-env';
import { DEFAULT_ML_ROOT, type MlPaths } from '../contract/paths';
import { loadModel, type Model } from '../model/model';
import { Predictor } from '../native';
import { DEFAULT_HOST, serve } from '../server/server';
import { balancingFor, runWorker, startWorkers, workerNumber, workerOrders } from '../server/workers';
import { ML_ROOT_OPTION, type RunContext, type Runner } from './context';

const BALANCING: Record<Balancing, string> = {
  cluster: 'node:cluster hands out connections in turn',
  reusePort: 'SO_REUSEPORT: the kernel spreads connections',
};

function started(paths: MlPaths, model: Model, settings: ServingSettings, address: string, processes: string): string {
  const doc = model.document;
  const intervals = doc.inference ? 'intervals available' : 'no intervals (ridge or no residual df)';
  return (
    `serving ${paths.modelFile} (${doc.coefficients.length} features: ${doc.feature_names.join(', ')}; ${intervals}) ` +
    `on ${address}, payload limit ${settings.maxPayloadMb} MiB, timeout ${settings.timeoutMs / 1000} s, ${processes}`
  );
}

/**
 * One process (SAGEMAKER_MODEL_SERVER_WORKERS=1), or a primary that checks
 * the model once and forks the workers, each of which runs this again and
 * finds its orders.
 */
export async function runServe(paths: MlPaths, ctx: RunContext, port?: number, host: string = DEFAULT_HOST): Promise<void> {
  const settings = servingSettings(process.env, port);
  const orders = workerOrders();
  if (orders !== undefined) {
    const log = (line: string) => ctx.log(`worker ${workerNumber()}: ${line}`);
    await runWorker(async () => {
      const model = await loadModel(paths);
      return serve(new Predictor(model.native), { ...settings, port: orders.port }, log, ctx.signal, host, { reusePort: orders.balancing === 'reusePort' });
    });
    return;
  }
  // Checked before any worker starts: a bad model fails here, once, with its own error.
  const model = await loadModel(paths);
  if (settings.workers === 1) {
    const serving = await serve(new Predictor(model.native), settings, ctx.log, ctx.signal, host);
    ctx.log(started(paths, model, settings, serving.address, '1 worker (this process)'));
    await serving.closed;
  } else {
    const balancing = await balancingFor(settings.balancing, host, ctx.log);
    const pool = await startWorkers({ workers: settings.workers, balancing, port: settings.port, log: ctx.log, signal: ctx.signal });
    ctx.log(started(paths, model, settings, pool.address, `${settings.workers} workers (${BALANCING[balancing]}; pids ${pool.pids().join(', ')})`));
    await pool.closed;
  }
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
