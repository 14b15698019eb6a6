export {
  compileMappingSource, loadMappingFile, normalizeMappingOutput, pruneForFhir, isCreateIfAbsent, mappingRuntimeError, positionOf, setMappingCompiler, interpreterCompiler, javascriptCompiler,
  MappingSyntaxError, type LoadedMapping, type MappingLimits, type MappingEngineKind, type MappingCompiler, type CompiledMapping, type SourcePosition,
} from './mapping-file.ts';
export { buildFunctionLibrary, functionBindings, deterministicId, MappingFunctionError, type MappingFunction, type MappingFunctionContext } from './functions/index.ts';
export { newMappingScope, runInMappingScope, recordMappingWarning, recordUnmappedCode, currentMappingScope, type MappingScope } from './functions/scope.ts';
