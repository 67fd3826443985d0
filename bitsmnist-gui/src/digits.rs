//! Digit images: grey or binarised examples of a split, turned into egui textures and shown
//! as a labelled gallery.

use bitsmnist_core::datasets::Split;
use eframe::egui::{self, Color32, ColorImage, TextureHandle, TextureOptions};

/// The image of example `i` of `split`: its grey levels when the split has them and
/// `binarised` is false, else its bits. `shape` is (width, height).
pub fn split_image(split: &Split, i: usize, shape: (usize, usize), binarised: bool) -> ColorImage {
    match split.grey(i) {
        Some(grey) if !binarised => grey_image(grey, shape),
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

    /// Shows the thumbnails `size` points wide, calling `make` for new images when `key`
    /// differs from the last call's.
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
                        ui.small(caption.as_str());
                    });
                    if (i + 1) % columns == 0 {
                        ui.end_row();
                    }
                }
            });
    }
}
