/**
 * Binding checks against the code sets of ig/terminology/valuesets.json
 * (`{ [valueSetUrl]: { [system]: string[] | "*" } }`, "*" = system included but not enumerable here).
 */

export type CodeSetFile = Record<string, Record<string, string[] | '*'>>;

interface IndexedValueSet {
  systems: Map<string, Set<string> | '*'>;
  /** every enumerated code, for bindings on a bare `code` element (system implied) */
  codes: Set<string>;
  /** some system is not enumerable: codes outside the enumerated ones cannot be judged */
  open: boolean;
}

export type Membership = 'in' | 'not-in' | 'unknown';

export class Terminology {
  private readonly index = new Map<string, IndexedValueSet | null>();
  constructor(private readonly file: CodeSetFile) {}

  has(url: string): boolean {
    return this.get(url) !== undefined;
  }

  private get(url: string): IndexedValueSet | undefined {
    const cached = this.index.get(url);
    if (cached !== undefined) return cached ?? undefined;
    const raw = this.file[url];
    if (!raw) {
      this.index.set(url, null);
      return undefined;
    }
    const systems = new Map<string, Set<string> | '*'>();
    const codes = new Set<string>();
    let open = false;
    for (const [system, list] of Object.entries(raw)) {
      if (list === '*') {
        systems.set(system, '*');
        open = true;
      } else {
        systems.set(system, new Set(list));
        for (const c of list) codes.add(c);
      }
    }
    const vs = { systems, codes, open };
    this.index.set(url, vs);
    return vs;
  }

  /** A bare code (code/string/uri element): the system is implied by the binding. */
  checkCode(url: string, code: string): Membership {
    const vs = this.get(url);
    if (!vs) return 'unknown';
    if (vs.codes.has(code)) return 'in';
    return vs.open ? 'unknown' : 'not-in';
  }

  checkCoding(url: string, system: string | undefined, code: string | undefined): Membership {
    const vs = this.get(url);
    if (!vs) return 'unknown';
    if (code === undefined) return 'not-in';
    if (system === undefined) return vs.codes.has(code) ? 'unknown' : vs.open ? 'unknown' : 'not-in';
    const set = vs.systems.get(system);
    if (set === '*') return 'unknown';
    if (set) return set.has(code) ? 'in' : 'not-in';
    return 'not-in';
  }
}
