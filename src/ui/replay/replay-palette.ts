/**
 * The grid's palette from the page's CSS custom properties (style.css, replay/replay.css), so
 * that light and dark follow the rest of the app. A colour CSS gives in another notation is
 * put through a canvas, whose fillStyle reads back as #rrggbb.
 */
import { cssColour } from '../dom-update.js';
import { parseHex, type ReplayPalette, type Rgb } from './peer-colour.js';

let probe: CanvasRenderingContext2D | null | undefined;

function rgbOf(name: string): Rgb {
  const text = cssColour(name);
  const direct = parseHex(text);
  if (direct) return direct;
  probe ??= document.createElement('canvas').getContext('2d');
  if (probe) {
    probe.fillStyle = '#888888';
    probe.fillStyle = text;
    const read = parseHex(String(probe.fillStyle));
    if (read) return read;
  }
  return [136, 136, 136];
}

export function readPalette(): ReplayPalette {
  return {
    peer: rgbOf('--peer'),
    cdn: rgbOf('--cdn'),
    empty: rgbOf('--missing'),
    absent: rgbOf('--absent'),
    liar: rgbOf('--liar'),
    staller: rgbOf('--staller'),
  };
}

export const cssRgb = (c: Rgb): string => `rgb(${c[0]} ${c[1]} ${c[2]})`;
