import type { ErrorRequestHandler, Response } from 'express';
import { CdrError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';

/** An error with an HTTP status, a stable code and a message fit for the caller. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendError(res: Response, status: number, code: string, message: string, details?: Record<string, unknown>): void {
  res.status(status).json({ code, message, ...(details ? { details } : {}) });
}

const STATUS_BY_CODE: Record<string, number> = {
  RECEIVE_EMPTY: 400,
  RECEIVE_UNDECODABLE: 400,
  RECEIVE_UNKNOWN_PLUGIN: 404,
  RECEIVE_TOO_LARGE: 413,
  RECEIVE_PLUGIN_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
  QUEUE_UNAVAILABLE: 503,
};

/** Maps every error to JSON with a stable code; never leaks a stack trace. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (res.headersSent) return;
    if (error instanceof HttpError) return sendError(res, error.status, error.code, error.message, error.details);
    if (error instanceof CdrError) {
      const status = STATUS_BY_CODE[error.code] ?? (error.transient ? 503 : 422);
      return sendError(res, status, error.code, error.message);
    }
    const e = error as { type?: string; status?: number; limit?: number; length?: number; message?: string };
    switch (e.type) {
      case 'entity.too.large':
        return sendError(res, 413, 'RECEIVE_TOO_LARGE', `the body is larger than the limit of ${e.limit} bytes`);
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return sendError(res, 415, 'RECEIVE_UNDECODABLE', e.message ?? 'unsupported encoding');
      case 'entity.parse.failed':
        return sendError(res, 400, 'BAD_JSON', 'the body is not valid JSON');
      case 'request.aborted':
        return sendError(res, 400, 'RECEIVE_ABORTED', 'the request was aborted before the body arrived');
      default:
        break;
    }
    if (e.status && e.status >= 400 && e.status < 500) {
      return sendError(res, e.status, 'RECEIVE_UNDECODABLE', e.message ?? 'the request body cannot be read');
    }
    logger.error({ err: error instanceof Error ? error.message : String(error), path: req.path }, 'unhandled error');
    return sendError(res, 500, 'INTERNAL', 'internal error; see the engine log');
  };
}
