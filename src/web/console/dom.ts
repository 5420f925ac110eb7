/**
 * Building the console's DOM. Text goes in as text nodes and attribute
 * values through setAttribute, so an app name, a version, a user name or
 * anything a server or an app sent is never parsed as markup. Nothing in
 * the console turns a string into HTML (tests/console-auth.test.ts checks).
 */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children.flat());
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function svg(
  tag: string,
  attrs: Record<string, string | number> = {},
  ...children: (Node | string)[]
): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

export function clear(el: Element): void {
  el.replaceChildren();
}

let liveRegion: HTMLElement | null = null;
let fade: ReturnType<typeof setTimeout> | undefined;

/** Says `text` to screen readers and shows it in the status line (role=status). */
export function announce(text: string, kind: 'info' | 'error' = 'info'): void {
  liveRegion ??= document.getElementById('status');
  if (!liveRegion) return;
  liveRegion.textContent = text;
  liveRegion.dataset.kind = kind;
  clearTimeout(fade);
  const region = liveRegion;
  if (kind === 'info') fade = setTimeout(() => (region.textContent = ''), 6000);
}

export { formatBytes } from '../../runtime/bytes.js';

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** A labelled form field: the <label for> is what screen readers read. */
export function field(
  label: string,
  input: HTMLInputElement | HTMLSelectElement,
  hint?: string,
): HTMLElement {
  input.id ||= `f-${Math.random().toString(36).slice(2, 9)}`;
  const hintEl = hint ? h('small', { id: `${input.id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl);
}

export function table(caption: string, head: string[], rows: Child[][]): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      {},
      rows.length === 0
        ? [h('tr', {}, h('td', { colspan: head.length, class: 'empty' }, 'Nothing here yet.'))]
        : rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c)))),
    ),
  );
}
