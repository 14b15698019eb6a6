/**
 * The error taxonomy of the engine. Every failure a message can meet is a CdrError carrying
 * the stage where it happened, whether retrying can help (kind), a stable machine code and a
 * message written for the operator who reads the dead-letter queue.
 */
export const STAGES = ['receive', 'parse', 'route', 'hook', 'map', 'validate', 'store'] as const;
export type Stage = (typeof STAGES)[number];

/** transient: the same input may succeed later (database or Redis down, timeout); permanent: it never will. */
export type ErrorKind = 'transient' | 'permanent';

export interface CdrErrorOptions {
  stage: Stage;
  kind: ErrorKind;
  code: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class CdrError extends Error {
  readonly stage: Stage;
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: CdrErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.stage = options.stage;
    this.kind = options.kind;
    this.code = options.code;
    this.details = options.details;
  }

  get transient(): boolean {
    return this.kind === 'transient';
  }

  toJSON(): { stage: Stage; kind: ErrorKind; code: string; message: string; details?: Record<string, unknown> } {
    return { stage: this.stage, kind: this.kind, code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

type StageErrorOptions = Omit<CdrErrorOptions, 'stage' | 'kind'> & { kind?: ErrorKind };

function stageError(stage: Stage, defaultKind: ErrorKind) {
  return class extends CdrError {
    constructor(message: string, options: StageErrorOptions) {
      super(message, { ...options, stage, kind: options.kind ?? defaultKind });
    }
  };
}

/** The raw input could not be accepted (empty, too large, unknown plugin, undecodable). */
export class ReceiveError extends stageError('receive', 'permanent') {}
/** The raw message is not a readable HL7 v2 / CDA / XML document. */
export class ParseError extends stageError('parse', 'permanent') {}
/** No plugin route leads from this message or document type to a mapping. */
export class RouteError extends stageError('route', 'permanent') {}
/** A plugin hook threw or returned something unusable. */
export class HookError extends stageError('hook', 'permanent') {}
/** The mapping failed to evaluate or produced something that is not FHIR resources. */
export class MappingError extends stageError('map', 'permanent') {}
/** The mapping output does not conform to its profile. */
export class ValidationFailedError extends stageError('validate', 'permanent') {}
/** Writing to the CDR failed: transient when the database is unreachable, permanent for data problems. */
export class StoreError extends stageError('store', 'transient') {}

/** Connection-level failures of PostgreSQL/PGlite or Redis: always worth a retry. */
export class StorageUnavailableError extends CdrError {
  constructor(message: string, cause?: unknown) {
    super(message, { stage: 'store', kind: 'transient', code: 'STORAGE_UNAVAILABLE', cause });
  }
}

export class QueueUnavailableError extends CdrError {
  constructor(message: string, cause?: unknown) {
    super(message, { stage: 'receive', kind: 'transient', code: 'QUEUE_UNAVAILABLE', cause });
  }
}

export function isCdrError(error: unknown): error is CdrError {
  return error instanceof CdrError;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
