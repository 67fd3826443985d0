//! Digit images: grey or binarised examples of a split, turned into egui textures and shown
//! as a labelled gallery.

use bitsmnist_core::datasets::Split;
use eframe::egui::{self, Color32, ColorImage, TextureHandle, TextureOptions};

/// The image of example `i` of `split`: its grey levels when the split has them and
/// `binarised` is false, else its bits (of a thermometer code, each pixel's count of 1-bits as
/// a grey level). `shape` is (width, height).
pub fn split_image(split: &Split, i: usize, shape: (usize, usize), binarised: bool) -> ColorImage {
    let k = split.channels();
    match split.grey(i) {
        Some(grey) if !binarised => grey_image(grey, shape),
        _ if k > 1 => {
            let bits = split.images().row_bits(i);
            let levels: Vec<u8> = bits
                .chunks(k)
                .map(|px| (255 * px.count_ones() / k) as u8)
                .collect();
            grey_image(&levels, shape)
        }
        _ => bits_image(split.images().row_bits(i).iter().map(|b| *b), shape),
    }
}

/// White-on-black image of grey levels (row-major, `shape.0 * shape.1` bytes).
pub fn grey_image(grey: &[u8], shape: (usize, usize)) -> ColorImage {
    let pixels = grey.iter().map(|&g| Color32::from_gray(g)).collect();
    ColorImage::new([shape.0, shape.1], pixels)
}

/// White-on-black image of bits (1 is white).
pub fn bits_image(bits: impl Iterator<Item = bool>, shape: (usize, usize)) -> ColorImage {
    let pixels = bits
        .take(shape.0 * shape.1)
        .map(|b| if b { Color32::WHITE } else { Color32::BLACK })
        .collect();
    ColorImage::new([shape.0, shape.1], pixels)
}

/// The thumbnail side, in points, between `range`'s ends, that shows `count` captioned
/// thumbnails in `area` (the space the gallery may take) without scrolling if any size in
/// the range can: the largest that fits, else the smallest. `caption` is the height of a
/// caption's line, `gap` the spacing between thumbnails.
pub fn thumbnail_size(
    count: usize,
    area: egui::Vec2,
    caption: f32,
    gap: f32,
    range: std::ops::RangeInclusive<f32>,
) -> f32 {
    let (min, max) = (*range.start(), *range.end());
    let fits = |size: f32| {
        let columns = (((area.x + gap) / (size + gap)).floor() as usize).max(1);
        let rows = count.div_ceil(columns) as f32;
        rows * (size + caption + 2.0 * gap) <= area.y
    };
    let mut size = max;
    while size > min {
        if fits(size) {
            return size;
        }
        size -= 2.0;
    }
    min
}

/// A grid of digit thumbnails with captions, rebuilt only when its key changes.
#[derive(Default)]
pub struct Gallery {
    key: Option<u64>,
    items: Vec<(TextureHandle, String)>,
}

impl Gallery {
    /// Number of thumbnails currently held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the gallery is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The captions, in order.
    pub fn captions(&self) -> Vec<&str> {
        self.items.iter().map(|(_, c)| c.as_str()).collect()
    }

    /// Shows the thumbnails `size` points wide (see [`thumbnail_size`]), each captioned in the
    /// body text's size, calling `make` for new images when `key` differs from the last
    /// call's.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        key: u64,
        size: f32,
        make: impl FnOnce() -> Vec<(ColorImage, String)>,
    ) {
        if self.key != Some(key) {
            self.key = Some(key);
            self.items = make()
                .into_iter()
                .enumerate()
                .map(|(i, (img, caption))| {
                    let tex = ui.ctx().load_texture(
                        format!("digit-{key}-{i}"),
                        img,
                        TextureOptions::NEAREST,
                    );
                    (tex, caption)
                })
                .collect();
        }
        let gap = ui.spacing().item_spacing.x;
        let columns = (((ui.available_width() + gap) / (size + gap)).floor() as usize).max(1);
        egui::Grid::new(ui.scope_id().with("gallery"))
            .spacing([gap, 2.0])
            .show(ui, |ui| {
                for (i, (tex, caption)) in self.items.iter().enumerate() {
                    ui.vertical(|ui| {
                        ui.add(egui::Image::new(tex).fit_to_exact_size(egui::vec2(size, size)))
                            .on_hover_text(caption.as_str());
                        // Body text, not `small`: captions such as "3 as 5" are read, not
                        // decoration.
                        ui.label(caption.as_str());
                    });
                    if (i + 1) % columns == 0 {
                        ui.end_row();
                    }
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_grow_to_fill_the_area_and_stay_within_their_range() {
        let area = egui::vec2(1200.0, 500.0);
        let few = thumbnail_size(2, area, 18.0, 8.0, 48.0..=128.0);
        assert_eq!(few, 128.0);
        let many = thumbnail_size(60, area, 18.0, 8.0, 48.0..=128.0);
        assert!((48.0..128.0).contains(&many), "{many}");
        // Whatever fits is used: one more step up would not fit.
        let columns = ((area.x + 8.0) / (many + 2.0 + 8.0)).floor() as usize;
        assert!(60usize.div_ceil(columns) as f32 * (many + 2.0 + 18.0 + 16.0) > area.y);
        assert_eq!(thumbnail_size(1000, area, 18.0, 8.0, 48.0..=128.0), 48.0);
    }
}
