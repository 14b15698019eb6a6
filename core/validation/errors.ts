/** Typed errors of the validation module. Validation findings are issues, never exceptions. */

/** The generated IG data (ig/) is missing, unreadable or inconsistent: run `npm run ig:build`. */
export class ValidatorLoadError extends Error {
  override readonly name = 'ValidatorLoadError';
  readonly code = 'validator-load';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
