//! A 5 x 8 pixel font for labels drawn into PNG pictures, so that galleries need no SVG or
//! positioned HTML (both are stripped when Jupyter shows an untrusted, stored notebook).
//!
//! Each glyph is 8 rows of 5 bits, the most significant of the 5 being the leftmost pixel;
//! capitals and digits use rows 0-6, lower-case descenders reach row 7. Characters without a
//! glyph are drawn as a box.

use super::Raster;

/// Horizontal advance of one character, in pixels (5 + 1 space).
pub(crate) const ADVANCE: usize = 6;
/// Height of a line of text, in pixels.
pub(crate) const HEIGHT: usize = 8;

#[rustfmt::skip]
const GLYPHS: &[(char, [u8; 8])] = &[
    (' ', [0, 0, 0, 0, 0, 0, 0, 0]),
    ('0', [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110, 0]),
    ('1', [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0]),
    ('2', [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111, 0]),
    ('3', [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110, 0]),
    ('4', [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010, 0]),
    ('5', [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110, 0]),
    ('6', [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110, 0]),
    ('7', [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0]),
    ('8', [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110, 0]),
    ('9', [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100, 0]),
    ('A', [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0]),
    ('B', [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110, 0]),
    ('C', [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110, 0]),
    ('D', [0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100, 0]),
    ('E', [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111, 0]),
    ('F', [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000, 0]),
    ('G', [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111, 0]),
    ('H', [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0]),
    ('I', [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0]),
    ('J', [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100, 0]),
    ('K', [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001, 0]),
    ('L', [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111, 0]),
    ('M', [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001, 0]),
    ('N', [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001, 0]),
    ('O', [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0]),
    ('P', [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000, 0]),
    ('Q', [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101, 0]),
    ('R', [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001, 0]),
    ('S', [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110, 0]),
    ('T', [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0]),
    ('U', [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0]),
    ('V', [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0]),
    ('W', [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010, 0]),
    ('X', [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001, 0]),
    ('Y', [0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100, 0]),
    ('Z', [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111, 0]),
    ('a', [0, 0, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111, 0]),
    ('b', [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110, 0]),
    ('c', [0, 0, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110, 0]),
    ('d', [0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111, 0]),
    ('e', [0, 0, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110, 0]),
    ('f', [0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000, 0]),
    ('g', [0, 0, 0b01111, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110]),
    ('h', [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0]),
    ('i', [0b00100, 0, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110, 0]),
    ('j', [0b00010, 0, 0b00110, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100]),
    ('k', [0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0]),
    ('l', [0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0]),
    ('m', [0, 0, 0b11010, 0b10101, 0b10101, 0b10101, 0b10101, 0]),
    ('n', [0, 0, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0]),
    ('o', [0, 0, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110, 0]),
    ('p', [0, 0, 0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000]),
    ('q', [0, 0, 0b01111, 0b10001, 0b10001, 0b01111, 0b00001, 0b00001]),
    ('r', [0, 0, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000, 0]),
    ('s', [0, 0, 0b01111, 0b10000, 0b01110, 0b00001, 0b11110, 0]),
    ('t', [0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110, 0]),
    ('u', [0, 0, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101, 0]),
    ('v', [0, 0, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0]),
    ('w', [0, 0, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010, 0]),
    ('x', [0, 0, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0]),
    ('y', [0, 0, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110]),
    ('z', [0, 0, 0b11111, 0b00010, 0b00100, 0b01000, 0b11111, 0]),
    ('-', [0, 0, 0, 0b11111, 0, 0, 0, 0]),
    ('+', [0, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0, 0]),
    ('=', [0, 0, 0b11111, 0, 0b11111, 0, 0, 0]),
    ('/', [0b00001, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b10000, 0]),
    ('(', [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010, 0]),
    (')', [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000, 0]),
    ('.', [0, 0, 0, 0, 0, 0b01100, 0b01100, 0]),
    (',', [0, 0, 0, 0, 0, 0b01100, 0b00100, 0b01000]),
    (':', [0, 0b01100, 0b01100, 0, 0b01100, 0b01100, 0, 0]),
    ('\'', [0b01100, 0b00100, 0b01000, 0, 0, 0, 0, 0]),
    ('_', [0, 0, 0, 0, 0, 0, 0b11111, 0]),
    ('!', [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0, 0b00100, 0]),
    ('?', [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0, 0b00100, 0]),
    ('>', [0b01000, 0b00100, 0b00010, 0b00001, 0b00010, 0b00100, 0b01000, 0]),
    ('<', [0b00010, 0b00100, 0b01000, 0b10000, 0b01000, 0b00100, 0b00010, 0]),
    ('%', [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011, 0]),
    ('#', [0b01010, 0b01010, 0b11111, 0b01010, 0b11111, 0b01010, 0b01010, 0]),
    ('&', [0b01100, 0b10010, 0b10100, 0b01000, 0b10101, 0b10010, 0b01101, 0]),
    ('*', [0, 0b00100, 0b10101, 0b01110, 0b10101, 0b00100, 0, 0]),
    ('→', [0, 0b00100, 0b00010, 0b11111, 0b00010, 0b00100, 0, 0]),
];

/// Drawn for characters without a glyph.
const BOX: [u8; 8] = [
    0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111, 0,
];

fn glyph(c: char) -> [u8; 8] {
    GLYPHS
        .iter()
        .find(|(g, _)| *g == c)
        .map_or(BOX, |(_, rows)| *rows)
}

/// Width in pixels of `text`.
pub(crate) fn text_width(text: &str) -> usize {
    (text.chars().count() * ADVANCE).saturating_sub(1)
}

/// `text` cut to at most `width` pixels, ending in `.` when shortened.
pub(crate) fn fit(text: &str, width: usize) -> String {
    if text_width(text) <= width {
        return text.to_string();
    }
    let keep = (width + 1) / ADVANCE;
    let mut s: String = text.chars().take(keep.saturating_sub(1)).collect();
    if keep > 0 {
        s.push('.');
    }
    s
}

/// Draws `text` with its top-left corner at `(x, y)` in `colour`; pixels outside the raster
/// are skipped.
pub(crate) fn draw_text(r: &mut Raster, x: usize, y: usize, text: &str, colour: [u8; 3]) {
    for (k, c) in text.chars().enumerate() {
        let rows = glyph(c);
        for (dy, bits) in rows.iter().enumerate() {
            for dx in 0..5 {
                if bits & (0b10000 >> dx) != 0 {
                    r.set_rgb(x + k * ADVANCE + dx, y + dy, colour);
                }
            }
        }
    }
}

/// Draws `text` centred on `cx`, cut to `max_width` pixels.
pub(crate) fn draw_centred(
    r: &mut Raster,
    cx: usize,
    y: usize,
    max_width: usize,
    text: &str,
    colour: [u8; 3],
) {
    let text = fit(text, max_width);
    let x = cx.saturating_sub(text_width(&text) / 2);
    draw_text(r, x, y, &text, colour);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_are_unique_and_five_wide() {
        for (i, (c, rows)) in GLYPHS.iter().enumerate() {
            assert!(rows.iter().all(|r| *r < 32), "{c} wider than 5");
            assert!(
                GLYPHS[i + 1..].iter().all(|(d, _)| d != c),
                "{c} defined twice"
            );
        }
        // Every printable ASCII letter and digit has a glyph.
        for c in ('0'..='9').chain('A'..='Z').chain('a'..='z') {
            assert_ne!(glyph(c), BOX, "{c} missing");
        }
    }

    #[test]
    fn draws_pixels_of_the_glyph() {
        let mut r = Raster::grey(12, 8, 0);
        draw_text(&mut r, 0, 0, "1-", [255; 3]);
        // The stem of `1` is column 2 on rows 0-6; `-` fills row 3 of the second cell.
        assert!((0..7).all(|y| r.get(2, y) == [255; 3]));
        assert_eq!(r.get(0, 0), [0; 3]);
        assert!((6..11).all(|x| r.get(x, 3) == [255; 3]));
        assert_eq!(r.get(6, 2), [0; 3]);
    }

    #[test]
    fn long_text_is_cut() {
        assert_eq!(text_width("abc"), 17);
        assert_eq!(fit("Ankle boot", 56), "Ankle bo.");
        assert!(text_width(&fit("Ankle boot", 56)) <= 56);
        assert_eq!(fit("3→8", 56), "3→8");
        assert_eq!(fit("abc", 0), "");
    }
}
