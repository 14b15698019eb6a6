import type { Response } from 'express';

/** Our stable error codes, next to the RL IG's own error code system (CodeSystem OperationOutcome-CodiciErrore). */
export const ENGINE_ERROR_SYSTEM = 'urn:cdr-engine:error-code';
export const RL_ERROR_SYSTEM = 'https://fhir.siss.regione.lombardia.it/CodeSystem/OperationOutcome-CodiciErrore';

type IssueType = 'login' | 'forbidden' | 'not-found' | 'invalid' | 'not-supported' | 'transient' | 'exception' | 'too-costly';

interface ErrorKind {
  status: number;
  rlCode: string;
  issue: IssueType;
}

/** Every error the FHIR API answers with: HTTP status, RL code and FHIR issue type per stable code. */
const ERRORS = {
  FHIR_UNAUTHENTICATED: { status: 401, rlCode: 'ACCESS_TOKEN_MISSING', issue: 'login' },
  FHIR_INVALID_TOKEN: { status: 401, rlCode: 'ACCESS_TOKEN_INVALID', issue: 'login' },
  FHIR_FORBIDDEN_ROLE: { status: 403, rlCode: 'ACCESS_DENIED', issue: 'forbidden' },
  FHIR_FORBIDDEN_ENTE: { status: 403, rlCode: 'ACCESS_DENIED', issue: 'forbidden' },
  FHIR_FORBIDDEN_SOVRA_AZIENDALE: { status: 403, rlCode: 'ACCESS_DENIED_LEVEL', issue: 'forbidden' },
  FHIR_UNKNOWN_ENTE: { status: 404, rlCode: 'RESOURCE_NOT_FOUND', issue: 'not-found' },
  FHIR_NOT_FOUND: { status: 404, rlCode: 'RESOURCE_NOT_FOUND', issue: 'not-found' },
  FHIR_VERSION_NOT_FOUND: { status: 404, rlCode: 'RESOURCE_NOT_FOUND', issue: 'not-found' },
  FHIR_UNKNOWN_ROUTE: { status: 404, rlCode: 'RESOURCE_NOT_FOUND', issue: 'not-found' },
  FHIR_METHOD_NOT_ALLOWED: { status: 405, rlCode: 'METHOD_NOT_ALLOWED', issue: 'not-supported' },
  FHIR_INVALID_TYPE: { status: 400, rlCode: 'BAD_REQUEST', issue: 'invalid' },
  FHIR_INVALID_ID: { status: 400, rlCode: 'BAD_REQUEST', issue: 'invalid' },
  FHIR_UNSUPPORTED_PARAMETER: { status: 400, rlCode: 'VALIDATION_ERROR', issue: 'not-supported' },
  FHIR_INVALID_PARAMETER: { status: 400, rlCode: 'VALIDATION_ERROR', issue: 'invalid' },
  FHIR_INVALID_CURSOR: { status: 400, rlCode: 'VALIDATION_ERROR', issue: 'invalid' },
  FHIR_STORAGE_UNAVAILABLE: { status: 503, rlCode: 'SERVICE_UNAVAILABLE', issue: 'transient' },
  FHIR_INTERNAL: { status: 500, rlCode: 'SERVICE_ERROR', issue: 'exception' },
} as const satisfies Record<string, ErrorKind>;

export type FhirErrorCode = keyof typeof ERRORS;

export class FhirError extends Error {
  readonly status: number;
  constructor(readonly code: FhirErrorCode, message: string) {
    super(message);
    this.name = 'FhirError';
    this.status = ERRORS[code].status;
  }
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<{
    severity: 'error' | 'warning' | 'information';
    code: string;
    details: { coding: Array<{ system: string; code: string }>; text: string };
  }>;
}

export function operationOutcome(code: FhirErrorCode, message: string): OperationOutcome {
  const kind: ErrorKind = ERRORS[code];
  return {
    resourceType: 'OperationOutcome',
    issue: [{
      severity: 'error',
      code: kind.issue,
      details: { coding: [{ system: ENGINE_ERROR_SYSTEM, code }, { system: RL_ERROR_SYSTEM, code: kind.rlCode }], text: message },
    }],
  };
}

export function warningOutcome(message: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'incomplete', details: { coding: [], text: message } }] };
}

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function sendFhir(res: Response, status: number, body: unknown): void {
  res.status(status).type(FHIR_JSON).send(JSON.stringify(body));
}

export function sendOutcome(res: Response, error: FhirError): void {
  if (error.status === 401) res.set('WWW-Authenticate', error.code === 'FHIR_INVALID_TOKEN' ? 'Bearer error="invalid_token"' : 'Bearer');
  sendFhir(res, error.status, operationOutcome(error.code, error.message));
}
