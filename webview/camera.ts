// The graph's camera maths, apart from d3 and the DOM so that it can be unit-tested: where the
// view goes to fit the graph, to bring a node into view, to keep its centre through a resize, and
// which region of the graph is on screen. A Transform maps graph space to the screen:
// screen = graph * k + (x, y).

export interface Transform {
  x: number;
  y: number;
  k: number;
}

export interface Size {
  width: number;
  height: number;
}

export interface Box {
  /** Centre of the box in graph space. */
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Below this scale the overview is drawn (13 px text would be under ~6 px). */
export const DETAIL_SCALE = 0.5;
/** Free space kept around a fitted graph (px). */
export const FIT_MARGIN = 20;
/** Never zoom in further than this to fit a small graph. */
export const MAX_FIT_SCALE = 1.2;
/** The smallest zoom at which a node's 13 px name is still read comfortably (10 px). */
export const READABLE_SCALE = 10 / 13;
/**
 * A graph that would fit whole only below READABLE_SCALE is opened at READABLE_SCALE (the rest a
 * pan away) while that is at most this many screens wide or tall; a larger one (hundreds of
 * assets) is fitted whole, as the overview's blocks, to be zoomed into.
 */
export const MAX_READABLE_SCREENS = 4;

/**
 * The transform that shows a graph of `bounds` in an area of `size`: all of it when that keeps
 * names readable, or when the graph is too large for that to be of use; else at READABLE_SCALE
 * from the graph's left edge (where data flows from), centred vertically when it fits.
 */
export function fitTransform(bounds: Size, size: Size): Transform {
  const whole = Math.min(MAX_FIT_SCALE, (size.width - 2 * FIT_MARGIN) / bounds.width, (size.height - 2 * FIT_MARGIN) / bounds.height);
  const k = whole < READABLE_SCALE && whole >= READABLE_SCALE / MAX_READABLE_SCREENS ? READABLE_SCALE : whole;
  const centred = (room: number, extent: number): number => (room - extent * k) / 2;
  return {
    k,
    x: bounds.width * k <= size.width - 2 * FIT_MARGIN ? centred(size.width, bounds.width) : FIT_MARGIN,
    y: bounds.height * k <= size.height - 2 * FIT_MARGIN ? centred(size.height, bounds.height) : FIT_MARGIN,
  };
}

/** The scale extent the zoom allows once a graph is fitted at `k`: down to half of it (and 0.01), up to 3. */
export function zoomExtent(k: number): [number, number] {
  return [Math.min(0.01, k / 2), 3];
}

/**
 * How far to pan (at the same zoom) for `box` to be wholly inside `size`, `inset` px in from its
 * edges; a box larger than the area is aligned with its top-left edge. 0, 0 when it is in view.
 */
export function panIntoView(box: Box, size: Size, t: Transform, inset = 16): { dx: number; dy: number } {
  const shift = (lo: number, hi: number, room: number): number =>
    hi - lo > room - 2 * inset ? inset - lo : lo < inset ? inset - lo : hi > room - inset ? room - inset - hi : 0;
  return {
    dx: shift(t.x + (box.x - box.width / 2) * t.k, t.x + (box.x + box.width / 2) * t.k, size.width),
    dy: shift(t.y + (box.y - box.height / 2) * t.k, t.y + (box.y + box.height / 2) * t.k, size.height),
  };
}

/** The same view after the area changed from `was` to `now`: what was at its centre stays at its centre. */
export function keepCentre(t: Transform, was: Size, now: Size): Transform {
  return { k: t.k, x: t.x + (now.width - was.width) / 2, y: t.y + (now.height - was.height) / 2 };
}

/** The region of graph space on screen, grown by `margin` (a fraction of the area) on each side. */
export function visibleRegion(t: Transform, size: Size, margin = 0): { x0: number; y0: number; x1: number; y1: number } {
  const mx = (size.width * margin) / t.k;
  const my = (size.height * margin) / t.k;
  return { x0: -t.x / t.k - mx, y0: -t.y / t.k - my, x1: (size.width - t.x) / t.k + mx, y1: (size.height - t.y) / t.k + my };
}

/** The point of graph space at the centre of the area. */
export function centreOf(t: Transform, size: Size): { x: number; y: number } {
  return { x: (size.width / 2 - t.x) / t.k, y: (size.height / 2 - t.y) / t.k };
}

/** The transform that puts graph point `p` at the centre of the area at zoom `k`. */
export function centreOn(p: { x: number; y: number }, size: Size, k: number): Transform {
  return { k, x: size.width / 2 - p.x * k, y: size.height / 2 - p.y * k };
}
