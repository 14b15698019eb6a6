export { createFhirRouter, type FhirRouterDeps } from './router.ts';
export { FhirRepository, type FhirRepositoryOptions, type ResourceKey, type FoundResource, type StatsRow, type StatsPeriod, type StatsBasis } from './repository.ts';
export { parseSearch, type SearchQuery, type SearchFilter, type TokenValue, type RevInclude, DEFAULT_COUNT, MAX_COUNT } from './search-params.ts';
export { FhirError, operationOutcome, ENGINE_ERROR_SYSTEM, RL_ERROR_SYSTEM, type FhirErrorCode, type OperationOutcome } from './outcome.ts';
export { SOVRA_AZIENDALE_SCOPE, FHIR_READ_ROLES, canReadEnte, hasSovraAziendale, perimeterOf } from './perimeter.ts';
export { equivalentSystems } from './system-aliases.ts';
