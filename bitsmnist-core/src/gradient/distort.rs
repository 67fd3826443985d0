//! Random rotations, zooms and sub-pixel shifts of training images ([`GradientParams::rotate`],
//! [`GradientParams::zoom`]): new views of 10,000 digits each epoch, where a network of this
//! size otherwise learns the training digits by heart.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::GradientParams;

/// One example's distortion, drawn by [`Warp::draw`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Warp {
    /// Rotation, radians.
    angle: f32,
    /// Scale factor.
    scale: f32,
    /// Shift right, pixels.
    dx: f32,
    /// Shift down, pixels.
    dy: f32,
}

impl Warp {
    /// A random warp within `p`'s bounds: angle, scale, then the two shifts, each uniform.
    pub(crate) fn draw(p: &GradientParams, rng: &mut ChaCha8Rng) -> Self {
        let mut within = |r: f32| {
            if r > 0.0 {
                rng.random_range(-r..=r)
            } else {
                0.0
            }
        };
        let angle = within(p.rotate).to_radians();
        let scale = 1.0 + within(p.zoom);
        let shift = f32::from(p.max_shift);
        Self {
            angle,
            scale,
            dx: within(shift),
            dy: within(shift),
        }
    }

    /// `img` (`side x side` pixels of `ch` values each, pixel by pixel) warped about its
    /// centre: each output pixel reads the input where the inverse warp takes it, bilinearly,
    /// with `bg` outside the image. With `snap`, each value becomes the nearer of `bg` and
    /// `-bg` (bits stay bits; a tie is ink, `-bg`).
    pub(crate) fn apply(
        &self,
        img: &[f32],
        side: usize,
        ch: usize,
        bg: f32,
        snap: bool,
    ) -> Vec<f32> {
        let c = (side as f32 - 1.0) / 2.0;
        let (sin, cos) = self.angle.sin_cos();
        let inv = 1.0 / self.scale;
        let s = side as i32;
        let at = |y: i32, x: i32, k: usize| {
            if (0..s).contains(&y) && (0..s).contains(&x) {
                img[(y * s + x) as usize * ch + k]
            } else {
                bg
            }
        };
        let mut out = vec![bg; img.len()];
        for r in 0..side {
            for col in 0..side {
                let (x, y) = (col as f32 - c - self.dx, r as f32 - c - self.dy);
                let sx = (cos * x + sin * y) * inv + c;
                let sy = (cos * y - sin * x) * inv + c;
                let (x0, y0) = (sx.floor(), sy.floor());
                let (fx, fy) = (sx - x0, sy - y0);
                let (x0, y0) = (x0 as i32, y0 as i32);
                for k in 0..ch {
                    let top = (1.0 - fx) * at(y0, x0, k) + fx * at(y0, x0 + 1, k);
                    let bottom = (1.0 - fx) * at(y0 + 1, x0, k) + fx * at(y0 + 1, x0 + 1, k);
                    let v = (1.0 - fy) * top + fy * bottom;
                    out[(r * side + col) * ch + k] = match snap {
                        true if v * bg > 0.0 => bg,
                        true => -bg,
                        false => v,
                    };
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warp(angle_deg: f32, scale: f32, dx: f32, dy: f32) -> Warp {
        Warp {
            angle: angle_deg.to_radians(),
            scale,
            dx,
            dy,
        }
    }

    #[test]
    fn the_identity_keeps_the_image_and_whole_shifts_move_it() {
        // A 5x5 bit image (+1 background, -1 ink) with ink at (row 1, col 2).
        let mut img = vec![1.0f32; 25];
        img[7] = -1.0;
        assert_eq!(warp(0.0, 1.0, 0.0, 0.0).apply(&img, 5, 1, 1.0, true), img);
        let moved = warp(0.0, 1.0, 1.0, 2.0).apply(&img, 5, 1, 1.0, true);
        let ink: Vec<usize> = (0..25).filter(|&i| moved[i] < 0.0).collect();
        assert_eq!(ink, [3 * 5 + 3]);
    }

    #[test]
    fn a_quarter_turn_turns_the_image() {
        // Ink at the top centre of a 5x5 image ends at the left or right centre.
        let mut img = vec![1.0f32; 25];
        img[2] = -1.0;
        let turned = warp(90.0, 1.0, 0.0, 0.0).apply(&img, 5, 1, 1.0, true);
        let ink: Vec<usize> = (0..25).filter(|&i| turned[i] < 0.0).collect();
        assert!(ink == [2 * 5] || ink == [2 * 5 + 4], "{ink:?}");
        // Grey values are interpolated, not snapped.
        let half = warp(0.0, 1.0, 0.5, 0.0).apply(&[0.0, 1.0, 0.0, 1.0], 2, 1, 0.0, false);
        assert_eq!(half, [0.0, 0.5, 0.0, 0.5]);
    }
}
