/**
 * A horizontal stacked bar chart in SVG: one bar per label, one segment per
 * series. Labels are SVG text nodes (never markup). The chart is an image to
 * assistive technology (role=img with a summary); the page puts the same
 * numbers in a table beside it.
 */
import { h, svg } from './dom.js';

export const SERIES_COLORS: Record<string, string> = {
  cloud: '#2456c9',
  stream: '#0f8a6c',
  local: '#b7791f',
  pull: '#8a4fd3',
};
const FALLBACK = ['#c0392b', '#566573', '#1f618d'];

export interface BarRow {
  label: string;
  parts: Record<string, number>;
}

export function barChart(title: string, rows: BarRow[], series: string[]): HTMLElement {
  const color = (s: string, i: number) => SERIES_COLORS[s] ?? FALLBACK[i % FALLBACK.length]!;
  const total = (r: BarRow) => series.reduce((n, s) => n + (r.parts[s] ?? 0), 0);
  const max = Math.max(1, ...rows.map(total));
  const labelW = 140;
  const barW = 420;
  const rowH = 28;
  const width = labelW + barW + 60;
  const height = Math.max(1, rows.length) * rowH + 8;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', class: 'chart' });
  chart.setAttribute(
    'aria-label',
    `${title}: ${rows.map((r) => `${r.label} ${total(r)}`).join(', ') || 'no launches yet'}`,
  );
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    chart.append(
      svg(
        'text',
        { x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end', class: 'chart-label' },
        r.label,
      ),
    );
    let x = labelW;
    series.forEach((s, si) => {
      const n = r.parts[s] ?? 0;
      if (n === 0) return;
      const w = (n / max) * barW;
      const rect = svg('rect', {
        x,
        y: y + 4,
        width: Math.max(w, 1),
        height: rowH - 10,
        rx: 3,
        fill: color(s, si),
      });
      rect.append(svg('title', {}, `${r.label}, ${s}: ${n}`));
      chart.append(rect);
      x += w;
    });
    chart.append(svg('text', { x: x + 6, y: y + rowH / 2 + 4, class: 'chart-value' }, String(total(r))));
  });
  const legend = h(
    'ul',
    { class: 'legend', 'aria-hidden': 'true' },
    ...series.map((s, i) => h('li', {}, h('span', { class: 'swatch', 'data-color': color(s, i) }), s)),
  );
  // Swatch colours through the CSSOM (the CSP allows no inline style attributes in markup).
  legend.querySelectorAll<HTMLElement>('.swatch').forEach((el) => (el.style.background = el.dataset.color!));
  return h('figure', { class: 'chart-figure' }, h('figcaption', {}, title), chart, legend);
}
