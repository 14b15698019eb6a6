import type { CorpusReport, ReasonCount } from './run.ts';

/** The corpus report as plain text tables (stdout). */

const pct = (n: number, of: number) => (of === 0 ? '   -' : `${((100 * n) / of).toFixed(1).padStart(5)}%`);

function table(rows: string[][], align: Array<'l' | 'r'>): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((row) => row.map((cell, c) => (align[c] === 'r' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

function reasons(title: string, list: ReasonCount[], top: number): string[] {
  if (list.length === 0) return [];
  const total = list.reduce((n, r) => n + r.count, 0);
  const lines = [`${title}: ${total} in ${list.length} group(s)${list.length > top ? `, top ${top}` : ''}`];
  for (const r of list.slice(0, top)) lines.push(`  ${String(r.count).padStart(5)}  ${r.reason}   [e.g. ${r.example}]`);
  return lines;
}

export function formatCorpusReport(report: CorpusReport, options: { top?: number; coverage?: boolean } = {}): string {
  const top = options.top ?? 10;
  const out: string[] = [];
  const formats = Object.entries(report.byFormat).filter(([, n]) => n > 0).map(([f, n]) => `${f} ${n}`).join(', ');
  out.push(`corpus ${report.dir}: ${report.files} files (${formats || 'none recognised'}; skipped ${report.skipped.notMessages} non-message files, ${report.skipped.unrecognised} unrecognised) in ${report.seconds} s`);
  out.push(`plugins used: ${Object.entries(report.plugins).map(([p, n]) => `${p} (${n} files)`).join(', ') || 'none'}`);
  out.push('');
  const noRoute = report.noRoute.reduce((n, r) => n + r.count, 0);
  const stageFailures = (stage: string) => (report.failures[stage] ?? []).reduce((n, r) => n + r.count, 0);
  out.push(...table([
    ['stage', 'messages', 'of input', 'lost here'],
    ['input', String(report.messages), pct(report.messages, report.messages), ''],
    ['parsed', String(report.parsed), pct(report.parsed, report.messages), String(stageFailures('parse'))],
    ['routed', String(report.routed), pct(report.routed, report.messages), `${noRoute} no route, ${stageFailures('route')} other`],
    ['mapped', String(report.mapped), pct(report.mapped, report.messages), `${stageFailures('hook')} hook, ${stageFailures('map')} map`],
    ['valid', String(report.valid), pct(report.valid, report.messages), String(report.mapped - report.valid)],
  ], ['l', 'r', 'r', 'l']));
  out.push(`resources produced: ${report.resources}`);
  out.push('');
  out.push(...reasons('no route (format and message/document type)', report.noRoute, top));
  for (const stage of ['parse', 'route', 'hook', 'map', 'validate']) {
    const label = stage === 'validate' ? 'invalid output (resource path: rule; messages affected)' : `${stage} failures`;
    const lines = reasons(label, report.failures[stage] ?? [], top);
    if (lines.length) out.push('', ...lines);
  }
  if (options.coverage !== false) {
    out.push('', 'IG coverage (elements populated by the outputs, over the whole folder; * = required by the profile)');
    if (report.coverage.length === 0) out.push('  no output claims an IG profile');
    for (const profile of report.coverage) {
      const populated = profile.elements.filter((e) => profile.populated.has(e.id));
      const elements = profile.elements.filter((e) => !e.match);
      const slices = profile.elements.filter((e) => e.match);
      const share = (id: string) => pct(profile.populated.get(id) ?? 0, profile.resources).trim();
      out.push(`  ${profile.url.split('/').pop()} (${profile.type}): ${profile.resources} resource(s), ${populated.length}/${profile.elements.length} elements and slices populated`);
      out.push(`    populated: ${elements.filter((e) => profile.populated.has(e.id)).map((e) => `${e.id}${e.min > 0 ? '*' : ''} ${share(e.id)}`).join(', ') || '-'}`);
      if (slices.length) out.push(`    slices: ${slices.map((e) => `${e.id} ${share(e.id)}`).join(', ')}`);
      const gaps = profile.elements.filter((e) => !profile.populated.has(e.id) && !e.match);
      out.push(`    not populated: ${gaps.map((e) => `${e.id}${e.min > 0 ? '*' : ''}`).join(', ') || '-'}`);
    }
    const unprofiled = Object.entries(report.unprofiled);
    if (unprofiled.length) out.push(`  without an IG profile (validated against base FHIR R4): ${unprofiled.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}
