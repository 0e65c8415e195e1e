/** Markdown cells and tables for the report. */
import type { ContenderResult } from './contest.ts';
import type { Summary } from './stats.ts';

export function seconds(summary: Summary): string {
  if (summary.samples === 0) return '–';
  return `${summary.median.toFixed(2)} (${summary.min.toFixed(2)} – ${summary.max.toFixed(2)})`;
}

export function rate(messages: number, summary: Summary): string {
  return summary.samples === 0 ? '–' : (messages / summary.median).toFixed(0);
}

export function resources(result: ContenderResult): string {
  const cpu = result.cpuSeconds ? `${result.cpuSeconds.median.toFixed(2)} s` : '–';
  const rss = result.peakRssMiB ? `${result.peakRssMiB.median.toFixed(0)} MiB` : '–';
  return `${cpu}, ${rss}`;
}

export function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cellText = (cell: string) => cell.replaceAll('|', '\\|');
  return [
    `| ${header.map(cellText).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cellText).join(' | ')} |`),
  ].join('\n');
}
