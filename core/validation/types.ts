/** Public types of the validation module (re-exported by index.ts). */

export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

export interface ValidationIssue {
  severity: IssueSeverity;
  /** OperationOutcome issue-type, e.g. 'required', 'value', 'structure', 'code-invalid', 'invariant', 'not-supported' */
  code: string;
  /** FHIRPath-like element path, e.g. 'Patient.identifier[0].system' */
  path: string;
  message: string;
  /** canonical url of the profile the rule comes from */
  profile?: string;
  /** constraint key (e.g. 'rl-pat-name') or rule kind ('cardinality', 'fixed', 'binding', …) */
  rule?: string;
}

export interface ValidationResult {
  /** true when there is no fatal or error issue */
  valid: boolean;
  issues: ValidationIssue[];
}

export interface ValidateOptions {
  /** canonical url; default: each url in resource.meta.profile, else the base resource type */
  profile?: string;
}

export interface FhirValidator {
  /**
   * Synchronous. A Bundle validates the Bundle and every entry.resource
   * (paths like 'Bundle.entry[2].resource.Patient.name').
   */
  validate(resource: Record<string, unknown>, options?: ValidateOptions): ValidationResult;
  knownProfiles(): string[];
  hasProfile(url: string): boolean;
}

export type ValidatorEngine = 'fast' | 'reference';

export interface LoadValidatorOptions {
  /** default <repo>/ig */
  igDir?: string;
  /**
   * 'fast' (default): profiles compiled into checking plans, the reference engine explains what the plans reject;
   * 'reference': Medplum + the profile walker on every resource (the oracle of the differential tests).
   */
  engine?: ValidatorEngine;
}
