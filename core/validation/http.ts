/**
 * HTTP face of the validator: `POST /` with a FHIR resource or Bundle as JSON body (optional `?profile=`),
 * answered with 200 and an OperationOutcome. The app mounts it behind authentication.
 * A body that is not a FHIR resource, or an unknown `?profile=`, gets 400 with an OperationOutcome.
 */
import express, { type Request, type Response, type Router } from 'express';
import { toOperationOutcome } from './validator.ts';
import type { FhirValidator } from './types.ts';

function outcome(code: string, text: string): Record<string, unknown> {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

export function createValidationRouter(validator: FhirValidator): Router {
  const router = express.Router();
  router.use(express.json({ limit: '20mb', type: ['application/json', 'application/fhir+json'] }));
  router.post('/', (req: Request, res: Response) => {
    const body: unknown = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body) || typeof (body as Record<string, unknown>).resourceType !== 'string') {
      res.status(400).type('application/fhir+json').json(outcome('invalid', 'The body must be a FHIR resource or Bundle in JSON (resourceType missing)'));
      return;
    }
    const profile = typeof req.query.profile === 'string' && req.query.profile ? req.query.profile : undefined;
    if (profile && !validator.hasProfile(profile) && !profile.startsWith('http://hl7.org/fhir/StructureDefinition/')) {
      res.status(400).type('application/fhir+json').json(outcome('not-supported', `Unknown profile ${profile}`));
      return;
    }
    const result = validator.validate(body as Record<string, unknown>, profile ? { profile } : undefined);
    res.status(200).type('application/fhir+json').json(toOperationOutcome(result));
  });
  // malformed JSON: express.json() raises a SyntaxError with status 400
  router.use((err: unknown, _req: Request, res: Response, next: (e?: unknown) => void) => {
    const status = (err as { status?: number } | null)?.status;
    if (status === 400 || status === 413) {
      res.status(status).type('application/fhir+json').json(outcome(status === 413 ? 'too-costly' : 'invalid', status === 413 ? 'Body too large' : 'The body is not valid JSON'));
      return;
    }
    next(err);
  });
  return router;
}
