export { openAuthoringSession, FIXED_MESSAGE_ID, FIXED_RECEIVED_AT, type AuthoringSession } from './session.ts';
export {
  discoverGoldenSuites, runGoldenCase, writeExpected, toCollectionBundle, prettyJson, GoldenSuiteError, GOLDEN_MANIFEST,
  type GoldenCase, type GoldenSuite, type GoldenResult,
} from './golden.ts';
export { compareWithGateway, formatAgreement, type AgreementResult } from './national-agreement.ts';
