import type { Response } from 'express';
import { canSeeEnte, type Principal } from '../admin/auth.ts';
import type { Logger } from '../common/logger.ts';
import type { SqlExecutor } from '../storage/db.ts';
import { writeAudit } from '../storage/audit.ts';
import { FhirError, type FhirErrorCode } from './outcome.ts';

/**
 * Who reads what. The aziendale perimeter is the token's Enti; the sovra-aziendale scope opens every
 * Ente (cross-Ente search /fhir/:type and any /fhir/:ente/...). Every refusal is written to audit_log
 * before the 403 goes out.
 */
export const SOVRA_AZIENDALE_SCOPE = 'sovra-aziendale';

/** Roles that may read clinical data (admin always may). Mapping authors work on samples, not the CDR. */
export const FHIR_READ_ROLES = ['reader', 'operator'] as const;

export function hasSovraAziendale(principal: Principal): boolean {
  return principal.scopes.includes(SOVRA_AZIENDALE_SCOPE);
}

export function canReadEnte(principal: Principal, ente: string): boolean {
  return hasSovraAziendale(principal) || canSeeEnte(principal, ente);
}

/** The Enti a request may read: all registered ones (sovra-aziendale or '*') or the token's list. */
export function perimeterOf(principal: Principal, registered: readonly string[]): string[] {
  if (hasSovraAziendale(principal) || principal.enti === '*') return [...registered];
  const own = new Set(principal.enti);
  return registered.filter((code) => own.has(code));
}

export interface DenialContext {
  db: SqlExecutor;
  logger: Logger | undefined;
  method: string;
  path: string;
  /** Parameter names only: values can be patient identifiers. */
  params: string[];
}

/** Audits the refusal, then returns the error to throw. An audit write that fails is logged, the 403 still goes out. */
export async function deny(
  principal: Principal | undefined,
  code: FhirErrorCode,
  message: string,
  context: DenialContext,
  ente?: string,
): Promise<FhirError> {
  try {
    await writeAudit(context.db, {
      actor: principal?.id ?? 'anonymous',
      action: 'fhir.denied',
      target: `${context.method} ${context.path}`,
      ente,
      details: { code, role: principal?.role ?? null, enti: principal?.enti ?? null, scopes: principal?.scopes ?? [], params: context.params },
    });
  } catch (error) {
    context.logger?.warn({ err: error instanceof Error ? error.message : String(error), code }, 'could not write the audit record of a refused FHIR request');
  }
  return new FhirError(code, message);
}

export function principalFrom(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('FHIR route used without authentication');
  return principal;
}
