import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs. Raw messages and patient data must never reach a log line, so the fields that could
 * carry them are censored wherever they appear; code logs ids, stages and codes instead.
 */
const REDACTED_PATHS = [
  'raw', '*.raw', 'body', '*.body', 'resource', '*.resource', 'resources[*].resource',
  'identifier', '*.identifier', 'patient', '*.patient', 'input', '*.input', 'req.headers.authorization',
  'headers.authorization', 'token', '*.token',
];

/** `destination` (default stdout) lets tests capture the exact lines the engine would write. */
export function createLogger(name = 'cdr', level = process.env.CDR_LOG_LEVEL || 'info', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

export const rootLogger = createLogger();
