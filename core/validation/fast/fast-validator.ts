/**
 * The fast FhirValidator (the default engine). Each profile and base type is compiled once, lazily, into checking
 * plans (plan.ts); each node of a resource tree (the resource, and for a Bundle each entry's resource) goes through
 * the screen (screen.ts) in one pass along those plans. When the screen accepts — the common case in production —
 * the result is what the reference engine would say: no issue, or the binding/invariant warnings the screen states
 * itself in the walker's words. When it stops, the reference engine (Medplum + profile walker) validates that node
 * and its issues are returned unchanged: the explanation of an error always comes from the oracle. The differential
 * tests check the other half: the screen never accepts what the reference engine reports differently.
 */
import type { CompiledStructure, Constraint, StructureDefinitionLike } from '../model.ts';
import { medplumTypeName } from '../medplum.ts';
import type { FhirValidator, ValidateOptions, ValidationIssue, ValidationResult } from '../types.ts';
import type { ValidatorParts } from '../validator.ts';
import { FastInvariants } from './invariants.ts';
import { PlanCompiler } from './plan.ts';
import { Rejected, Screen, type ScreenContext } from './screen.ts';

const HL7_SD = 'http://hl7.org/fhir/StructureDefinition/';
const LITERAL_REFERENCE = /^(?:.*\/)?([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?$/;
const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?/;
const MAX_REASONS = 200;

export interface ScreenStats {
  accepted: number;
  /** resources handed to the reference engine, by the first rule the screen stopped at */
  rejected: Map<string, number>;
}

export class FastValidator implements FhirValidator {
  private readonly screen: Screen;
  private readonly sources = new Map<CompiledStructure, StructureDefinitionLike | undefined>();
  readonly stats: ScreenStats = { accepted: 0, rejected: new Map() };

  constructor(private readonly parts: ValidatorParts) {
    const { base, profiles, sds } = parts;
    const plans = new PlanCompiler({
      baseStructure: (type) => base.structure(type),
      sourceOf: (s) => {
        if (!this.sources.has(s)) this.sources.set(s, sds.get(s.url) ?? (s.url.startsWith(HL7_SD) ? base.byType.get(s.type) : undefined));
        return this.sources.get(s);
      },
      isBase: (s) => !sds.has(s.url),
    });
    this.screen = new Screen({
      plans,
      invariants: new FastInvariants(),
      terminology: parts.terminology,
      baseStructure: (type) => base.structure(type),
      igStructure: (url) => profiles.get(url),
      typeInvariants: (type) => base.typeInvariants(type),
      profileType: (url) => this.profileType(url),
      referenceType: (ref, refTypes) => this.referenceType(ref, refTypes),
      skippedInvariants: parts.skipped,
    });
  }

  /** Same resolution as the reference engine: IG profile → its type; HL7 base or R4 profile URL → the resource type. */
  private profileType(url: string): string | undefined {
    const p = this.parts.profiles.get(url.split('|')[0]);
    if (p) return p.type;
    if (!url.startsWith(HL7_SD)) return undefined;
    const t = url.slice(HL7_SD.length);
    if (this.parts.base.byType.has(t)) return t;
    return this.parts.base.resourceTypes.has(t) ? t : undefined;
  }

  /** Contained references are rejected before this is asked (no contained resources pass the screen). */
  private referenceType(ref: string, refTypes: Map<string, string> | undefined): string | undefined {
    if (ref.startsWith('#')) return undefined;
    const fromBundle = refTypes?.get(ref);
    if (fromBundle) return fromBundle;
    const m = LITERAL_REFERENCE.exec(ref) ?? CONDITIONAL_REFERENCE.exec(ref);
    return m && this.parts.base.resourceTypes.has(m[1] as string) ? m[1] : undefined;
  }

  knownProfiles(): string[] {
    return this.parts.reference.knownProfiles();
  }

  hasProfile(url: string): boolean {
    return this.parts.reference.hasProfile(url);
  }

  validate(resource: Record<string, unknown>, options?: ValidateOptions): ValidationResult {
    if (!resource || typeof resource !== 'object' || Array.isArray(resource) || typeof resource.resourceType !== 'string') {
      return this.parts.reference.validate(resource, options);
    }
    const issues: ValidationIssue[] = [];
    this.validateTree(resource, options?.profile, '', undefined, issues);
    return { valid: !issues.some((i) => i.severity === 'error' || i.severity === 'fatal'), issues };
  }

  /**
   * The reference engine's tree walk (a resource, then each Bundle entry's resource with an indexed prefix), with
   * the screen in front of each node: only the nodes it rejects are validated by the reference engine, so one
   * entry with a finding does not send the whole Bundle down the slow path.
   */
  private validateTree(
    resource: Record<string, unknown>,
    profile: string | undefined,
    prefix: string,
    outerRefs: Map<string, string> | undefined,
    issues: ValidationIssue[],
  ): void {
    const entries = resource.resourceType === 'Bundle' && Array.isArray(resource.entry) ? (resource.entry as unknown[]) : [];
    const refTypes = this.referenceTypes(entries, outerRefs);
    const screened = this.screenNode(resource, profile, refTypes);
    if (typeof screened === 'string') {
      issues.push(...this.parts.reference.validateNode(resource, profile, prefix, refTypes ?? new Map()));
    } else if (screened.length) {
      // warnings the screen states itself, prefixed and de-duplicated as the reference engine does
      const seen = new Set<string>();
      for (const w of screened) {
        const full = prefix + w.path;
        const key = `${w.severity}|${full}|${w.message}`;
        if (seen.has(key)) continue;
        seen.add(key);
        issues.push({ ...w, path: full });
      }
    }
    entries.forEach((e, i) => {
      const r = (e as { resource?: unknown } | null)?.resource as Record<string, unknown> | undefined;
      if (!r || typeof r !== 'object' || typeof r.resourceType !== 'string') return;
      this.validateTree(r, undefined, `${prefix}Bundle.entry[${i}].resource.`, refTypes, issues);
    });
  }

  /** fullUrl → resource type of a Bundle's entries, on top of the enclosing Bundles' (as the reference engine). */
  private referenceTypes(entries: unknown[], outer: Map<string, string> | undefined): Map<string, string> | undefined {
    if (!entries.length) return outer;
    const refTypes = new Map(outer);
    for (const e of entries) {
      const entry = e as { fullUrl?: unknown; resource?: { resourceType?: unknown } } | null;
      if (entry && typeof entry.fullUrl === 'string' && typeof entry.resource?.resourceType === 'string') refTypes.set(entry.fullUrl, entry.resource.resourceType);
    }
    return refTypes;
  }

  /**
   * The warnings when the screen accepts this node (a Bundle: without its entries' resources), else the reason it
   * stopped.
   */
  private screenNode(resource: Record<string, unknown>, profile: string | undefined, refTypes: Map<string, string> | undefined): ValidationIssue[] | string {
    try {
      const warnings = this.screenOne(resource, profile, refTypes);
      this.stats.accepted++;
      return warnings;
    } catch (e) {
      // anything unexpected (a defect of the screen) also goes to the reference engine rather than passing
      const reason = e instanceof Rejected ? e.reason : `screen failure: ${e instanceof Error ? e.message : String(e)}`;
      // reasons can quote input (unknown keys): bounded, so a long-running engine does not grow with its input
      const key = this.stats.rejected.has(reason) || this.stats.rejected.size < MAX_REASONS ? reason : 'other';
      this.stats.rejected.set(key, (this.stats.rejected.get(key) ?? 0) + 1);
      return reason;
    }
  }

  /**
   * undefined when the screen accepts the resource (the reference engine would report nothing), otherwise the first
   * rule it stopped at. Exposed for tests and diagnostics.
   */
  explainRejection(resource: Record<string, unknown>, options?: ValidateOptions): string | undefined {
    if (!resource || typeof resource !== 'object' || Array.isArray(resource) || typeof resource.resourceType !== 'string') return 'not a resource';
    return this.firstRejection(resource, options?.profile, undefined);
  }

  private firstRejection(resource: Record<string, unknown>, profile: string | undefined, outerRefs: Map<string, string> | undefined): string | undefined {
    const entries = resource.resourceType === 'Bundle' && Array.isArray(resource.entry) ? (resource.entry as unknown[]) : [];
    const refTypes = this.referenceTypes(entries, outerRefs);
    const own = this.screenNode(resource, profile, refTypes);
    if (typeof own === 'string') return own;
    for (const e of entries) {
      const r = (e as { resource?: unknown } | null)?.resource as Record<string, unknown> | undefined;
      if (!r || typeof r !== 'object' || typeof r.resourceType !== 'string') continue;
      const inner = this.firstRejection(r, undefined, refTypes);
      if (inner !== undefined) return inner;
    }
    return undefined;
  }

  private screenOne(resource: Record<string, unknown>, profileOption: string | undefined, refTypes: Map<string, string> | undefined): ValidationIssue[] {
    const type = resource.resourceType as string;
    if (Array.isArray(resource.contained) && resource.contained.length) throw new Rejected('contained resources');
    const base = this.parts.base;
    const ctx: ScreenContext = { resource, refTypes, errorsOnly: false, path: [], soft: [] };
    const meta = resource.meta as { profile?: unknown } | undefined;
    const declared = Array.isArray(meta?.profile) ? (meta.profile as unknown[]).filter((p): p is string => typeof p === 'string') : [];
    const targets = profileOption ? [profileOption] : declared;
    let baseDone = false;
    const checkBase = (): void => {
      if (baseDone) return;
      baseDone = true;
      const structure = base.structure(type);
      if (!structure) throw new Rejected(`unknown resource type ${type}`);
      this.screen.checkResource(resource, structure, ctx);
      if (type === 'Bundle') {
        this.bundleRules ??= [base.elementInvariants('Bundle', 'Bundle'), base.elementInvariants('Bundle', 'Bundle.entry')];
        this.screen.checkBundle(resource, this.bundleRules[0], this.bundleRules[1], ctx);
      }
      this.checkSkippedByMedplum(resource, type, ctx);
    };
    if (!targets.length) checkBase();
    for (const url of targets) {
      const { canonical, medplumType } = this.target(url);
      if (canonical === `${HL7_SD}${type}`) {
        checkBase();
        continue;
      }
      const profile = this.parts.resourceProfiles.has(canonical) ? this.parts.profiles.get(canonical) : undefined;
      if (!profile) throw new Rejected(`unknown profile ${url}`);
      if (profile.type !== type) throw new Rejected(`profile ${url} is for ${profile.type}`);
      const profiled: ScreenContext = { ...ctx, medplumType, profile: canonical };
      this.screen.checkResource(resource, profile, profiled);
      this.checkSkippedByMedplum(resource, type, profiled);
    }
    return ctx.soft;
  }

  private readonly skippedByMedplum = new Map<string, Constraint[]>();
  /** bdl-* on the Bundle and on Bundle.entry, read once from the R4 definition */
  private bundleRules: [Constraint[], Constraint[]] | undefined;

  /** org-1 (and dom-3, irrelevant without contained resources): base invariants Medplum skips and the walker checks. */
  private checkSkippedByMedplum(resource: Record<string, unknown>, type: string, ctx: ScreenContext): void {
    let rules = this.skippedByMedplum.get(type);
    if (!rules) {
      rules = this.parts.base.medplumSkipped(type).filter((c) => c.key !== 'dom-3');
      this.skippedByMedplum.set(type, rules);
    }
    if (rules.length) this.screen.checkRootRules(resource, type, rules, ctx);
  }

  private readonly targetsCache = new Map<string, { canonical: string; medplumType: string }>();

  /** Canonical URL (version dropped) and Medplum type name of a declared profile, computed once per URL. */
  private target(url: string): { canonical: string; medplumType: string } {
    let t = this.targetsCache.get(url);
    if (!t) {
      const canonical = url.split('|')[0] as string;
      t = { canonical, medplumType: medplumTypeName(canonical) };
      // only URLs of known profiles are kept: declared URLs come from the input
      if (this.parts.resourceProfiles.has(canonical) || canonical.startsWith(HL7_SD)) {
        if (this.targetsCache.size < MAX_REASONS * 5) this.targetsCache.set(url, t);
      }
    }
    return t;
  }
}
