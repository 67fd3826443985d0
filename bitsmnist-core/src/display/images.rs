//! Digits and weights as pictures: [`Image`], [`Gallery`], [`WeightImages`], and the displays
//! of [`Split`] and [`Dataset`].

use std::fmt::{self, Write as _};

use super::{
    CELL_STYLE, HEAD_STYLE, HTML, Raster, TABLE_STYLE, emit, emit_png, escape_html, image_shape,
    png_data_uri, thousands,
};
use crate::datasets::{Dataset, NOISE_LABEL, Split};
use crate::layers::{BitConv2d, BitDense, Dense, Layer};

/// Level of a 1-bit (ink) in digit pictures; a 0-bit is black, as MNIST is usually shown.
const INK: u8 = 255;
/// Background between tiles.
const PAGE: u8 = 255;
/// Red frame and label colour of a wrong prediction.
const WRONG: [u8; 3] = [214, 39, 40];

/// The text of a label: the class name when known, `noise` for [`NOISE_LABEL`].
fn label_text(label: usize, names: Option<&[String]>) -> String {
    if label == NOISE_LABEL as usize {
        return "noise".into();
    }
    match names.and_then(|n| n.get(label)) {
        Some(name) => name.clone(),
        None => label.to_string(),
    }
}

/// One example of a split, owned (so that a notebook can keep it in a variable): its bits,
/// grey levels when the split kept them, label and position.
///
/// Made by [`Split::image`]. Shows in a notebook as a PNG of the bits (a 1-bit is white) and,
/// when present, the grey levels beside them, scaled up 8 times; `Display` prints it as text
/// art for terminals.
///
/// ```
/// let data = bitsmnist_core::datasets::Dataset::embedded();
/// let img = data.train.image(0);
/// assert_eq!((img.width(), img.height()), (28, 28));
/// assert_eq!(img.label(), data.train.labels()[0]);
/// assert!(img.grey().is_some());
/// println!("{img}"); // 28 lines of `#` and `.`
/// ```
#[derive(Clone, PartialEq)]
pub struct Image {
    index: usize,
    label: u8,
    width: usize,
    height: usize,
    bits: Vec<bool>,
    grey: Option<Vec<u8>>,
    class_name: Option<String>,
    scale: usize,
}

impl Image {
    /// Position of the example in its split.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Its label.
    pub fn label(&self) -> u8 {
        self.label
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The bits, row-major (`true` is a 1-bit: the pixel was above the threshold).
    pub fn bits(&self) -> &[bool] {
        &self.bits
    }

    /// Grey levels (0-255), row-major, if the split kept them.
    pub fn grey(&self) -> Option<&[u8]> {
        self.grey.as_deref()
    }

    /// Number of 1-bits.
    pub fn ones(&self) -> usize {
        self.bits.iter().filter(|b| **b).count()
    }

    /// Sets the enlargement of the picture (default 8).
    pub fn with_scale(mut self, scale: usize) -> Self {
        self.scale = scale.max(1);
        self
    }

    /// Names the label (for example `"Sneaker"`), shown by `Display`.
    pub fn with_class_name(mut self, name: impl Into<String>) -> Self {
        self.class_name = Some(name.into());
        self
    }

    /// The bits at 1:1, a 1-bit white.
    pub fn bits_raster(&self) -> Raster {
        let mut r = Raster::grey(self.width, self.height, 0);
        for (k, &b) in self.bits.iter().enumerate() {
            if b {
                r.set_grey(k % self.width.max(1), k / self.width.max(1), INK);
            }
        }
        r
    }

    /// The grey levels at 1:1, if present.
    pub fn grey_raster(&self) -> Option<Raster> {
        let g = self.grey.as_ref()?;
        let mut r = Raster::grey(self.width, self.height, 0);
        for (k, &v) in g.iter().enumerate() {
            r.set_grey(k % self.width.max(1), k / self.width.max(1), v);
        }
        Some(r)
    }

    /// The picture: bits, then grey levels if present, side by side and scaled up.
    pub fn to_raster(&self) -> Raster {
        let (w, h, s) = (self.width, self.height, self.scale);
        let gap = if self.grey.is_some() { s.max(4) } else { 0 };
        let tiles = 1 + usize::from(self.grey.is_some());
        let mut r = Raster::grey(tiles * w * s + gap, h * s, PAGE);
        r.blit(&self.bits_raster(), 0, 0, s);
        if let Some(g) = self.grey_raster() {
            r.blit(&g, w * s + gap, 0, s);
        }
        r
    }

    /// The picture as PNG bytes.
    pub fn to_png(&self) -> Vec<u8> {
        self.to_raster().to_png()
    }

    /// Shows the picture in a notebook (PNG).
    pub fn evcxr_display(&self) {
        emit_png(&self.to_png());
    }
}

impl fmt::Display for Image {
    /// A header line, then one text line per pixel row: `#` for a 1-bit, `.` for a 0-bit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match &self.class_name {
            Some(n) => format!("{} ({n})", self.label),
            None => label_text(self.label as usize, None),
        };
        writeln!(
            f,
            "image {}, label {label}: {} of {} bits on",
            self.index,
            self.ones(),
            self.bits.len()
        )?;
        for row in self.bits.chunks(self.width.max(1)) {
            let line: String = row.iter().map(|&b| if b { '#' } else { '.' }).collect();
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Image(#{}, label {}, {}x{}, {} bits on{})",
            self.index,
            label_text(self.label as usize, None),
            self.width,
            self.height,
            self.ones(),
            if self.grey.is_some() { ", grey" } else { "" }
        )
    }
}

/// A selection of examples shown as labelled thumbnails: an HTML table with one cell per
/// example (its PNG and, beneath it, its caption as text, never cut), and the number of
/// examples per class. With predictions, wrong ones are framed in red and captioned
/// `truth→prediction`.
///
/// Only `<table>`, `<img>` with a `data:` URI and inline styles are used, which Jupyter keeps
/// even for an untrusted, stored notebook (it strips SVG).
///
/// Made by [`Split::gallery`] (any indices, such as `0..40` or a list of mistakes); owns
/// copies of the selected examples.
///
/// ```
/// let data = bitsmnist_core::datasets::Dataset::embedded();
/// let g = data.train.gallery(0..12).with_columns(6).with_class_names(&data.class_names);
/// assert_eq!(g.len(), 12);
/// assert!(g.to_html().contains("data:image/png;base64,"));
/// ```
#[derive(Clone)]
pub struct Gallery {
    images: Split,
    indices: Vec<usize>,
    shape: (usize, usize),
    columns: usize,
    scale: usize,
    grey: bool,
    class_names: Option<Vec<String>>,
    predictions: Option<Vec<Option<usize>>>,
    title: Option<String>,
}

/// Space between thumbnails in the picture of [`Gallery::to_raster`].
const GAP: usize = 6;

impl Gallery {
    /// The examples of `split` at `indices`, in that order; indices past the end are skipped.
    pub fn new(split: &Split, indices: impl IntoIterator<Item = usize>) -> Self {
        let indices: Vec<usize> = indices.into_iter().filter(|&i| i < split.len()).collect();
        Self {
            images: split.select(&indices),
            indices,
            shape: image_shape(split.pixels()),
            columns: 10,
            scale: 2,
            grey: false,
            class_names: None,
            predictions: None,
            title: None,
        }
    }

    /// Number of examples shown.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Positions of the examples in the original split.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// Thumbnails per row (default 10).
    pub fn with_columns(mut self, columns: usize) -> Self {
        self.columns = columns.max(1);
        self
    }

    /// Enlargement of each thumbnail (default 2).
    pub fn with_scale(mut self, scale: usize) -> Self {
        self.scale = scale.max(1);
        self
    }

    /// Shows grey levels instead of bits where the split kept them.
    pub fn with_grey(mut self, grey: bool) -> Self {
        self.grey = grey;
        self
    }

    /// Image width and height, when the images are not square (default: guessed from the bit
    /// count, 784 → 28 x 28).
    pub fn with_shape(mut self, width: usize, height: usize) -> Self {
        self.shape = (width, height);
        self
    }

    /// Labels thumbnails with class names (`Dataset::class_names`) instead of numbers.
    pub fn with_class_names<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.class_names = Some(names.iter().map(|s| s.as_ref().to_string()).collect());
        self
    }

    /// Marks each example right or wrong: `predictions` holds a predicted class for every
    /// example of the original split (as [`crate::layers::Chain::predict`] returns them).
    pub fn with_predictions(mut self, predictions: &[usize]) -> Self {
        self.predictions = Some(
            self.indices
                .iter()
                .map(|&i| predictions.get(i).copied())
                .collect(),
        );
        self
    }

    /// A heading above the thumbnails.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    fn tile(&self, k: usize) -> Raster {
        let (w, h) = self.shape;
        let mut r = Raster::grey(w, h, 0);
        let grey = if self.grey { self.images.grey(k) } else { None };
        let row = self.images.images().row_bits(k);
        // A thermometer code's pixel shows its count of 1-bits, a grey level of its own.
        let c = self.images.channels();
        for p in 0..(w * h).min(row.len() / c) {
            let v = match grey {
                Some(g) => g[p],
                None if c > 1 => {
                    let ones = row[p * c..(p + 1) * c].count_ones();
                    (usize::from(INK) * ones / c) as u8
                }
                None if row[p] => INK,
                None => 0,
            };
            r.set_grey(p % w, p / w, v);
        }
        r
    }

    fn is_wrong(&self, k: usize) -> bool {
        matches!(&self.predictions, Some(p) if p[k].is_some_and(|p| p != self.images.labels()[k] as usize))
    }

    /// The thumbnails in one picture, without captions (those are text in [`to_html`](Self::to_html)),
    /// wrong predictions framed red: for saving to a file.
    pub fn to_raster(&self) -> Raster {
        let (w, h) = self.shape;
        let cols = self.columns.min(self.len()).max(1);
        let rows = self.len().div_ceil(cols);
        let (cw, ch) = (w * self.scale + GAP, h * self.scale + GAP);
        let mut r = if self.predictions.is_some() {
            Raster::rgb(cols * cw, rows * ch, [PAGE; 3])
        } else {
            Raster::grey(cols * cw, rows * ch, PAGE)
        };
        for k in 0..self.len() {
            let (x, y) = ((k % cols) * cw + GAP / 2, (k / cols) * ch + GAP / 2);
            if self.is_wrong(k) {
                for dy in 0..h * self.scale + 4 {
                    for dx in 0..w * self.scale + 4 {
                        r.set_rgb(x + dx - 2, y + dy - 2, WRONG);
                    }
                }
            }
            r.blit(&self.tile(k), x, y, self.scale);
        }
        r
    }

    /// The thumbnails as PNG bytes (one picture, without captions).
    pub fn to_png(&self) -> Vec<u8> {
        self.to_raster().to_png()
    }

    /// The label under thumbnail `k`.
    fn caption(&self, k: usize) -> String {
        let names = self.class_names.as_deref();
        let truth = label_text(self.images.labels()[k] as usize, names);
        match &self.predictions {
            Some(p) => match p[k] {
                Some(p) if self.is_wrong(k) => format!("{truth}→{}", label_text(p, names)),
                _ => truth,
            },
            None => truth,
        }
    }

    /// The thumbnails as an HTML table: per example a cell with its PNG and its caption as
    /// text beneath (the class name or number, `truth→prediction` in red for a mistake).
    pub fn to_img_html(&self) -> String {
        let (w, h) = self.shape;
        let (pw, ph) = (w * self.scale, h * self.scale);
        let cols = self.columns.min(self.len()).max(1);
        let mut s = String::from(
            "<table style=\"border-collapse:collapse;font-family:sans-serif;font-size:11px;margin:4px 0\">",
        );
        for k in 0..self.len() {
            if k % cols == 0 {
                s.push_str("<tr>");
            }
            let caption = self.caption(k);
            let (frame, colour) = if self.is_wrong(k) {
                ("2px solid rgb(214,39,40)", "rgb(214,39,40)")
            } else {
                ("2px solid transparent", "#333")
            };
            let _ = write!(
                s,
                "<td style=\"padding:2px 3px;text-align:center;vertical-align:top;border:none\">\
                 <img src=\"{}\" width=\"{pw}\" height=\"{ph}\" alt=\"{}\" \
                 style=\"image-rendering:pixelated;border:{frame};display:block;margin:0 auto\"/>\
                 <div style=\"color:{colour};white-space:nowrap\">{}</div></td>",
                png_data_uri(&self.tile(k).to_png()),
                escape_html(&caption),
                escape_html(&caption)
            );
            if k % cols == cols - 1 || k + 1 == self.len() {
                s.push_str("</tr>");
            }
        }
        s.push_str("</table>");
        s
    }

    /// HTML: the optional title, the labelled thumbnails and a table of examples per class.
    pub fn to_html(&self) -> String {
        let mut s = String::from("<div style=\"font-family:sans-serif\">");
        if let Some(t) = &self.title {
            let _ = write!(
                s,
                "<div style=\"font-weight:bold;margin:4px 0\">{}</div>",
                escape_html(t)
            );
        }
        if self.is_empty() {
            s.push_str("<div><i>no images selected</i></div></div>");
            return s;
        }
        let _ = write!(s, "<div>{}</div>", self.to_img_html());
        let names = self.class_names.as_deref();
        let mut line = format!("{} images", thousands(self.len()));
        if let Some(p) = &self.predictions {
            let wrong = (0..self.len()).filter(|&k| self.is_wrong(k)).count();
            let known = p.iter().filter(|p| p.is_some()).count();
            let _ = write!(line, ", {wrong} of {known} predicted wrong (framed red)");
        }
        let _ = write!(
            s,
            "<div style=\"font-size:12px;color:#444\">{line}</div>{}</div>",
            counts_table(&[("selection", self.images.labels())], names)
        );
        s
    }

    /// Shows the gallery in a notebook (HTML with one PNG).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

impl fmt::Debug for Gallery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Gallery({} images of {}x{})",
            self.len(),
            self.shape.0,
            self.shape.1
        )
    }
}

/// An HTML table of examples per class: one row per `(name, labels)` pair, one column per
/// class, a `noise` column when any label is [`NOISE_LABEL`], and a total.
pub(crate) fn counts_table(rows: &[(&str, &[u8])], names: Option<&[String]>) -> String {
    let max_label = rows
        .iter()
        .flat_map(|(_, l)| l.iter())
        .filter(|&&l| l != NOISE_LABEL)
        .map(|&l| l as usize + 1)
        .max()
        .unwrap_or(0);
    let classes = names.map_or(0, <[String]>::len).max(max_label);
    let any_noise = rows.iter().any(|(_, l)| l.contains(&NOISE_LABEL));
    let mut s = format!("<table style=\"{TABLE_STYLE}\"><tr><th style=\"{HEAD_STYLE}\">class</th>");
    for c in 0..classes {
        let _ = write!(
            s,
            "<th style=\"{HEAD_STYLE}\">{}</th>",
            escape_html(&label_text(c, names))
        );
    }
    if any_noise {
        let _ = write!(s, "<th style=\"{HEAD_STYLE}\">noise</th>");
    }
    let _ = write!(s, "<th style=\"{HEAD_STYLE}\">total</th></tr>");
    for (name, labels) in rows {
        let mut counts = vec![0usize; classes];
        let mut noise = 0;
        for &l in *labels {
            if l == NOISE_LABEL {
                noise += 1;
            } else {
                counts[l as usize] += 1;
            }
        }
        let _ = write!(
            s,
            "<tr><th style=\"{HEAD_STYLE}\">{}</th>",
            escape_html(name)
        );
        for c in counts {
            let _ = write!(s, "<td style=\"{CELL_STYLE}\">{}</td>", thousands(c));
        }
        if any_noise {
            let _ = write!(s, "<td style=\"{CELL_STYLE}\">{}</td>", thousands(noise));
        }
        let _ = write!(
            s,
            "<td style=\"{CELL_STYLE}\"><b>{}</b></td></tr>",
            thousands(labels.len())
        );
    }
    s.push_str("</table>");
    s
}

/// Examples shown by the display of a whole split or data set.
const PREVIEW: usize = 30;

fn split_summary(split: &Split) -> String {
    let mut s = format!(
        "{} images of {} bits, {:.1}% of bits on",
        thousands(split.len()),
        split.images().cols(),
        100.0 * split.ones_fraction()
    );
    if split.threshold().is_finite() {
        let _ = write!(s, ", threshold {:.1}", split.threshold());
    }
    if !split.is_empty() && split.grey(0).is_some() {
        s.push_str(", grey levels kept");
    }
    s
}

impl Split {
    /// Example `i` as an owned [`Image`] (a picture in a notebook, text art in a terminal).
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn image(&self, i: usize) -> Image {
        assert!(
            i < self.len(),
            "image {i} out of range: the split has {} images",
            self.len()
        );
        let bits_row = self.images().row_bits(i);
        let pixels = bits_row.len();
        let (width, height) = image_shape(pixels);
        let mut bits: Vec<bool> = bits_row.iter().map(|b| *b).collect();
        let mut grey = self.grey(i).map(<[u8]>::to_vec);
        // Pad to the full rectangle when the bit count is not a product of the shape.
        bits.resize(width * height, false);
        if let Some(g) = &mut grey {
            g.resize(width * height, 0);
        }
        Image {
            index: i,
            label: self.labels()[i],
            width,
            height,
            bits,
            grey,
            class_name: None,
            scale: 8,
        }
    }

    /// The examples at `indices` (a range such as `0..40`, or a `Vec` of positions) as a
    /// [`Gallery`] of labelled thumbnails. Indices past the end are skipped.
    pub fn gallery(&self, indices: impl IntoIterator<Item = usize>) -> Gallery {
        Gallery::new(self, indices)
    }

    /// HTML summary: size, share of 1-bits, threshold, examples per class, and the first 30
    /// digits.
    pub fn to_html(&self) -> String {
        format!(
            "<div style=\"font-family:sans-serif\"><div><b>Split</b>: {}</div>{}{}</div>",
            split_summary(self),
            counts_table(&[("examples", self.labels())], None),
            self.gallery(0..PREVIEW).to_img_html()
        )
    }

    /// Shows the split in a notebook (HTML).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

impl Dataset {
    /// HTML summary: name, source, binarisation, image size, examples per class in each split,
    /// and the first training digits with their class names.
    pub fn to_html(&self) -> String {
        let mut s = format!(
            "<div style=\"font-family:sans-serif\"><div style=\"font-size:14px\"><b>{}</b></div>\
             <table style=\"{TABLE_STYLE}\">",
            escape_html(&self.name)
        );
        let rows = [
            ("source", self.source.to_string()),
            ("binarisation", self.binarization.to_string()),
            (
                "image",
                format!(
                    "{} x {} = {} bits",
                    self.shape.0,
                    self.shape.1,
                    self.pixels()
                ),
            ),
            ("classes", self.class_names.join(", ")),
            ("train", split_summary(&self.train)),
            ("test", split_summary(&self.test)),
        ];
        for (k, v) in rows {
            let _ = write!(
                s,
                "<tr><th style=\"{HEAD_STYLE};text-align:left\">{k}</th><td style=\"{CELL_STYLE};text-align:left\">{}</td></tr>",
                escape_html(&v)
            );
        }
        s.push_str("</table>");
        s.push_str(&counts_table(
            &[("train", self.train.labels()), ("test", self.test.labels())],
            Some(&self.class_names),
        ));
        s.push_str(
            &self
                .train
                .gallery(0..20)
                .with_shape(self.shape.0, self.shape.1)
                .with_class_names(&self.class_names)
                .to_img_html(),
        );
        s.push_str("</div>");
        s
    }

    /// Shows the data set in a notebook (HTML).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

/// The weights of the first neurons of a layer drawn as images: what each neuron "looks at".
///
/// For a [`BitDense`] layer a 1-bit weight is white: it matches a 1-bit (ink) input, since the
/// ±1 dot product grows when input and weight bits agree. For a float [`Dense`] layer,
/// positive weights are red, negative blue, zero white (scaled by the largest magnitude).
/// Made by [`BitDense::weight_images`], [`Dense::weight_images`] or [`Layer::weight_images`];
/// shows in a notebook as one PNG grid.
///
/// ```
/// use bitsmnist_core::layers::BitDense;
/// let w = BitDense::new(784, 32).with_seed(1).weight_images(16);
/// assert_eq!((w.len(), w.shape()), (16, (28, 28)));
/// ```
#[derive(Clone)]
pub struct WeightImages {
    rows: WeightRows,
    shape: (usize, usize),
    columns: usize,
    scale: usize,
}

#[derive(Clone)]
enum WeightRows {
    Bits(Vec<Vec<bool>>),
    Floats(Vec<Vec<f32>>),
}

impl WeightImages {
    fn new(rows: WeightRows, inputs: usize) -> Self {
        Self {
            rows,
            shape: image_shape(inputs),
            columns: 8,
            scale: 3,
        }
    }

    /// Number of neurons drawn.
    pub fn len(&self) -> usize {
        match &self.rows {
            WeightRows::Bits(r) => r.len(),
            WeightRows::Floats(r) => r.len(),
        }
    }

    /// Whether no neuron is drawn.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Width and height of each neuron's picture.
    pub fn shape(&self) -> (usize, usize) {
        self.shape
    }

    /// Pictures per row (default 8).
    pub fn with_columns(mut self, columns: usize) -> Self {
        self.columns = columns.max(1);
        self
    }

    /// Enlargement (default 3).
    pub fn with_scale(mut self, scale: usize) -> Self {
        self.scale = scale.max(1);
        self
    }

    /// Width and height of each picture (default: guessed from the input width, 784 → 28 x
    /// 28); inputs beyond `width * height` are not drawn, missing ones are grey.
    pub fn with_shape(mut self, width: usize, height: usize) -> Self {
        self.shape = (width, height);
        self
    }

    fn tile(&self, k: usize) -> Raster {
        let (w, h) = self.shape;
        let mut r = Raster::rgb(w, h, [128; 3]);
        match &self.rows {
            WeightRows::Bits(rows) => {
                for (p, &b) in rows[k].iter().enumerate().take(w * h) {
                    r.set_grey(p % w, p / w, if b { INK } else { 0 });
                }
            }
            WeightRows::Floats(rows) => {
                let max = rows[k].iter().fold(0f32, |m, v| m.max(v.abs()));
                for (p, &v) in rows[k].iter().enumerate().take(w * h) {
                    let t = if max > 0.0 {
                        (v / max).clamp(-1.0, 1.0)
                    } else {
                        0.0
                    };
                    let fade = |full: u8| (255.0 - t.abs() * (255.0 - f32::from(full))) as u8;
                    let c = if t >= 0.0 {
                        [255, fade(40), fade(40)]
                    } else {
                        [fade(40), fade(90), 255]
                    };
                    r.set_rgb(p % w, p / w, c);
                }
            }
        }
        r
    }

    /// All pictures in one grid.
    pub fn to_raster(&self) -> Raster {
        let (w, h) = self.shape;
        let n = self.len();
        let cols = self.columns.min(n).max(1);
        let rows = n.div_ceil(cols).max(1);
        let (cw, ch) = (w * self.scale + 2, h * self.scale + 2);
        let mut r = Raster::rgb(cols * cw + 2, rows * ch + 2, [200; 3]);
        for k in 0..n {
            r.blit(
                &self.tile(k),
                2 + (k % cols) * cw,
                2 + (k / cols) * ch,
                self.scale,
            );
        }
        r
    }

    /// The grid as PNG bytes.
    pub fn to_png(&self) -> Vec<u8> {
        self.to_raster().to_png()
    }

    /// Shows the grid in a notebook (PNG).
    pub fn evcxr_display(&self) {
        emit_png(&self.to_png());
    }
}

impl fmt::Debug for WeightImages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.rows {
            WeightRows::Bits(_) => "bit",
            WeightRows::Floats(_) => "float",
        };
        write!(
            f,
            "WeightImages({} {kind} neurons as {}x{})",
            self.len(),
            self.shape.0,
            self.shape.1
        )
    }
}

impl BitDense {
    /// The weights of the first `n` neurons (at most all of them) as pictures.
    pub fn weight_images(&self, n: usize) -> WeightImages {
        let rows = (0..n.min(self.outputs()))
            .map(|j| self.weights().row_bits(j).iter().map(|b| *b).collect())
            .collect();
        WeightImages::new(WeightRows::Bits(rows), self.inputs())
    }
}

impl Dense {
    /// The weights of the first `n` neurons (at most all of them) as pictures.
    pub fn weight_images(&self, n: usize) -> WeightImages {
        let rows = self
            .weights()
            .chunks(self.inputs().max(1))
            .take(n.min(self.outputs()))
            .map(<[f32]>::to_vec)
            .collect();
        WeightImages::new(WeightRows::Floats(rows), self.inputs())
    }
}

impl BitConv2d {
    /// The first `n` filters (at most all of them) as `k x k` pictures: the bits themselves for
    /// a one-channel input (the first layer), otherwise each pixel's mean ±1 value over the
    /// input channels.
    pub fn weight_images(&self, n: usize) -> WeightImages {
        let f = self.filters();
        let (k, c) = (self.window(), self.input_shape().channels);
        let take = n.min(f.outputs());
        let rows = if c == 1 {
            WeightRows::Bits(
                (0..take)
                    .map(|j| f.weights().row_bits(j).iter().map(|b| *b).collect())
                    .collect(),
            )
        } else {
            WeightRows::Floats(
                (0..take)
                    .map(|j| {
                        let bits = f.weights().row_bits(j);
                        (0..k * k)
                            .map(|p| {
                                let ones = bits[p * c..(p + 1) * c].count_ones();
                                // Bit 0 is +1: the mean value over channels.
                                (c as f32 - 2.0 * ones as f32) / c as f32
                            })
                            .collect()
                    })
                    .collect(),
            )
        };
        WeightImages::new(rows, k * k)
            .with_shape(k, k)
            .with_scale(12)
    }
}

impl Layer {
    /// The weights of the first `n` neurons (filters of a convolution) as pictures (see
    /// [`WeightImages`]); none for a pool; a vote's first member's first layer.
    pub fn weight_images(&self, n: usize) -> WeightImages {
        match self {
            Layer::Bit(l) => l.weight_images(n),
            Layer::Float(l) => l.weight_images(n),
            Layer::Conv(l) => l.weight_images(n),
            Layer::Pool(_) => WeightImages::new(WeightRows::Bits(Vec::new()), 0),
            Layer::Vote(v) => match v.members().first().and_then(|m| m.layers().first()) {
                Some(l) => l.weight_images(n),
                None => WeightImages::new(WeightRows::Bits(Vec::new()), 0),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use crate::bits::BitMatrix;
    use crate::datasets::{Binarization, Noise};

    fn tiny_split() -> Split {
        // Three 4x4 images with grey levels; labels 0, 1, 1.
        let grey: Vec<u8> = (0..48).map(|i| (i * 5) as u8).collect();
        Split::binarize(grey, 16, vec![0, 1, 1], Binarization::Threshold(100))
    }

    #[test]
    fn image_png_has_bits_and_grey_side_by_side() {
        let img = tiny_split().image(2).with_scale(8);
        assert_eq!((img.width(), img.height()), (4, 4));
        // 4 * 8 + gap 8 + 4 * 8 = 72 wide, 32 high.
        assert_eq!(
            decode_png(&img.to_png()),
            (72, 32, png::ColorType::Grayscale)
        );
        // Levels 160.. are above 100: all on in image 2; image 0 has levels 0..75, all off.
        assert_eq!(img.ones(), 16);
        assert_eq!(tiny_split().image(0).ones(), 0);
        let text = img.to_string();
        assert_eq!(text.lines().count(), 5);
        assert!(text.lines().nth(1).unwrap() == "####");
        assert_eq!(
            format!("{img:?}"),
            "Image(#2, label 1, 4x4, 16 bits on, grey)"
        );
    }

    #[test]
    fn image_without_grey_is_only_bits() {
        let s = Split::new(BitMatrix::zeros(1, 784), vec![3], None).unwrap();
        let img = s.image(0);
        assert_eq!(decode_png(&img.to_png()).0, 28 * 8);
        assert!(img.grey().is_none());
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn image_out_of_range_panics_clearly() {
        tiny_split().image(3);
    }

    #[test]
    fn gallery_html_has_a_png_and_a_text_caption_per_example() {
        let g = tiny_split()
            .gallery(vec![2, 0, 7])
            .with_columns(2)
            .with_scale(3)
            .with_class_names(&["zero", "one"]);
        assert_eq!(g.indices(), &[2, 0]); // 7 skipped
        let html = g.to_html();
        let pngs = pngs_in(&html);
        assert_eq!(pngs.len(), 2);
        // Each thumbnail at 1:1, enlarged by the <img> size.
        assert_eq!(decode_png(&pngs[0]), (4, 4, png::ColorType::Grayscale));
        assert!(html.contains("width=\"12\" height=\"12\""));
        assert!(html.contains(">one</div>") && html.contains(">zero</div>"));
        assert!(html.find(">one</div>") < html.find(">zero</div>"));
        assert!(html.contains("<th style=\"border:1px solid #ccc;padding:2px 6px;text-align:center;background:#f3f3f3;font-weight:bold\">zero</th>"));
        assert!(html.contains(
            "<td style=\"border:1px solid #ccc;padding:2px 6px;text-align:right\"><b>2</b></td>"
        ));
        assert_balanced(&html, &["div", "table", "tr", "th", "td"]);
        // The raster for saving is the thumbnails alone.
        assert_eq!(
            decode_png(&g.to_png()),
            (
                2 * (12 + GAP as u32),
                12 + GAP as u32,
                png::ColorType::Grayscale
            )
        );
    }

    #[test]
    fn gallery_captions_are_whole_text() {
        // Captions once cut at ten characters: "pixel > 160" and "pixel > 224" both read
        // "pixel > 1."-like stubs.
        let long = "a caption much longer than any thumbnail is wide";
        let names = ["pixel > 224", long];
        let html = tiny_split()
            .gallery(0..3)
            .with_class_names(&names)
            .to_html();
        assert!(html.contains(">pixel &gt; 224</div>"), "{html}");
        assert!(html.contains(&format!(">{long}</div>")));
        assert_eq!(html.matches(&format!(">{long}</div>")).count(), 2);
        assert_balanced(&html, &["div", "table", "tr", "td"]);
    }

    #[test]
    fn gallery_marks_wrong_predictions() {
        let g = tiny_split().gallery(0..3).with_predictions(&[0, 0, 1]);
        let html = g.to_html();
        assert!(html.contains(">1→0</div>"));
        assert!(html.contains("alt=\"1→0\""));
        assert_eq!(html.matches("2px solid rgb(214,39,40)").count(), 1);
        assert!(html.contains("1 of 3 predicted wrong"));
        let r = g.to_raster();
        assert!(r.is_rgb());
        // The frame of the second thumbnail is red.
        let cw = 4 * 2 + GAP;
        assert_eq!(r.get(cw + GAP / 2 - 1, GAP / 2), WRONG);
        assert_eq!(r.get(GAP / 2 - 1, GAP / 2), [PAGE; 3]);
    }

    #[test]
    fn empty_gallery_is_html_without_image() {
        let html = tiny_split().gallery(10..20).to_html();
        assert!(html.contains("no images selected"));
        assert!(pngs_in(&html).is_empty());
    }

    #[test]
    fn split_and_dataset_html() {
        let data = Dataset::embedded()
            .for_task(&"3,8".parse().unwrap())
            .unwrap();
        let html = data.to_html();
        assert!(html.contains("MNIST (embedded)"));
        assert!(html.contains(&format!("<b>{}</b>", thousands(data.train.len()))));
        assert!(html.contains(">3</div>") && html.contains(">8</div>"));
        assert_balanced(&html, &["div", "table", "tr", "th", "td"]);
        assert!(!html.contains("<svg"));
        let pngs = pngs_in(&html);
        assert_eq!(pngs.len(), 20);
        assert_eq!(decode_png(&pngs[0]).0, 28);

        let noisy = data.test.noisy(Noise::default(), 1);
        let html = noisy.to_html();
        assert!(html.contains(">noise</th>"));
        assert!(html.contains(">noise</div>"));
        assert!(!html.contains("grey levels kept"));
        assert_balanced(&html, &["div", "table", "tr", "th", "td"]);
    }

    #[test]
    fn weight_images_grid() {
        let l = BitDense::new(784, 20).with_seed(3);
        let w = l.weight_images(10).with_columns(5).with_scale(2);
        assert_eq!(w.len(), 10);
        // 5 columns of (28*2 + 2) plus 2, 2 rows.
        assert_eq!(
            decode_png(&w.to_png()),
            (5 * 58 + 2, 2 * 58 + 2, png::ColorType::Rgb)
        );
        // Bits drawn exactly: neuron 0, pixel (0, 0).
        let r = w.to_raster();
        let expect = if l.weights().get(0, 0) { INK } else { 0 };
        assert_eq!(r.get(2, 2), [expect; 3]);
        assert_eq!(l.weight_images(100).len(), 20);

        let d = Dense::new(800, 4, crate::layers::Activation::Relu, 1);
        let w = Layer::from(d).weight_images(4);
        assert_eq!(w.shape(), (32, 25));
        assert_eq!(decode_png(&w.to_png()).0, 4 * (32 * 3 + 2) + 2);
        assert_eq!(format!("{w:?}"), "WeightImages(4 float neurons as 32x25)");
    }
}
