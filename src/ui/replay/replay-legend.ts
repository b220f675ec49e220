/** The grid's legend, drawn with the very colours the grid uses (peer-colour.ts). */
import { peerFill, type ReplayPalette } from './peer-colour.js';
import { cssRgb } from './replay-palette.js';

function item(label: string, style: (swatch: HTMLElement) => void, key: string): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.legend = key;
  const swatch = document.createElement('span');
  swatch.className = 'swatch';
  style(swatch);
  li.append(swatch, label);
  return li;
}

export function renderLegend(ul: HTMLElement, palette: ReplayPalette): void {
  const n = 100;
  const fill = (have: number, fromCdn: number) => cssRgb(peerFill(palette, have, fromCdn, n));
  const ramp = [0, 25, 50, 75, 100].map((h) => fill(h, 0)).join(', ');
  const sources = [0, 25, 50, 75, 100].map((c) => fill(n, c)).join(', ');
  const source = item(
    'from the CDN',
    (s) => {
      s.classList.add('wide');
      s.style.background = `linear-gradient(to right, ${sources})`;
      s.style.marginLeft = '0.35rem';
    },
    'source',
  );
  source.prepend('Pieces from peers');
  ul.replaceChildren(
    source,
    item(
      'Pieces held: none to all',
      (s) => {
        s.classList.add('wide');
        s.style.background = `linear-gradient(to right, ${ramp})`;
      },
      'progress',
    ),
    item('Not in the swarm', (s) => (s.style.background = cssRgb(palette.absent)), 'absent'),
    item('Liar (frame)', (s) => {
      s.classList.add('marked');
      s.style.borderColor = cssRgb(palette.liar);
      s.style.background = fill(n / 2, 0);
    }, 'liar'),
    item('Staller (frame)', (s) => {
      s.classList.add('marked');
      s.style.borderColor = cssRgb(palette.staller);
      s.style.background = fill(n / 2, 0);
    }, 'staller'),
  );
}
