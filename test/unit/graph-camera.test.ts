// The graph webview's camera maths (webview/camera.ts): fitting, bringing a node into view,
// resizes and the visible region.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  centreOf,
  centreOn,
  DETAIL_SCALE,
  fitTransform,
  FIT_MARGIN,
  keepCentre,
  MAX_FIT_SCALE,
  MAX_READABLE_SCREENS,
  panIntoView,
  READABLE_SCALE,
  visibleRegion,
  type Transform,
} from '../../webview/camera.ts';

const screen = (t: Transform, p: { x: number; y: number }): { x: number; y: number } => ({ x: t.x + p.x * t.k, y: t.y + p.y * t.k });

describe('graph camera', () => {
  it('fits a small graph whole and centred, never zoomed past MAX_FIT_SCALE', () => {
    const t = fitTransform({ width: 300, height: 100 }, { width: 1200, height: 800 });
    assert.equal(t.k, MAX_FIT_SCALE);
    assert.deepEqual(screen(t, { x: 150, y: 50 }), { x: 600, y: 400 });
  });

  it('a wide lineage is not fitted into a thin band of unreadable names: readable zoom, from its left edge, centred vertically', () => {
    // Six layers of 220 px nodes: fitted whole in 1,200 px it would be at ~0.57 (7 px names).
    const bounds = { width: 2000, height: 300 };
    const size = { width: 1200, height: 700 };
    const t = fitTransform(bounds, size);
    assert.equal(t.k, READABLE_SCALE);
    assert.ok(13 * t.k >= 10, 'names are at least 10 px');
    assert.equal(t.x, FIT_MARGIN, 'the left edge of the graph (its sources) is in view');
    assert.equal(screen(t, { x: 0, y: 150 }).y, 350, 'centred vertically');
  });

  it('the same when the lineage would be fitted as blocks without names (a narrow editor)', () => {
    const t = fitTransform({ width: 2000, height: 300 }, { width: 730, height: 700 });
    assert.ok((730 - 40) / 2000 < DETAIL_SCALE, 'fitted whole it would be the overview');
    assert.equal(t.k, READABLE_SCALE);
  });

  it('a graph many screens large (hundreds of assets) is fitted whole, as the overview', () => {
    const t = fitTransform({ width: 40000, height: 30000 }, { width: 1200, height: 800 });
    assert.ok(t.k < DETAIL_SCALE);
    const r = visibleRegion(t, { width: 1200, height: 800 });
    assert.ok(r.x0 <= 0 && r.y0 <= 0 && r.x1 >= 40000 && r.y1 >= 30000);
  });

  it('any fit shows the whole graph, or is at READABLE_SCALE (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 50000 }),
        fc.integer({ min: 50, max: 50000 }),
        fc.integer({ min: 300, max: 3000 }),
        fc.integer({ min: 300, max: 2000 }),
        (bw, bh, w, h) => {
          const t = fitTransform({ width: bw, height: bh }, { width: w, height: h });
          const r = visibleRegion(t, { width: w, height: h });
          const whole = r.x0 <= 1e-9 && r.y0 <= 1e-9 && r.x1 >= bw - 1e-6 && r.y1 >= bh - 1e-6;
          // Whole, or readable; never small names when a readable view was a few screens away.
          return (
            t.k <= MAX_FIT_SCALE &&
            (whole || t.k === READABLE_SCALE) &&
            !(t.k < READABLE_SCALE && t.k >= READABLE_SCALE / MAX_READABLE_SCREENS)
          );
        },
      ),
    );
  });

  it('panIntoView moves a node just inside the edge it was past, and not at all when it is in view', () => {
    const size = { width: 800, height: 600 };
    const t = { x: 0, y: 0, k: 1 };
    assert.deepEqual(panIntoView({ x: 400, y: 300, width: 220, height: 64 }, size, t), { dx: 0, dy: 0 });
    // Past the right edge: its right side comes to 16 px inside.
    const d = panIntoView({ x: 780, y: 300, width: 220, height: 64 }, size, t);
    assert.deepEqual(d, { dx: 800 - 16 - 890, dy: 0 });
    // Above the top: its top comes to 16 px.
    assert.deepEqual(panIntoView({ x: 400, y: 0, width: 220, height: 64 }, size, t), { dx: 0, dy: 16 + 32 });
  });

  it('keepCentre keeps the graph point at the centre through a resize (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.05, max: 3, noNaN: true }),
        fc.integer({ min: -5000, max: 5000 }),
        fc.integer({ min: -5000, max: 5000 }),
        fc.integer({ min: 100, max: 3000 }),
        fc.integer({ min: 100, max: 3000 }),
        fc.integer({ min: 100, max: 3000 }),
        fc.integer({ min: 100, max: 3000 }),
        (k, x, y, w0, h0, w1, h1) => {
          const t = { k, x, y };
          const before = centreOf(t, { width: w0, height: h0 });
          const after = centreOf(keepCentre(t, { width: w0, height: h0 }, { width: w1, height: h1 }), { width: w1, height: h1 });
          return Math.abs(before.x - after.x) < 1e-6 && Math.abs(before.y - after.y) < 1e-6;
        },
      ),
    );
  });

  it('centreOn puts a point at the centre; visibleRegion is what the screen shows', () => {
    const size = { width: 1000, height: 500 };
    const t = centreOn({ x: 300, y: 200 }, size, 2);
    assert.deepEqual(centreOf(t, size), { x: 300, y: 200 });
    assert.deepEqual(visibleRegion(t, size), { x0: 50, y0: 75, x1: 550, y1: 325 });
    assert.deepEqual(visibleRegion(t, size, 0.5), { x0: -200, y0: -50, x1: 800, y1: 450 });
  });
});
