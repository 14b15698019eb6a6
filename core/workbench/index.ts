export { openAuthoringSession, FIXED_MESSAGE_ID, FIXED_RECEIVED_AT, type AuthoringSession } from './session.ts';
export {
  discoverGoldenSuites, runGoldenCase, writeExpected, toCollectionBundle, prettyJson, GoldenSuiteError, GOLDEN_MANIFEST,
  type GoldenCase, type GoldenSuite, type GoldenResult,
} from './golden.ts';
export { compareWithGateway, formatAgreement, type AgreementResult } from './national-agreement.ts';
export { trackReads, messageCoverage, aggregateCoverage, formatCoverageTable, type ReadTracker, type MessageCoverage, type CoverageLeaf, type CoverageTable, type CoverageRow } from './coverage.ts';
export { coverageOfInputs, readInputs, sampleFiles, type FolderCoverage } from './folder-coverage.ts';
export { WorkbenchEvaluator, linkIssues, singlePluginRegistry, withMappingEngine, type EvaluationResult, type EvaluationError, type LinkedIssue } from './evaluate.ts';
export { resolveAuthoringPath, authoringPathOf, UnsafePathError, type AuthoringRoots, type ResolvedPath } from './files.ts';
export { WorkbenchService, WorkbenchError, type WorkbenchOptions, type WorkbenchPlugin, type GoldenSaveResult } from './service.ts';
export { createWorkbenchRouter, type WorkbenchRouterDeps } from './routes.ts';
export { jsonataPath, hl7Names, fhirPathToKeys, jsonPointer, type PathKey } from './paths.ts';
