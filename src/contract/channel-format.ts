/**
 * How a channel's data is declared, from inputdataconfig.json (ContentType
 * and its parameters, RecordWrapperType) and the format hyperparameters:
 * what the native decoders are told before the first byte is read.
 */
import { channelDataFormat, parseMediaType } from '../codecs/media-types';
import { ErrorCode, LinearError, clip } from '../errors';
import type { ChannelFormat } from '../native';
import type { ChannelConfig } from './config';

export interface FormatOptions {
  /** Parquet column holding the label (hyperparameter label_column). */
  labelColumn?: string;
  /** Training needs the label in every row; scored channels may leave it out. */
  training: boolean;
}

export function channelFormat(name: string, cfg: ChannelConfig | undefined, options: FormatOptions): ChannelFormat {
  const format: ChannelFormat = {
    ...(options.labelColumn === undefined ? {} : { labelColumn: options.labelColumn }),
    ...(cfg?.recordWrapper === 'RecordIO' ? { unwrapRecords: true } : {}),
  };
  if (cfg?.contentType === undefined) return format;
  const subject = `channel '${name}' (ContentType '${clip(cfg.contentType, 100)}')`;
  const mediaType = parseMediaType(cfg.contentType);
  const declared = channelDataFormat(mediaType, subject);
  if (declared !== undefined) format.format = declared;
  const { params } = mediaType;
  const labelSize = params.get('label_size');
  if (options.training && labelSize !== undefined && labelSize !== '1') {
    throw new LinearError(
      ErrorCode.UNSUPPORTED_CONTENT_TYPE,
      `${subject}: training needs exactly one label, in the first column (label_size=1 or no label_size)`,
    );
  }
  const header = params.get('header');
  if (header !== undefined) {
    if (header !== 'present' && header !== 'absent') {
      throw new LinearError(ErrorCode.UNSUPPORTED_CONTENT_TYPE, `${subject}: header=${clip(header, 40)} is not read; use header=present or header=absent`);
    }
    format.header = header === 'present';
  }
  const zeroBased = params.get('zero_based');
  if (zeroBased !== undefined) {
    if (zeroBased !== 'true' && zeroBased !== 'false') {
      throw new LinearError(ErrorCode.UNSUPPORTED_CONTENT_TYPE, `${subject}: zero_based=${clip(zeroBased, 40)} is not read; use zero_based=true or false`);
    }
    format.zeroBased = zeroBased === 'true';
  }
  return format;
}
