/**
 * Redraws that touch the page only where something changed. The views redraw a few times a
 * second during a download; rebuilding unchanged elements (and reading computed styles each
 * time) made the browser recompute style, layout and paint for nothing: in the tab-to-tab
 * bench the two tabs' views cost about a tenth of their renderers' CPU.
 */

const lastKeys = new WeakMap<Element, string>();

/** Replaces `parent`'s children with `build()` unless `key` is the one given last time for `parent`. */
export function replaceIfChanged(parent: Element, key: string, build: () => Node[]): void {
  if (lastKeys.get(parent) === key) return;
  lastKeys.set(parent, key);
  parent.replaceChildren(...build());
}

/** Sets `el`'s text unless it already is `text`. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

const colours = new Map<string, string>();
if (typeof matchMedia === 'function') matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => colours.clear());

/** The value of CSS custom property `name` on the root (a colour), read once per colour scheme. */
export function cssColour(name: string): string {
  let c = colours.get(name);
  if (c === undefined) {
    c = getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
    colours.set(name, c);
  }
  return c;
}

/** A figure of a `<dl>` panel: its key (`data-figure` of its `<dd>`, for tests), label and value. */
export type Figure = [key: string, label: string, value: string];

/** Fills a `<dl>` with one `<div><dt>label</dt><dd>value</dd></div>` per figure, only when they changed. */
export function renderFigures(dl: Element, figures: Figure[]): void {
  replaceIfChanged(dl, JSON.stringify(figures), () =>
    figures.map(([key, label, value]) => {
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.dataset.figure = key;
      dd.textContent = value;
      div.append(dt, dd);
      return div;
    }),
  );
}
