//! Rich output for Jupyter notebooks run by the evcxr Rust kernel, and the pieces it is built
//! from (PNG rasters, HTML tables, SVG line plots).
//!
//! evcxr shows the last expression of a cell by calling its inherent
//! `evcxr_display(&self)` method, which prints
//! `EVCXR_BEGIN_CONTENT <mime>\n...\nEVCXR_END_CONTENT\n` to stdout. These types have one:
//!
//! | value | shows |
//! |---|---|
//! | [`Dataset`](crate::datasets::Dataset), [`Split`](crate::datasets::Split) | summary, examples per class, a gallery of the first digits |
//! | [`Split::image`](crate::datasets::Split::image) → [`Image`] | one digit's bits (and grey levels), scaled up, as PNG |
//! | [`Split::gallery`](crate::datasets::Split::gallery) → [`Gallery`] | digit thumbnails with their captions as text (a table of PNGs) and counts per class |
//! | [`BitDense`](crate::layers::BitDense), [`Dense`](crate::layers::Dense), [`Layer`](crate::layers::Layer), [`Chain`](crate::layers::Chain) | table of layers, shapes, parameters, bytes as bits and as `f32` |
//! | [`BitDense::weight_images`](crate::layers::BitDense::weight_images) → [`WeightImages`] | what each neuron looks at, as a PNG grid |
//! | [`ConfusionMatrix`](crate::statistics::ConfusionMatrix) | heat-map table with per-class recall |
//! | [`Evaluation`](crate::statistics::Evaluation) | accuracy, error, MCC and the confusion matrix |
//! | [`History`](crate::run::History) | the run as an SVG plot: best, mean and worst fitness of a population, one objective line for a climb, the learning curve (loss, training and test accuracy per epoch) for gradient training; accuracies in percent |
//! | [`Population`](crate::search::Population) | `TrainingSet(popSize=100)`, the model's shape, the parameters, the history plot |
//! | [`Climber`](crate::search::Climber), [`ClimbEnsemble`](crate::search::ClimbEnsemble) | the model's shape, the parameters, flips kept and tried, the history plot |
//! | [`TrainingState`](crate::training::TrainingState) | the display of the population, climb or ensemble inside; a gradient run's learning curve |
//! | [`ModelFile`](crate::io::ModelFile) | model, run, task, data set, metadata (the creation time as a UTC date), whether it holds training state, the layer table, the history plot |
//! | [`Kernel`](crate::bits::Kernel) | the popcount kernel as text (`AVX2`) |
//! | [`RunStore`](crate::runs::RunStore) | the runs folder as a table (label, method, model, seed, steps, time, accuracy, size, status) and the newest runs' curves overlaid |
//! | [`Comparison`](crate::runs::Comparison) (`RunStore::compare`) | the settings in which runs differ beside their figures, and their curves overlaid |
//! | [`LinePlot`], [`Raster`] | an SVG line plot made for print (legend below the chart, accuracy in percent, markers on sparse series, labelled rules); a PNG |
//!
//! Every display also has a plain method returning the content (`to_html`, `to_png`,
//! `to_svg`), for saving to files or testing, and `Display`/`Debug` stay plain text for
//! terminal programs.
//!
//! ```
//! use bitsmnist_core::display::Raster;
//! let mut r = Raster::grey(2, 1, 0);
//! r.set_grey(1, 0, 255);
//! let png = r.to_png();
//! assert_eq!(&png[1..4], b"PNG");
//! ```

mod images;
mod metrics;
mod models;
mod plot;
mod runs;
mod session;
mod training;

use std::fmt::Write as _;
use std::io::Write as _;

pub use images::{Gallery, Image, WeightImages};
pub use plot::{LinePlot, SPARSE_POINTS, Series, Style, fitness_plot, fitness_plot_svg};
pub use runs::PLOTTED_RUNS;

/// MIME type of HTML content.
pub const HTML: &str = "text/html";
/// MIME type of PNG images (sent base64-encoded).
pub const PNG: &str = "image/png";
/// MIME type of SVG images.
pub const SVG: &str = "image/svg+xml";

/// The evcxr display protocol text for one output bundle: each `(mime, content)` pair framed as
/// `EVCXR_BEGIN_CONTENT <mime>\n<content>\nEVCXR_END_CONTENT\n`. Binary content must already be
/// base64 ([`base64()`]).
///
/// ```
/// let s = bitsmnist_core::display::protocol(&[("text/html", "<b>hi</b>")]);
/// assert_eq!(s, "EVCXR_BEGIN_CONTENT text/html\n<b>hi</b>\nEVCXR_END_CONTENT\n");
/// ```
pub fn protocol(contents: &[(&str, &str)]) -> String {
    let mut s = String::with_capacity(contents.iter().map(|(m, c)| m.len() + c.len() + 48).sum());
    for (mime, content) in contents {
        let _ = write!(
            s,
            "EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT\n"
        );
    }
    s
}

/// Prints one output bundle for evcxr ([`protocol`]) in a single write to stdout, then
/// flushes. Several MIME types form one bundle; the notebook front end picks the richest.
pub fn emit(contents: &[(&str, &str)]) {
    let text = protocol(contents);
    let mut out = std::io::stdout().lock();
    // A closed stdout is not worth a panic in a notebook.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Prints HTML for evcxr.
pub fn emit_html(html: &str) {
    emit(&[(HTML, html)]);
}

/// Prints a PNG image (raw PNG bytes) for evcxr.
pub fn emit_png(png: &[u8]) {
    emit(&[(PNG, &base64(png))]);
}

/// Prints an SVG image for evcxr.
pub fn emit_svg(svg: &str) {
    emit(&[(SVG, svg)]);
}

/// Standard base64 (RFC 4648 alphabet) with padding.
///
/// ```
/// assert_eq!(bitsmnist_core::display::base64(b"bits"), "Yml0cw==");
/// ```
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Encodes 8-bit pixels as a PNG: `channels` 1 (grey) or 3 (RGB), rows of `width * channels`
/// bytes, no interlacing, each row with filter type 0, zlib-compressed with `flate2`.
fn encode_png(width: u32, height: u32, channels: u8, data: &[u8]) -> Vec<u8> {
    use flate2::{Compression, write::ZlibEncoder};

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }

    let row = width as usize * usize::from(channels);
    let mut z = ZlibEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        Compression::default(),
    );
    for r in data.chunks_exact(row.max(1)).take(height as usize) {
        // Writing into a Vec cannot fail.
        let _ = z.write_all(&[0]);
        let _ = z.write_all(r);
    }
    let idat = z.finish().unwrap_or_default();

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8; colour type 0 (grey) or 2 (RGB); deflate; adaptive filtering; no interlace.
    ihdr.extend_from_slice(&[8, if channels == 3 { 2 } else { 0 }, 0, 0, 0]);

    let mut out = Vec::with_capacity(idat.len() + 64);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A `data:` URI of PNG bytes, for `<img src=...>` or SVG `<image href=...>`.
pub fn png_data_uri(png: &[u8]) -> String {
    format!("data:image/png;base64,{}", base64(png))
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
///
/// ```
/// assert_eq!(bitsmnist_core::display::escape_html("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
/// ```
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A byte count for people: `980 B`, `76.6 KiB`, `2.4 MiB`.
///
/// ```
/// assert_eq!(bitsmnist_core::display::human_bytes(80_000), "78.1 KiB");
/// ```
pub fn human_bytes(bytes: usize) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K {
        format!("{bytes} B")
    } else if b < K * K {
        format!("{:.1} KiB", b / K)
    } else if b < K * K * K {
        format!("{:.1} MiB", b / (K * K))
    } else {
        format!("{:.1} GiB", b / (K * K * K))
    }
}

/// An integer with comma thousands separators, as in `636,800`.
pub(crate) fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An 8-bit image, grey or RGB, that encodes to PNG: the canvas of every image display.
///
/// Pixel `(x, y)` has `x` growing to the right and `y` downwards.
#[derive(Clone, PartialEq, Eq)]
pub struct Raster {
    width: usize,
    height: usize,
    rgb: bool,
    data: Vec<u8>,
}

impl Raster {
    /// A grey image filled with level `fill`.
    pub fn grey(width: usize, height: usize, fill: u8) -> Self {
        Self {
            width,
            height,
            rgb: false,
            data: vec![fill; width * height],
        }
    }

    /// An RGB image filled with colour `fill`.
    pub fn rgb(width: usize, height: usize, fill: [u8; 3]) -> Self {
        let mut data = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            data.extend_from_slice(&fill);
        }
        Self {
            width,
            height,
            rgb: true,
            data,
        }
    }

    /// A grey image from row-major levels; `None` if `levels.len() != width * height`.
    pub fn from_grey(width: usize, height: usize, levels: Vec<u8>) -> Option<Self> {
        (levels.len() == width * height).then_some(Self {
            width,
            height,
            rgb: false,
            data: levels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Whether the image has colour channels.
    pub fn is_rgb(&self) -> bool {
        self.rgb
    }

    /// The colour of pixel `(x, y)` (grey levels repeated in the three channels).
    ///
    /// # Panics
    /// When the pixel is outside the image.
    pub fn get(&self, x: usize, y: usize) -> [u8; 3] {
        assert!(x < self.width && y < self.height, "pixel out of range");
        let i = y * self.width + x;
        if self.rgb {
            [self.data[3 * i], self.data[3 * i + 1], self.data[3 * i + 2]]
        } else {
            [self.data[i]; 3]
        }
    }

    /// Sets pixel `(x, y)` to grey level `v`; ignored outside the image.
    pub fn set_grey(&mut self, x: usize, y: usize, v: u8) {
        self.set_rgb(x, y, [v; 3]);
    }

    /// Sets pixel `(x, y)` to a colour (its mean for a grey image); ignored outside the image.
    pub fn set_rgb(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x >= self.width || y >= self.height {
            return;
        }
        let i = y * self.width + x;
        if self.rgb {
            self.data[3 * i..3 * i + 3].copy_from_slice(&c);
        } else {
            self.data[i] = ((u16::from(c[0]) + u16::from(c[1]) + u16::from(c[2])) / 3) as u8;
        }
    }

    /// Copies `src` with its top-left corner at `(x, y)`, each pixel drawn as a `scale` x `scale`
    /// block; parts outside this image are cut off.
    pub fn blit(&mut self, src: &Raster, x: usize, y: usize, scale: usize) {
        let scale = scale.max(1);
        for sy in 0..src.height {
            for sx in 0..src.width {
                let c = src.get(sx, sy);
                for dy in 0..scale {
                    for dx in 0..scale {
                        self.set_rgb(x + sx * scale + dx, y + sy * scale + dy, c);
                    }
                }
            }
        }
    }

    /// The image enlarged `scale` times, each pixel a block (no smoothing).
    pub fn scaled(&self, scale: usize) -> Raster {
        let scale = scale.max(1);
        let mut out = if self.rgb {
            Raster::rgb(self.width * scale, self.height * scale, [0; 3])
        } else {
            Raster::grey(self.width * scale, self.height * scale, 0)
        };
        out.blit(self, 0, 0, scale);
        out
    }

    /// The image as PNG bytes (8-bit grey or RGB); empty for an image without pixels, which
    /// PNG cannot hold.
    pub fn to_png(&self) -> Vec<u8> {
        if self.width == 0 || self.height == 0 {
            return Vec::new();
        }
        let channels = if self.rgb { 3 } else { 1 };
        encode_png(self.width as u32, self.height as u32, channels, &self.data)
    }

    /// Shows the image in a notebook (PNG).
    pub fn evcxr_display(&self) {
        emit_png(&self.to_png());
    }
}

impl std::fmt::Debug for Raster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Raster({} x {} {})",
            self.width,
            self.height,
            if self.rgb { "RGB" } else { "grey" }
        )
    }
}

/// Width and height for `pixels` values drawn as an image: a square when `pixels` is one
/// (784 → 28 x 28), else the divisor pair nearest a square when not too elongated (800 → 32 x
/// 25), else the smallest square that holds them (with padding).
pub fn image_shape(pixels: usize) -> (usize, usize) {
    if pixels == 0 {
        return (0, 0);
    }
    let root = (pixels as f64).sqrt().round() as usize;
    if root * root == pixels {
        return (root, root);
    }
    let mut h = (pixels as f64).sqrt().floor() as usize;
    while h > 1 && !pixels.is_multiple_of(h) {
        h -= 1;
    }
    let w = pixels / h;
    if w <= 2 * h {
        (w, h)
    } else {
        let s = (pixels as f64).sqrt().ceil() as usize;
        (s, pixels.div_ceil(s))
    }
}

/// A Unix time (seconds since 1970-01-01 00:00 UTC) as a UTC date and time,
/// `2026-12-02 00:56:21 UTC`, for the creation time of a model file and the like.
///
/// The date comes from [`util::utc`](crate::util::utc), written out there rather than taken
/// from a date crate: every notebook compiles this library, so its dependency tree stays lean.
///
/// ```
/// use bitsmnist_core::display::utc_date_time;
/// assert_eq!(utc_date_time(0), "1970-01-01 00:00:00 UTC");
/// assert_eq!(utc_date_time(1_796_172_981), "2026-12-02 00:56:21 UTC");
/// assert_eq!(utc_date_time(951_782_400), "2000-02-29 00:00:00 UTC");
/// ```
pub fn utc_date_time(unix_secs: u64) -> String {
    let (year, month, day, h, m, s) = crate::util::utc(unix_secs);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02} UTC")
}

impl crate::bits::Kernel {
    /// Shows the kernel in a notebook as plain text, as people write it (`AVX2`), rather
    /// than as its `Debug` name.
    pub fn evcxr_display(&self) {
        emit(&[("text/plain", &self.to_string())]);
    }
}

/// Colours for series and classes (Tableau 10).
pub(crate) const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// Shared inline CSS of the HTML tables: compact, right-aligned numbers.
pub(crate) const TABLE_STYLE: &str =
    "border-collapse:collapse;font-family:sans-serif;font-size:12px;margin:4px 0";
/// Style of a table cell.
pub(crate) const CELL_STYLE: &str = "border:1px solid #ccc;padding:2px 6px;text-align:right";
/// Style of a header cell.
pub(crate) const HEAD_STYLE: &str =
    "border:1px solid #ccc;padding:2px 6px;text-align:center;background:#f3f3f3;font-weight:bold";

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        // Checked against Python's datetime.
        for (secs, text) in [
            (0, "1970-01-01 00:00:00 UTC"),
            (1_796_172_981, "2026-12-02 00:56:21 UTC"),
            (1_709_210_096, "2024-02-29 12:34:56 UTC"),
            (4_102_444_800, "2100-01-01 00:00:00 UTC"),
            (4_102_444_799, "2099-12-31 23:59:59 UTC"),
        ] {
            assert_eq!(utc_date_time(secs), text);
        }
        // Every day of four centuries runs on without a gap or a repeat.
        let civil = |d: u64| {
            let (y, m, d, ..) = crate::util::utc(d * 86_400);
            (y, m, d)
        };
        let mut last = civil(0);
        assert_eq!(last, (1970, 1, 1));
        for d in 1..146_097 {
            let now = civil(d);
            let next_day = now.2 == last.2 + 1 && now.1 == last.1 && now.0 == last.0;
            let next_month = now.2 == 1 && (now.1 == last.1 + 1 && now.0 == last.0);
            let next_year = (now.1, now.2) == (1, 1) && now.0 == last.0 + 1;
            assert!(next_day || next_month || next_year, "{last:?} then {now:?}");
            last = now;
        }
        assert_eq!(civil(146_097), (2370, 1, 1));
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use ::base64::Engine as _;

    /// Decodes PNG bytes: (width, height, color type).
    pub fn decode_png(bytes: &[u8]) -> (u32, u32, png::ColorType) {
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = dec.read_info().expect("valid PNG");
        let info = reader.info();
        (info.width, info.height, info.color_type)
    }

    /// Every `data:image/png;base64,` payload in `html`, decoded.
    pub fn pngs_in(html: &str) -> Vec<Vec<u8>> {
        html.split("data:image/png;base64,")
            .skip(1)
            .map(|rest| {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
                    .unwrap_or(rest.len());
                ::base64::engine::general_purpose::STANDARD
                    .decode(&rest[..end])
                    .expect("valid base64")
            })
            .collect()
    }

    /// Checks that tags open and close in a balanced way (a rough well-formedness test for the
    /// HTML and SVG we generate, which close every element).
    pub fn assert_balanced(markup: &str, tags: &[&str]) {
        for t in tags {
            let open = markup.matches(&format!("<{t}>")).count()
                + markup.matches(&format!("<{t} ")).count();
            let close = markup.matches(&format!("</{t}>")).count();
            assert_eq!(open, close, "<{t}> opened {open} times, closed {close}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

    #[test]
    fn protocol_frames_each_mime_type() {
        let s = protocol(&[(HTML, "<p>a</p>"), (PNG, "AAAA")]);
        assert_eq!(
            s,
            "EVCXR_BEGIN_CONTENT text/html\n<p>a</p>\nEVCXR_END_CONTENT\n\
             EVCXR_BEGIN_CONTENT image/png\nAAAA\nEVCXR_END_CONTENT\n"
        );
    }

    #[test]
    fn raster_png_round_trips() {
        let mut r = Raster::rgb(3, 2, [1, 2, 3]);
        r.set_rgb(2, 1, [200, 100, 50]);
        let big = r.scaled(4);
        assert_eq!(big.get(11, 7), [200, 100, 50]);
        assert_eq!(big.get(0, 0), [1, 2, 3]);
        assert_eq!(decode_png(&big.to_png()), (12, 8, png::ColorType::Rgb));
        let g = Raster::from_grey(2, 2, vec![0, 64, 128, 255]).unwrap();
        assert_eq!(decode_png(&g.to_png()), (2, 2, png::ColorType::Grayscale));
        assert!(Raster::from_grey(2, 2, vec![0]).is_none());
        assert!(Raster::grey(0, 5, 0).to_png().is_empty());
    }

    #[test]
    fn base64_matches_the_base64_crate() {
        use ::base64::Engine as _;
        let std = ::base64::engine::general_purpose::STANDARD;
        for n in 0..70 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(super::base64(&bytes), std.encode(&bytes), "length {n}");
        }
    }

    #[test]
    fn png_pixels_decode_exactly() {
        let mut r = Raster::rgb(5, 3, [9, 8, 7]);
        r.set_rgb(4, 2, [250, 0, 1]);
        let png = r.to_png();
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (5, 3));
        assert_eq!(&buf[..3], &[9, 8, 7]);
        assert_eq!(&buf[buf.len() - 3..], &[250, 0, 1]);
    }

    #[test]
    fn shapes_and_formatting() {
        assert_eq!(image_shape(784), (28, 28));
        assert_eq!(image_shape(800), (32, 25));
        assert_eq!(image_shape(7), (3, 3));
        assert_eq!(image_shape(0), (0, 0));
        assert_eq!(thousands(636_800), "636,800");
        assert_eq!(thousands(12), "12");
        assert_eq!(human_bytes(100), "100 B");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(escape_html("<'&>"), "&lt;&#39;&amp;&gt;");
    }
}
