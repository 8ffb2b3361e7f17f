/**
 * model/model.json on disk. The core owns what a model is: its schema (the
 * generated `ModelDocument`), version, checks and serialisation
 * (native/core/src/model.rs). This module does the file work around it: the
 * atomic write (temp file + rename, so a failed or stopped run never leaves
 * a partial model) and the one load that `test`, scoring and `serve` share.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { MlPaths } from '../contract/paths';
import { ErrorCode, LinearError, systemErrorReason } from '../errors';
import { modelText, parseModel, type NativeModel } from '../native';
import type { ModelDocument } from './document';

export type { CrossValidation, ModelDocument, PerParameter } from './document';

export interface Model {
  /** The core's checked model, which Scorer and Predictor predict from. */
  native: NativeModel;
  /** The same model as data, for the summary and the logs. */
  document: ModelDocument;
  /** The file's text. */
  text: string;
}

/** A model the core built (Trainer.model) or parsed; its text is verified to load back. */
export function modelOf(native: NativeModel): Model {
  const text = modelText(native);
  return { native, document: JSON.parse(text) as ModelDocument, text };
}

const TEMP_PREFIX = '.model.json.';

/**
 * Writes model.json via a temp file and rename, so readers never see half a
 * model. Temp files a killed run left behind are removed first: SageMaker
 * would otherwise ship them in model.tar.gz.
 */
export async function writeModel(paths: MlPaths, model: Model): Promise<void> {
  const temp = path.join(paths.modelDir, `${TEMP_PREFIX}${process.pid}.tmp`);
  try {
    await fs.mkdir(paths.modelDir, { recursive: true });
    for (const name of await fs.readdir(paths.modelDir)) {
      if (name.startsWith(TEMP_PREFIX) && name.endsWith('.tmp')) await fs.rm(path.join(paths.modelDir, name), { force: true });
    }
    // Flushed before the rename, so even a power loss leaves the old model or the whole new one.
    const file = await fs.open(temp, 'w');
    try {
      await file.writeFile(model.text);
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(temp, paths.modelFile);
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw new LinearError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write ${paths.modelFile}: ${systemErrorReason(err)}; free space or make model/ writable`);
  }
}

/** Loads and checks model.json: MODEL_NOT_FOUND, UNREADABLE_FILE or MODEL_INVALID saying what is wrong. */
export async function loadModel(paths: MlPaths): Promise<Model> {
  const file = paths.modelFile;
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LinearError(ErrorCode.MODEL_NOT_FOUND, `no model at ${file}; run train first (it writes model/model.json)`);
    }
    throw new LinearError(ErrorCode.UNREADABLE_FILE, `cannot read ${file}: ${systemErrorReason(err)}`);
  }
  const native = parseModel(bytes, file);
  const text = bytes.toString('utf8');
  return { native, document: JSON.parse(text) as ModelDocument, text };
}
