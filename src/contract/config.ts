import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ErrorCode, LinearError, systemErrorReason } from '../errors';
import type { MlPaths } from './paths';

/**
 * Reads one of SageMaker's optional JSON config files. Returns undefined when the
 * file does not exist, so a bare local run works without any config.
 */
export async function readJsonConfig(file: string): Promise<Record<string, unknown> | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LinearError(ErrorCode.UNREADABLE_FILE, `cannot read ${file}: ${systemErrorReason(err)}`);
  }
  // Windows editors save "Unicode" as UTF-16, whose bytes are not JSON text.
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    throw new LinearError(ErrorCode.INVALID_CONFIG, `${file} is saved as UTF-16; save it as UTF-8`);
  }
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    // Editors on Windows may save a byte-order mark, which JSON.parse rejects.
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new LinearError(ErrorCode.INVALID_CONFIG, `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isJsonObject(value)) {
    throw new LinearError(ErrorCode.INVALID_CONFIG, `${file} must hold a JSON object, got ${describeJson(value)}`);
  }
  return value;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export interface ResourceConfig {
  currentHost: string;
  /** Sorted by SageMaker, so hosts[0] is the same leader on every host. */
  hosts: string[];
}

const SINGLE_HOST = 'algo-1';

/** resourceconfig.json; a missing file or field means a single host named like SageMaker's first. */
export async function readResourceConfig(paths: MlPaths): Promise<ResourceConfig> {
  const file = paths.config.resource;
  const raw = await readJsonConfig(file);
  const invalid = (problem: string) => new LinearError(ErrorCode.INVALID_CONFIG, `${path.basename(file)}: ${problem}`);

  const currentHost = raw?.current_host ?? SINGLE_HOST;
  if (typeof currentHost !== 'string' || currentHost === '') {
    throw invalid(`current_host must be a non-empty string, got ${JSON.stringify(currentHost)}`);
  }
  const hosts: unknown = raw?.hosts ?? [currentHost];
  if (!isHostList(hosts)) {
    throw invalid(`hosts must be a non-empty array of host names, got ${JSON.stringify(hosts)}`);
  }
  if (!hosts.includes(currentHost)) {
    throw invalid(`current_host '${currentHost}' is not one of hosts ${JSON.stringify(hosts)}`);
  }
  return { currentHost, hosts };
}

function isHostList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((h) => typeof h === 'string' && h !== '');
}

export type InputMode = 'File' | 'Pipe' | 'FastFile';

const INPUT_MODES: readonly InputMode[] = ['File', 'Pipe', 'FastFile'];

export type RecordWrapper = 'None' | 'RecordIO';

const RECORD_WRAPPERS: readonly RecordWrapper[] = ['None', 'RecordIO'];

export type Distribution = 'FullyReplicated' | 'ShardedByS3Key';

const DISTRIBUTIONS: readonly Distribution[] = ['FullyReplicated', 'ShardedByS3Key'];

export interface ChannelConfig {
  contentType?: string;
  inputMode: InputMode;
  /** How S3 objects are spread over the hosts: all to each, or ~1/n each. */
  distribution: Distribution;
  /** RecordIO: each S3 object arrives as one RecordIO frame (Pipe mode). */
  recordWrapper: RecordWrapper;
}

/** inputdataconfig.json by channel name; a missing file means no declared channels. */
export async function readInputDataConfig(paths: MlPaths): Promise<Record<string, ChannelConfig>> {
  const file = paths.config.inputData;
  const raw = await readJsonConfig(file);
  const invalid = (problem: string) => new LinearError(ErrorCode.INVALID_CONFIG, `${path.basename(file)}: ${problem}`);

  const channels: Record<string, ChannelConfig> = {};
  for (const [name, entry] of Object.entries(raw ?? {})) {
    if (!isJsonObject(entry)) throw invalid(`channel '${name}' must be an object, got ${describeJson(entry)}`);
    // Local mode and older tooling may omit the mode; File is SageMaker's default.
    const inputMode = entry.TrainingInputMode ?? 'File';
    if (!INPUT_MODES.includes(inputMode as InputMode)) {
      throw invalid(
        `channel '${name}' has TrainingInputMode ${JSON.stringify(inputMode)}; expected ${INPUT_MODES.join(', ')}`,
      );
    }
    const contentType = entry.ContentType;
    if (contentType !== undefined && typeof contentType !== 'string') {
      throw invalid(`channel '${name}' has ContentType ${JSON.stringify(contentType)}; expected a string`);
    }
    const recordWrapper = entry.RecordWrapperType ?? 'None';
    if (!RECORD_WRAPPERS.includes(recordWrapper as RecordWrapper)) {
      throw invalid(`channel '${name}' has RecordWrapperType ${JSON.stringify(recordWrapper)}; expected ${RECORD_WRAPPERS.join(' or ')}`);
    }
    // Local mode and EFS/FSx channels omit it: every host gets everything.
    const distribution = entry.S3DistributionType ?? 'FullyReplicated';
    if (!DISTRIBUTIONS.includes(distribution as Distribution)) {
      throw invalid(`channel '${name}' has S3DistributionType ${JSON.stringify(distribution)}; expected ${DISTRIBUTIONS.join(' or ')}`);
    }
    channels[name] = {
      inputMode: inputMode as InputMode,
      distribution: distribution as Distribution,
      recordWrapper: recordWrapper as RecordWrapper,
      ...(contentType === undefined ? {} : { contentType }),
    };
  }
  return channels;
}
