/**
 * IG conformance validation: every output of the engine against the Regione Lombardia "IG Core" profiles.
 * Default engine: the fast one (fast/: profiles compiled into checking plans, one pass per resource). Reference
 * engine (`loadValidator({ engine: 'reference' })`, the oracle): structure via @medplum/core (with cached profile
 * schemas), plus the profile walker for bindings, slice contents, narrowed choice types, nested fixed/pattern values
 * and FHIRPath invariants. Data: ig/ (npm run ig:build). See docs/validation.md.
 */
export type {
  FhirValidator,
  IssueSeverity,
  LoadValidatorOptions,
  ValidateOptions,
  ValidationIssue,
  ValidationResult,
  ValidatorEngine,
} from './types.ts';
export { ValidatorLoadError } from './errors.ts';
export { toOperationOutcome, DEFAULT_IG_DIR } from './validator.ts';
export { loadValidator } from './load.ts';
