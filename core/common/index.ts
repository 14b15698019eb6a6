export * from './errors.ts';
export { createLogger, rootLogger, type Logger } from './logger.ts';
export { sha256Hex, versionHash } from './hash.ts';
export { newMessageId, isMessageId } from './ids.ts';
export { GroupCommitter, type GroupCommitterOptions } from './group-committer.ts';
