/**
 * Synthetic HL7 v2 messages for load and fault tests: distinct, obviously fictitious patients
 * (surname TEST..., codice fiscale with a valid check character), distinct control ids and visits.
 */
const ODD: Record<string, number> = {
  0: 1, 1: 0, 2: 5, 3: 7, 4: 9, 5: 13, 6: 15, 7: 17, 8: 19, 9: 21, A: 1, B: 0, C: 5, D: 7, E: 9, F: 13, G: 15, H: 17, I: 19, J: 21,
  K: 2, L: 4, M: 18, N: 20, O: 11, P: 3, Q: 6, R: 8, S: 12, T: 14, U: 16, V: 10, W: 22, X: 25, Y: 24, Z: 23,
};

export function codiceFiscaleCheckChar(first15: string): string {
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const ch = first15[i]!;
    if (i % 2 === 0) sum += ODD[ch]!;
    else sum += /\d/.test(ch) ? Number(ch) : ch.charCodeAt(0) - 65;
  }
  return String.fromCharCode(65 + (sum % 26));
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A fictitious but well-formed codice fiscale for patient number n (surname code TST, name code from n). */
export function syntheticCodiceFiscale(n: number): string {
  const nameCode = `${LETTERS[Math.floor(n / 676) % 26]}${LETTERS[Math.floor(n / 26) % 26]}${LETTERS[n % 26]}`;
  const year = String(40 + (n % 60)).padStart(2, '0');
  const month = 'ABCDEHLMPRST'[n % 12]!;
  const day = String(1 + (n % 28)).padStart(2, '0');
  const first15 = `TST${nameCode}${year}${month}${day}F205`;
  return first15 + codiceFiscaleCheckChar(first15);
}

export interface AdtOptions {
  controlId?: string;
  trigger?: 'A01' | 'A04' | 'A08';
  messageTime?: string;
}

export function syntheticAdt(n: number, options: AdtOptions = {}): string {
  const trigger = options.trigger ?? 'A01';
  const controlId = options.controlId ?? `SYN-${trigger}-${n}`;
  const cf = syntheticCodiceFiscale(n);
  const time = options.messageTime ?? '20240311095000';
  return [
    `MSH|^~\\&|ADT_DEMO|ASST_DEMO_NORD|CDR|REGIONE_LOMBARDIA|${time}||ADT^${trigger}^ADT_A01|${controlId}|P|2.5|||AL|NE||UNICODE UTF-8`,
    `EVN|${trigger}|${time}`,
    `PID|1||SYN${String(n).padStart(7, '0')}^^^ASST_DEMO_NORD^PI~${cf}^^^MEF^NNITA||TEST${n}^PAZIENTE^^^^^L||19${40 + (n % 60)}0${1 + (n % 9)}15|${n % 2 ? 'M' : 'F'}|||VIA DI PROVA ${n}^^MILANO^MI^20100^IT^L||^PRN^PH^^^^^^^^^02${String(n).padStart(8, '0')}`,
    `PV1|1|I|MED${n % 5}^${100 + (n % 40)}^A^ASST_DEMO_NORD^^^^^MEDICINA ${n % 5}|U|||||||||||||||NOS-SYN-${n}|||||||||||||||||||||||||${time}`,
  ].join('\r') + '\r';
}
