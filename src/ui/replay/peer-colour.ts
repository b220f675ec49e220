/**
 * The colour of one peer's cell in the replay grid, with no DOM (the page reads the palette
 * from CSS once per colour scheme): the hue says where its pieces came from, from the peers'
 * colour (all from peers) to the CDN's (all from the CDN), and how far it is from the empty
 * colour says how many it holds. A peer not in the swarm is the absent colour. Liars and
 * stallers keep that fill and get a frame of their own colour (peerMark).
 */
import type { SimPeerKind } from '../../protocol/sim-recording.js';

export type Rgb = readonly [number, number, number];

export interface ReplayPalette {
  peer: Rgb;
  cdn: Rgb;
  /** A peer in the swarm with no piece yet. */
  empty: Rgb;
  /** A peer not in the swarm (not arrived, or left). */
  absent: Rgb;
  liar: Rgb;
  staller: Rgb;
}

/** A peer with no piece is this far from `empty` towards its hue, so that it reads as present. */
const MIN_STRENGTH = 0.18;

/** '#rgb' or '#rrggbb' (what the page's CSS and a canvas's fillStyle give); undefined otherwise. */
export function parseHex(colour: string): Rgb | undefined {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(colour.trim());
  if (!m) return undefined;
  const hex = m[1]!.length === 3 ? [...m[1]!].map((c) => c + c).join('') : m[1]!;
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgb;
}

function rgbToHsl([r, g, b]: Rgb): [number, number, number] {
  const [rr, gg, bb] = [r / 255, g / 255, b / 255];
  const max = Math.max(rr, gg, bb);
  const min = Math.min(rr, gg, bb);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  const h = max === rr ? (gg - bb) / d + (gg < bb ? 6 : 0) : max === gg ? (bb - rr) / d + 2 : (rr - gg) / d + 4;
  return [h * 60, s, l];
}

function hslToRgb([h, s, l]: readonly [number, number, number]): Rgb {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1));
  return [f(0), f(8), f(4)].map((v) => Math.round(v * 255)) as unknown as Rgb;
}

/** `from` to `to` by `w` (0-1), in RGB. */
export function mix(from: Rgb, to: Rgb, w: number): Rgb {
  return [0, 1, 2].map((i) => Math.round(from[i]! + (to[i]! - from[i]!) * w)) as unknown as Rgb;
}

/** The peers' colour to the CDN's by `cdnShare` (0-1), through the hues between (HSL, the short way round). */
export function sourceHue(palette: ReplayPalette, cdnShare: number): Rgb {
  const a = rgbToHsl(palette.peer);
  const b = rgbToHsl(palette.cdn);
  let dh = b[0] - a[0];
  if (dh > 180) dh -= 360;
  if (dh < -180) dh += 360;
  const w = Math.max(0, Math.min(1, cdnShare));
  return hslToRgb([(a[0] + dh * w + 360) % 360, a[1] + (b[1] - a[1]) * w, a[2] + (b[2] - a[2]) * w]);
}

/** The fill of a peer holding `have` pieces of `pieceCount` (-1: not in the swarm), `fromCdn` of them from the CDN. */
export function peerFill(palette: ReplayPalette, have: number, fromCdn: number, pieceCount: number): Rgb {
  if (have < 0) return palette.absent;
  const progress = Math.max(0, Math.min(1, have / pieceCount));
  const hue = sourceHue(palette, have > 0 ? Math.min(have, fromCdn) / have : 0);
  return mix(palette.empty, hue, MIN_STRENGTH + (1 - MIN_STRENGTH) * progress);
}

/** The frame colour that marks a liar or a staller; undefined for an honest peer. */
export function peerMark(palette: ReplayPalette, kind: SimPeerKind): Rgb | undefined {
  return kind === 'liar' ? palette.liar : kind === 'staller' ? palette.staller : undefined;
}
