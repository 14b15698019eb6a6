export { startEngine, type Engine, type EngineOptions, type EngineRole } from './engine.ts';
export type { EngineContext } from './context.ts';
export { HttpError, sendError, errorHandler } from './http-errors.ts';
