export { startEngine, type Engine, type EngineOptions, type EngineRole } from './engine.ts';
export { HttpError, sendError, errorHandler } from './http-errors.ts';
