/**
 * Realistic, varied synthetic inputs for the benchmark: distinct (fictitious) patients, distinct
 * control ids, varying OBX counts and document sizes — never one message repeated.
 */
import { syntheticAdt, syntheticCodiceFiscale } from '../test/support/synthetic.ts';

export { syntheticAdt };

/** A small deterministic PRNG so runs are comparable. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LAB_TESTS: Array<[string, string, string, number, number]> = [
  ['718-7', 'Emoglobina', 'g/dL', 12, 17], ['789-8', 'Eritrociti', '10*12/L', 4.2, 5.9], ['6690-2', 'Leucociti', '10*9/L', 4, 10],
  ['777-3', 'Piastrine', '10*9/L', 150, 400], ['4544-3', 'Ematocrito', '%', 37, 50], ['2345-7', 'Glucosio', 'mg/dL', 70, 105],
  ['2160-0', 'Creatinina', 'mg/dL', 0.6, 1.2], ['3094-0', 'Azotemia', 'mg/dL', 10, 50], ['2951-2', 'Sodio', 'mmol/L', 135, 145],
  ['2823-3', 'Potassio', 'mmol/L', 3.5, 5.1], ['1742-6', 'ALT', 'U/L', 7, 56], ['1920-8', 'AST', 'U/L', 10, 40],
  ['2093-3', 'Colesterolo totale', 'mg/dL', 120, 200], ['2571-8', 'Trigliceridi', 'mg/dL', 40, 150], ['1975-2', 'Bilirubina totale', 'mg/dL', 0.2, 1.2],
  ['17861-6', 'Calcio', 'mg/dL', 8.5, 10.5],
];

/** ORU^R01 for patient n with `obxCount` numeric results (mean 12 when drawn by `oruObxCount`). */
export function syntheticOru(n: number, obxCount: number, random: () => number, controlId = `SYN-ORU-${n}`): string {
  const time = `202403${String(1 + (n % 28)).padStart(2, '0')}0930${String(n % 60).padStart(2, '0')}`;
  const cf = syntheticCodiceFiscale(n);
  const segments = [
    `MSH|^~\\&|LAB_DEMO|ASST_DEMO_NORD|CDR|REGIONE_LOMBARDIA|${time}||ORU^R01^ORU_R01|${controlId}|P|2.5|||AL|NE||UNICODE UTF-8`,
    `PID|1||SYN${String(n).padStart(7, '0')}^^^ASST_DEMO_NORD^PI~${cf}^^^MEF^NNITA||TEST${n}^PAZIENTE^^^^^L||19${40 + (n % 60)}0${1 + (n % 9)}15|${n % 2 ? 'M' : 'F'}`,
    `PV1|1|O|LAB^^^ASST_DEMO_NORD||||||||||||||||NOS-LAB-${n}`,
    `ORC|RE|ORD-${n}|LAB-${n}||CM`,
    `OBR|1|ORD-${n}|LAB-${n}|24331-1^Pannello ematochimico^LN|||${time}|||||||${time}|^^^SANGUE||||||||${time}|||F`,
  ];
  for (let i = 0; i < obxCount; i++) {
    const [code, name, unit, low, high] = LAB_TESTS[(n + i) % LAB_TESTS.length]!;
    const value = (low + (high - low) * (random() * 1.4 - 0.2)).toFixed(unit === '%' || high < 20 ? 1 : 0);
    const flag = Number(value) < low ? 'L' : Number(value) > high ? 'H' : 'N';
    segments.push(`OBX|${i + 1}|NM|${code}^${name}^LN||${value}|${unit}|${low}-${high}|${flag}|||F|||${time}`);
  }
  segments.push(`NTE|1||Referto validato elettronicamente (dato sintetico di test)`);
  return `${segments.join('\r')}\r`;
}

/** OBX counts between 6 and 18, mean 12. */
export function oruObxCount(random: () => number): number {
  return 6 + Math.floor(random() * 13);
}
