//! The squarified treemap layout (Bruls, Huizing and van Wijk, 2000): areas laid out in
//! rows along the shorter side of what is left, a row growing while its worst aspect ratio
//! improves. Written here because the `treemap` crate has had no release since 2019 and
//! `dumap-layout` needs a newer Rust than this crate's `rust-version`; the algorithm is small.

/// A rectangle in the layout's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// Lay `values` (sorted largest first, all positive) out in `bounds`: one rectangle per
/// value, in order, each with an area proportional to its value, together tiling `bounds`.
pub fn squarify(values: &[f64], bounds: Rect) -> Vec<Rect> {
    let total: f64 = values.iter().sum();
    let mut out = Vec::with_capacity(values.len());
    if values.is_empty() || total <= 0.0 || bounds.w <= 0.0 || bounds.h <= 0.0 {
        out.resize(
            values.len(),
            Rect {
                w: 0.0,
                h: 0.0,
                ..bounds
            },
        );
        return out;
    }
    // Values as areas of the rectangle.
    let scale = bounds.w * bounds.h / total;
    let areas: Vec<f64> = values.iter().map(|v| v * scale).collect();
    let mut free = bounds;
    let mut start = 0;
    while start < areas.len() {
        let side = free.w.min(free.h);
        // Grow the row while the worst aspect ratio does not get worse.
        let mut end = start + 1;
        while end < areas.len()
            && worst(&areas[start..=end], side) <= worst(&areas[start..end], side)
        {
            end += 1;
        }
        let row = &areas[start..end];
        let row_area: f64 = row.iter().sum();
        // The row fills a strip along the shorter side; its thickness holds its area.
        let thickness = if side > 0.0 { row_area / side } else { 0.0 };
        let mut along = 0.0;
        for &area in row {
            let length = if thickness > 0.0 {
                area / thickness
            } else {
                0.0
            };
            out.push(if free.w >= free.h {
                // A column at the left.
                Rect {
                    x: free.x,
                    y: free.y + along,
                    w: thickness,
                    h: length,
                }
            } else {
                // A row at the top.
                Rect {
                    x: free.x + along,
                    y: free.y,
                    w: length,
                    h: thickness,
                }
            });
            along += length;
        }
        if free.w >= free.h {
            free.x += thickness;
            free.w = (free.w - thickness).max(0.0);
        } else {
            free.y += thickness;
            free.h = (free.h - thickness).max(0.0);
        }
        start = end;
    }
    out
}

/// The worst aspect ratio of a row of `areas` laid along a side of length `side`.
fn worst(areas: &[f64], side: f64) -> f64 {
    let sum: f64 = areas.iter().sum();
    let max = areas.iter().copied().fold(f64::MIN, f64::max);
    let min = areas.iter().copied().fold(f64::MAX, f64::min);
    if sum <= 0.0 || min <= 0.0 {
        return f64::INFINITY;
    }
    let side2 = side * side;
    let sum2 = sum * sum;
    (side2 * max / sum2).max(sum2 / (side2 * min))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Rect = Rect {
        x: 10.0,
        y: 20.0,
        w: 6.0,
        h: 4.0,
    };

    fn aspect(r: &Rect) -> f64 {
        (r.w / r.h).max(r.h / r.w)
    }

    /// The paper's example: areas 6, 6, 4, 3, 2, 2, 1 in a 6×4 rectangle.
    #[test]
    fn areas_are_kept_and_tile_the_bounds() {
        let values = [6.0, 6.0, 4.0, 3.0, 2.0, 2.0, 1.0];
        let rects = squarify(&values, BOUNDS);
        assert_eq!(rects.len(), values.len());
        for (r, v) in rects.iter().zip(values) {
            assert!((r.w * r.h - v).abs() < 1e-9, "{r:?} for {v}");
            assert!(r.x >= BOUNDS.x - 1e-9 && r.y >= BOUNDS.y - 1e-9);
            assert!(r.x + r.w <= BOUNDS.x + BOUNDS.w + 1e-9);
            assert!(r.y + r.h <= BOUNDS.y + BOUNDS.h + 1e-9);
        }
        // No two overlap.
        for (i, a) in rects.iter().enumerate() {
            for b in &rects[i + 1..] {
                let dx = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
                let dy = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
                assert!(dx <= 1e-9 || dy <= 1e-9, "{a:?} overlaps {b:?}");
            }
        }
        // The paper's layout: the first two share the left column, each 3 wide and 2 high
        // (to within its rounding), far squarer than slices of the 6-wide rectangle.
        assert!((rects[0].h - 2.0).abs() < 1e-9 && (rects[1].h - 2.0).abs() < 1e-9);
        assert!(rects.iter().all(|r| aspect(r) < 4.0), "{rects:?}");
    }

    #[test]
    fn degenerate_input_gives_empty_rectangles() {
        assert!(squarify(&[], BOUNDS).is_empty());
        let zero = squarify(&[0.0, 0.0], BOUNDS);
        assert!(zero.iter().all(|r| r.w == 0.0 && r.h == 0.0));
        let one = squarify(&[5.0], BOUNDS);
        assert_eq!(one, vec![BOUNDS]);
    }
}
