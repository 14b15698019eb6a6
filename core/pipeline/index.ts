export { MessageProcessor, type ProcessInput, type ProcessResult, type ProcessSuccess, type ProcessFailure, type ProcessorOptions, type ResourceValidator } from './processor.ts';
