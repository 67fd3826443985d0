//! Data sets of 28x28 digits (or any IDX image set), binarised and packed 784 bits per image.
//!
//! - [`Dataset::embedded`]: 10,000 real MNIST training digits and the official 10,000 test
//!   digits, compiled into the crate (no file, no network).
//! - [`Dataset::from_dir`]: any folder holding the four IDX files (MNIST, Fashion-MNIST, ...).
//! - [`Dataset::mnist`]: full MNIST from the per-user cache, downloading it first when the
//!   `download` feature is on.
//!
//! Binarisation follows the original by default ([`Binarization::MeanOfNonZero`]).

mod augment;
pub mod idx;

#[cfg(feature = "download")]
pub mod download;

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::bits::BitMatrix;
pub use augment::{Augment, AugmentError};
pub use idx::{Idx, IdxError};

/// The label given to every example of a noisy data set (the original's `NOISE_LABEL = -1`).
pub const NOISE_LABEL: u8 = u8::MAX;

/// The four file stems of an MNIST-like set, in the order train images, train labels, test
/// images, test labels.
pub const FILE_STEMS: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Class names of Fashion-MNIST, used when a folder's name says it holds that set.
pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Why a data set could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be read or parsed.
    // The cause is in the text and not also a `source()`, so that printing the chain of
    // causes says it once.
    #[error("{path}: {error}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: IdxError,
    },
    /// Some of the four IDX files are missing.
    #[error(
        "{dir}: missing {missing:?}; put the four MNIST files there (plain or .gz), or use the embedded data set"
    )]
    MissingFiles {
        /// The folder searched.
        dir: PathBuf,
        /// File stems not found.
        missing: Vec<String>,
    },
    /// The files do not form an image set.
    #[error("{what}")]
    Shape {
        /// What is wrong.
        what: String,
    },
    /// A binarisation that cannot be used ([`Binarization::check`]).
    #[error("{0}")]
    Binarization(#[from] BinarizationError),
    /// Downloading failed on every mirror.
    #[error(
        "could not download {file}: {attempts}. Offline? Put the four MNIST files ({files}) in {cache} by hand, or use the embedded data set (`--dataset embedded`, `Dataset::embedded()`)",
        attempts = attempts.join("; "),
        files = FILE_STEMS.map(|s| format!("{s}.gz")).join(", "),
        cache = cache_dir.display()
    )]
    Download {
        /// The file that failed.
        file: String,
        /// One line per mirror tried.
        attempts: Vec<String>,
        /// Where the files are expected.
        cache_dir: PathBuf,
    },
    /// Writing into the cache failed.
    #[error("cannot write {path}: {error}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// [`Dataset::load_until`] was asked to stop, and did before the data set was whole.
    #[error("stopped while loading the data set")]
    Stopped,
    /// The `download` feature is off and the cache is empty.
    #[error(
        "full MNIST is not in {0}; this build cannot download (enable the `download` feature or use the command line), put the four files there by hand, or use the embedded data set"
    )]
    NotCached(PathBuf),
    /// The decoded data set would not fit in memory ([`crate::memory::available`]): refused
    /// from the files' headers, before anything is decoded (a few MB of gzip can declare
    /// half a gigabyte of pixels).
    #[error(
        "{}: the data set decodes to about {}, more than the {} of memory available",
        dir.display(),
        crate::memory::format_bytes(*needed),
        crate::memory::format_bytes(*available)
    )]
    Memory {
        /// The folder.
        dir: PathBuf,
        /// Bytes of one decoded copy ([`DeclaredSize::bytes`]).
        needed: u64,
        /// The limit it was checked against.
        available: u64,
    },
}

/// The images a data folder's files declare in their headers ([`DeclaredSize::of_dir`]),
/// known before anything is decoded, for memory checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeclaredSize {
    /// Training images.
    pub train: usize,
    /// Test images.
    pub test: usize,
    /// Pixels of each image.
    pub pixels: usize,
}

impl DeclaredSize {
    /// The sizes the four IDX files in `dir` declare, read from their headers only (each
    /// bounded by [`idx::MAX_ELEMENTS`]); a file that is missing or not IDX is refused as
    /// loading it would refuse it.
    pub fn of_dir(dir: &Path) -> Result<Self, DataError> {
        let paths = find_files(dir)?;
        let mut dims = Vec::with_capacity(4);
        for p in &paths {
            dims.push(Idx::header(p).map_err(|error| DataError::File {
                path: p.clone(),
                error,
            })?);
        }
        // Refused here as loading would refuse them: an empty split, a side beyond
        // [`MAX_SIDE`], labels that do not match (a size check must not hide those).
        for (what, images, labels) in [
            ("training", &dims[0], &dims[1]),
            ("test", &dims[2], &dims[3]),
        ] {
            declared_shape(images, labels).map_err(|e| DataError::Shape {
                what: format!("{what} split: {e}"),
            })?;
        }
        let pixels = |d: &[usize]| d[1] * d[2];
        Ok(Self {
            train: dims[0][0],
            test: dims[2][0],
            pixels: pixels(&dims[0]).max(pixels(&dims[2])),
        })
    }

    /// Every image, both splits.
    pub fn images(&self) -> usize {
        self.train.saturating_add(self.test)
    }

    /// Bytes of one decoded copy ([`crate::memory::dataset_bytes`]).
    pub fn bytes(&self) -> u64 {
        crate::memory::dataset_bytes(self.images(), self.pixels)
    }
}

/// How grey pixels become bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Binarization {
    /// The original rule, computed per split: `bit = pixel > sum(pixels) / count(pixels > 0)`
    /// (strict), evaluated exactly in integers.
    #[default]
    MeanOfNonZero,
    /// `bit = pixel > t`.
    Threshold(u8),
    /// A thermometer code that keeps grey levels as bits: `levels` bits per pixel (2 to
    /// [`Binarization::MAX_LEVELS`]), bit `c` being `pixel > t_c` with the evenly spaced
    /// thresholds `t_c = 255 * (c + 1) / (levels + 1)` (integer division;
    /// [`Binarization::thresholds`]). An image becomes a map of `levels` channels, each pixel's
    /// bits adjacent (pixel-major, as [`crate::layers::Shape`] stores a map), so convolutions
    /// read `levels` input channels and dense layers `pixels * levels` inputs. Appended in
    /// model-file format version 7.
    Thermometer {
        /// Bits per pixel.
        levels: u8,
    },
}

impl Binarization {
    /// The fewest thresholds of a [`Binarization::Thermometer`] (one is [`Binarization::Threshold`]).
    pub const MIN_LEVELS: u8 = 2;
    /// The most thresholds of a [`Binarization::Thermometer`]: beyond 8 the levels are 28 grey
    /// values apart or less, finer than the data's noise, and the input grows by 8x already.
    pub const MAX_LEVELS: u8 = 8;

    /// A thermometer code of `levels` bits per pixel, checked ([`Binarization::check`]).
    ///
    /// ```
    /// use bitsmnist_core::datasets::Binarization;
    /// let b = Binarization::thermometer(4).unwrap();
    /// assert_eq!(b.thresholds(), [51, 102, 153, 204]);
    /// assert_eq!(b.channels(), 4);
    /// assert!(Binarization::thermometer(9).is_err());
    /// ```
    pub fn thermometer(levels: u8) -> Result<Self, BinarizationError> {
        let b = Binarization::Thermometer { levels };
        b.check()?;
        Ok(b)
    }

    /// Whether the rule can binarise: a thermometer's levels are 2 to [`Self::MAX_LEVELS`]
    /// (the enum itself, like a model file's metadata, can hold any number).
    pub fn check(self) -> Result<(), BinarizationError> {
        match self {
            Binarization::Thermometer { levels }
                if !(Self::MIN_LEVELS..=Self::MAX_LEVELS).contains(&levels) =>
            {
                Err(BinarizationError::Levels(levels))
            }
            _ => Ok(()),
        }
    }

    /// Bits per pixel: the channels of the image map the model reads (1 but for a
    /// thermometer code).
    pub fn channels(self) -> usize {
        match self {
            Binarization::Thermometer { levels } => usize::from(levels).max(1),
            _ => 1,
        }
    }

    /// The fixed thresholds of the rule, one per channel (`bit c = pixel > thresholds[c]`):
    /// a thermometer's evenly spaced ones, a fixed threshold's one; empty for the mean rule,
    /// whose threshold depends on the data ([`Split::threshold`]).
    pub fn thresholds(self) -> Vec<u8> {
        match self {
            Binarization::MeanOfNonZero => Vec::new(),
            Binarization::Threshold(t) => vec![t],
            Binarization::Thermometer { levels } => {
                let k = u32::from(levels);
                // At most 255 * k / (k + 1) < 255: always a u8.
                (0..k).map(|c| (255 * (c + 1) / (k + 1)) as u8).collect()
            }
        }
    }
}

/// A binarisation that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BinarizationError {
    /// A thermometer code of too few or too many levels.
    #[error(
        "a thermometer code of {0} levels; use {min} to {max}",
        min = Binarization::MIN_LEVELS,
        max = Binarization::MAX_LEVELS
    )]
    Levels(u8),
}

impl std::fmt::Display for Binarization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Binarization::MeanOfNonZero => write!(f, "mean of non-zero pixels"),
            Binarization::Threshold(t) => write!(f, "pixel > {t}"),
            Binarization::Thermometer { levels } => {
                let t: Vec<String> = self.thresholds().iter().map(u8::to_string).collect();
                write!(f, "thermometer:{levels} (pixel > {})", t.join(", "))
            }
        }
    }
}

impl std::str::FromStr for Binarization {
    type Err = crate::util::ParseError;
    /// `mean`, a number 0-255, or `thermometer:K` (also `thermo:K`) with K 2 to 8.
    ///
    /// ```
    /// use bitsmnist_core::datasets::Binarization;
    /// assert_eq!("thermometer:4".parse(), Ok(Binarization::Thermometer { levels: 4 }));
    /// assert_eq!("128".parse(), Ok(Binarization::Threshold(128)));
    /// assert!("thermometer:1".parse::<Binarization>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: String| crate::util::ParseError::new("binarisation", s, why);
        let usage = "use `mean`, a threshold 0-255 or `thermometer:K` with K 2 to 8";
        if let Some(k) = s
            .strip_prefix("thermometer:")
            .or_else(|| s.strip_prefix("thermo:"))
        {
            let levels: u8 = k
                .trim()
                .parse()
                .map_err(|_| bad(format!("`{k}` is not a number of levels; {usage}")))?;
            return Binarization::thermometer(levels).map_err(|e| bad(e.to_string()));
        }
        match s {
            "mean" | "mean-nonzero" => Ok(Binarization::MeanOfNonZero),
            t => t
                .parse()
                .map(Binarization::Threshold)
                .map_err(|_| bad(usage.into())),
        }
    }
}

/// Where a data set came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Source {
    /// The digits compiled into the crate.
    Embedded,
    /// Full MNIST from the cache.
    Mnist,
    /// A folder of IDX files.
    Dir(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Embedded => write!(f, "embedded"),
            Source::Mnist => write!(f, "mnist"),
            Source::Dir(p) => write!(f, "{}", p.display()),
        }
    }
}

impl std::str::FromStr for Source {
    type Err = std::convert::Infallible;
    /// `embedded`, `mnist`, or a folder path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "embedded" => Source::Embedded,
            "mnist" => Source::Mnist,
            p => Source::Dir(PathBuf::from(p)),
        })
    }
}

/// One split (train or test): packed bit images, labels, and the grey levels they came from.
/// An image is `pixels * channels` bits, each pixel's channels adjacent: one channel but for a
/// thermometer code ([`Binarization::Thermometer`]).
#[derive(Clone, PartialEq)]
pub struct Split {
    images: BitMatrix,
    labels: Vec<u8>,
    grey: Option<Vec<u8>>,
    threshold: f64,
    channels: usize,
}

impl Split {
    /// Builds a split from packed images and labels; `None` if the counts differ or grey
    /// levels are given with the wrong length.
    pub fn new(images: BitMatrix, labels: Vec<u8>, grey: Option<Vec<u8>>) -> Option<Self> {
        if images.rows() != labels.len()
            || grey
                .as_ref()
                .is_some_and(|g| g.len() != images.rows() * images.cols())
        {
            return None;
        }
        Some(Self {
            images,
            labels,
            grey,
            threshold: f64::NAN,
            channels: 1,
        })
    }

    /// Binarises grey images (`n * pixels` bytes) with `rule`: `pixels * rule.channels()`
    /// bits an image.
    ///
    /// # Panics
    ///
    /// When `grey` is not `labels.len() * pixels` bytes, or `rule` does not pass
    /// [`Binarization::check`] (the data set loaders refuse such a rule with an error).
    pub fn binarize(grey: Vec<u8>, pixels: usize, labels: Vec<u8>, rule: Binarization) -> Self {
        Self::binarize_until(grey, pixels, labels, rule, &|| false).expect("never stopped")
    }

    /// [`binarize`](Self::binarize), asking `stop` before every [`idx::READ_CHUNK`] grey
    /// levels it reads (twice over: the mean, then the bits); `None` when it says so.
    fn binarize_until(
        grey: Vec<u8>,
        pixels: usize,
        labels: Vec<u8>,
        rule: Binarization,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Option<Self> {
        let n = labels.len();
        assert_eq!(grey.len(), n * pixels, "Split::binarize: shape");
        assert!(rule.check().is_ok(), "Split::binarize: {rule:?}");
        let (mut sum, mut nonzero) = (0u64, 0u64);
        for chunk in grey.chunks(idx::READ_CHUNK) {
            if stop() {
                return None;
            }
            for &p in chunk {
                sum += u64::from(p);
                nonzero += u64::from(p > 0);
            }
        }
        let (threshold, is_on): (f64, Box<dyn Fn(u8) -> bool + Sync>) = match rule {
            // `p > sum / nonzero`, kept exact: `p * nonzero > sum`.
            Binarization::MeanOfNonZero => (
                if nonzero == 0 {
                    0.0
                } else {
                    sum as f64 / nonzero as f64
                },
                Box::new(move |p| u64::from(p) * nonzero > sum),
            ),
            Binarization::Threshold(t) => (f64::from(t), Box::new(move |p| p > t)),
            // Each channel is its own threshold: `is_on` is unused.
            Binarization::Thermometer { .. } => (f64::NAN, Box::new(|_| false)),
        };
        let thresholds = match rule {
            Binarization::Thermometer { .. } => rule.thresholds(),
            _ => Vec::new(),
        };
        let channels = rule.channels();
        let mut images = BitMatrix::zeros(n, pixels * channels);
        let wpr = images.words_per_row();
        {
            let words = images.words_mut();
            let images_per_stop = (idx::READ_CHUNK / pixels.max(1)).max(1);
            for (i, img) in grey.chunks_exact(pixels.max(1)).enumerate().take(n) {
                if i.is_multiple_of(images_per_stop) && stop() {
                    return None;
                }
                let row = &mut words[i * wpr..(i + 1) * wpr];
                if thresholds.is_empty() {
                    for (j, &p) in img.iter().enumerate() {
                        if is_on(p) {
                            row[j / 64] |= 1 << (j % 64);
                        }
                    }
                } else {
                    for (j, &p) in img.iter().enumerate() {
                        for (c, &t) in thresholds.iter().enumerate() {
                            let bit = j * channels + c;
                            if p > t {
                                row[bit / 64] |= 1 << (bit % 64);
                            }
                        }
                    }
                }
            }
        }
        Some(Self {
            images,
            labels,
            grey: Some(grey),
            threshold,
            channels,
        })
    }

    /// Bits per pixel: 1, or a thermometer code's levels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Pixels per image (its bits over [`Split::channels`]).
    pub fn pixels(&self) -> usize {
        self.images.cols() / self.channels
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The packed images, one row per example.
    pub fn images(&self) -> &BitMatrix {
        &self.images
    }

    /// The labels (class indices, or [`NOISE_LABEL`]).
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Grey levels of image `i` (0-255, [`Split::pixels`] of them), if this split kept them.
    pub fn grey(&self, i: usize) -> Option<&[u8]> {
        let p = self.pixels();
        self.grey.as_deref().map(|g| &g[i * p..(i + 1) * p])
    }

    /// The threshold the binarisation used (the mean of non-zero pixels, or the fixed value);
    /// NaN when the split was built from bits or by a thermometer code (several thresholds:
    /// [`Binarization::thresholds`]).
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Fraction of 1-bits over all images.
    pub fn ones_fraction(&self) -> f64 {
        let total = self.images.rows() * self.images.cols();
        if total == 0 {
            0.0
        } else {
            self.images.count_ones() as f64 / total as f64
        }
    }

    /// Examples per class, indexed by label (length `classes`; noise labels are not counted).
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut c = vec![0; classes];
        for &l in &self.labels {
            if let Some(x) = c.get_mut(l as usize) {
                *x += 1;
            }
        }
        c
    }

    /// The examples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Self {
        let p = self.pixels();
        Self {
            images: self.images.select_rows(indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            grey: self.grey.as_ref().map(|g| {
                indices
                    .iter()
                    .flat_map(|&i| &g[i * p..(i + 1) * p])
                    .copied()
                    .collect()
            }),
            threshold: self.threshold,
            channels: self.channels,
        }
    }

    /// The examples whose label is in `task`, relabelled to the class's position in the task
    /// (so digits 3 and 8 become labels 0 and 1).
    pub fn for_task(&self, task: &Task) -> Self {
        let idx: Vec<usize> = (0..self.len())
            .filter(|&i| task.position(self.labels[i]).is_some())
            .collect();
        let mut s = self.select(&idx);
        for l in &mut s.labels {
            *l = task.position(*l).expect("filtered") as u8;
        }
        s
    }

    /// A class-balanced sample by the original's deterministic scan: `n = ceil(fraction *
    /// len)`, then examples are taken in order while their class has fewer than its share
    /// (`ceil(n / k)` for the first classes to fill, so the total is `n`), skipping labels
    /// outside `0..classes`. Truncated if the data run out.
    pub fn sample(&self, fraction: f64, classes: usize) -> Self {
        let order: Vec<usize> = (0..self.len()).collect();
        self.sample_in_order(fraction, classes, &order)
    }

    /// As [`Split::sample`], but scanning the examples in an order shuffled from `seed`.
    pub fn sample_shuffled(&self, fraction: f64, classes: usize, seed: u64) -> Self {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        self.sample_in_order(fraction, classes, &order)
    }

    fn sample_in_order(&self, fraction: f64, classes: usize, order: &[usize]) -> Self {
        let n = ((fraction.clamp(0.0, 1.0) * self.len() as f64).ceil() as usize).min(self.len());
        let per_class = n.div_ceil(classes.max(1));
        let mut counts = vec![0usize; classes];
        let mut taken = Vec::with_capacity(n);
        for &i in order {
            if taken.len() == n {
                break;
            }
            let l = self.labels[i] as usize;
            if l < classes && counts[l] < per_class {
                counts[l] += 1;
                taken.push(i);
            }
        }
        self.select(&taken)
    }

    /// A copy with each pixel bit flipped with probability `noise.flip_probability` (seeded),
    /// and every label set to [`NOISE_LABEL`].
    pub fn noisy(&self, noise: Noise, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut images = self.images.clone();
        for i in 0..images.rows() {
            for j in 0..images.cols() {
                if rng.random_bool(noise.flip_probability) {
                    images.flip(i, j);
                }
            }
        }
        Self {
            images,
            labels: vec![NOISE_LABEL; self.len()],
            grey: None,
            threshold: self.threshold,
            channels: self.channels,
        }
    }
}

impl std::fmt::Debug for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Split({} images of {} bits)",
            self.len(),
            self.images.cols()
        )
    }
}

/// Noise for [`Split::noisy`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    /// Probability that each pixel bit is flipped.
    pub flip_probability: f64,
}

impl Default for Noise {
    /// The original README's rule, `if rand() > 0.3 then pixel = !pixel`: each bit flips with
    /// probability 0.7.
    fn default() -> Self {
        Self {
            flip_probability: 0.7,
        }
    }
}

/// Why a task is not valid, or not valid for a data set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// Fewer than two classes.
    #[error("a task needs at least two classes")]
    TooFewClasses,
    /// A class listed more than once.
    #[error("class {0} listed twice")]
    Duplicate(u8),
    /// The noise label ([`NOISE_LABEL`]) listed as a class.
    #[error("the noise label is not a class")]
    NoiseLabel,
    /// A class index at or past the data set's class count.
    #[error("class {class} is not in {dataset} (classes 0 to {last})", last = classes.saturating_sub(1))]
    NotInDataset {
        /// The class.
        class: u8,
        /// The data set's name.
        dataset: String,
        /// Its number of classes.
        classes: usize,
    },
    /// A class without a single example in the training split.
    #[error("class {class} has no training examples in {dataset}")]
    NoExamples {
        /// The class.
        class: u8,
        /// The data set's name.
        dataset: String,
    },
}

/// The classes a model is trained to tell apart, in output-neuron order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Task {
    classes: Vec<u8>,
}

impl Task {
    /// A task over `classes` (original labels). At least two distinct classes.
    pub fn new(classes: Vec<u8>) -> Result<Self, TaskError> {
        if classes.len() < 2 {
            return Err(TaskError::TooFewClasses);
        }
        let mut seen = [false; 256];
        for &c in &classes {
            if std::mem::replace(&mut seen[c as usize], true) {
                return Err(TaskError::Duplicate(c));
            }
            if c == NOISE_LABEL {
                return Err(TaskError::NoiseLabel);
            }
        }
        Ok(Self { classes })
    }

    /// Digits 0 and 1, the original's task.
    pub fn zero_one() -> Self {
        Self {
            classes: vec![0, 1],
        }
    }

    /// All ten classes.
    pub fn digits() -> Self {
        Self {
            classes: (0..10).collect(),
        }
    }

    /// The original labels, in output order.
    pub fn classes(&self) -> &[u8] {
        &self.classes
    }

    /// Number of classes (output neurons).
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Always false: a task has at least two classes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Position of original label `label` in the task.
    pub fn position(&self, label: u8) -> Option<usize> {
        self.classes.iter().position(|&c| c == label)
    }

    /// Whether this is all ten classes in order.
    pub fn is_all_digits(&self) -> bool {
        *self == Self::digits()
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == Task::zero_one() {
            write!(f, "zero-one")
        } else if self.is_all_digits() {
            write!(f, "digits")
        } else {
            let v: Vec<String> = self.classes.iter().map(u8::to_string).collect();
            write!(f, "{}", v.join(","))
        }
    }
}

impl std::str::FromStr for Task {
    type Err = crate::util::ParseError;
    /// `zero-one`, `digits`, or a comma-separated class list such as `3,8`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zero-one" | "zeroone" | "01" => Ok(Task::zero_one()),
            "digits" | "all" => Ok(Task::digits()),
            list => Task::new(
                list.split(',')
                    .map(|c| {
                        c.trim().parse::<u8>().map_err(|_| {
                            crate::util::ParseError::new(
                                "task",
                                s,
                                format!(
                                    "`{c}` is not a class number; a task is `zero-one`, \
                                     `digits` or a class list such as `3,8`"
                                ),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
            )
            .map_err(|e| crate::util::ParseError::new("task", s, e.to_string())),
        }
    }
}

/// A data set: a train and a test split of binarised images, with class names.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Where it came from.
    pub source: Source,
    /// Short name (`MNIST (embedded)`, `Fashion-MNIST`, ...).
    pub name: String,
    /// The training split.
    pub train: Split,
    /// The test split.
    pub test: Split,
    /// Name of each class, indexed by label.
    pub class_names: Vec<String>,
    /// How pixels were binarised.
    pub binarization: Binarization,
    /// Image width and height in pixels.
    pub shape: (usize, usize),
}

static EMBEDDED: [&[u8]; 4] = [
    include_bytes!("../../data/mnist/train-images-idx3-ubyte.gz"),
    include_bytes!("../../data/mnist/train-labels-idx1-ubyte.gz"),
    include_bytes!("../../data/mnist/t10k-images-idx3-ubyte.gz"),
    include_bytes!("../../data/mnist/t10k-labels-idx1-ubyte.gz"),
];

impl Dataset {
    /// The embedded set: 10,000 real MNIST training digits and the official 10,000-digit test
    /// set, binarised the original way. Needs no file and no network.
    ///
    /// ```
    /// let d = bitsmnist_core::datasets::Dataset::embedded();
    /// assert_eq!((d.train.len(), d.test.len()), (10_000, 10_000));
    /// assert_eq!(d.train.images().cols(), 784);
    /// ```
    pub fn embedded() -> Self {
        Self::embedded_with(Binarization::default())
    }

    /// The same examples binarised with `binarization` from their grey levels (a copy of
    /// itself when it already is); `None` when a split has no grey levels to binarise.
    ///
    /// ```
    /// use bitsmnist_core::datasets::{Binarization, Dataset};
    /// let mean = Dataset::embedded();
    /// let thick = mean.rebinarized(Binarization::Threshold(75)).unwrap();
    /// assert_eq!(thick.binarization, Binarization::Threshold(75));
    /// assert_eq!(thick.train.images(), Dataset::embedded_with(Binarization::Threshold(75)).train.images());
    /// assert!(thick.train.ones_fraction() > mean.train.ones_fraction());
    /// ```
    pub fn rebinarized(&self, binarization: Binarization) -> Option<Self> {
        if binarization == self.binarization {
            return Some(self.clone());
        }
        let pixels = self.pixels();
        let split = |s: &Split| {
            let grey = s.grey.clone()?;
            Some(Split::binarize(
                grey,
                pixels,
                s.labels.clone(),
                binarization,
            ))
        };
        Some(Self {
            source: self.source.clone(),
            name: self.name.clone(),
            train: split(&self.train)?,
            test: split(&self.test)?,
            class_names: self.class_names.clone(),
            binarization,
            shape: self.shape,
        })
    }

    /// The embedded set with another binarisation.
    ///
    /// # Panics
    ///
    /// When `binarization` does not pass [`Binarization::check`]
    /// ([`Dataset::try_embedded_with`] returns the error).
    pub fn embedded_with(binarization: Binarization) -> Self {
        let parsed: Vec<Idx> = EMBEDDED
            .iter()
            .map(|b| Idx::from_bytes(b).expect("embedded data is valid"))
            .collect();
        let [ti, tl, si, sl]: [Idx; 4] = parsed.try_into().expect("four files");
        Self::from_idx(
            Source::Embedded,
            "MNIST (embedded)",
            [ti, tl, si, sl],
            binarization,
            &|| false,
        )
        .expect("embedded data is consistent")
    }

    /// The embedded set with another binarisation, refused when the rule cannot binarise
    /// ([`Binarization::check`]) where [`Dataset::embedded_with`] panics.
    pub fn try_embedded_with(binarization: Binarization) -> Result<Self, DataError> {
        binarization.check()?;
        Ok(Self::embedded_with(binarization))
    }

    /// Loads the four IDX files (`train-images-idx3-ubyte`, ... plain or `.gz`) from `dir`.
    /// A folder whose path mentions "fashion" gets Fashion-MNIST's class names. A set whose
    /// headers declare more than the memory limit allows ([`crate::memory::check_current`])
    /// is refused before it is decoded ([`DataError::Memory`]).
    pub fn from_dir(dir: &Path, binarization: Binarization) -> Result<Self, DataError> {
        Self::from_dir_until(dir, binarization, &|| false)
    }

    /// [`from_dir`](Self::from_dir), asking `stop` at its stop points: every
    /// [`idx::READ_CHUNK`] bytes read, decoded or binarised (a few milliseconds of work);
    /// when it says so, [`DataError::Stopped`].
    pub fn from_dir_until(
        dir: &Path,
        binarization: Binarization,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<Self, DataError> {
        binarization.check()?;
        // Sized from the headers first: a set that cannot be held is refused undecoded.
        let needed = DeclaredSize::of_dir(dir)?.bytes();
        if let Err(e) = crate::memory::check_current(needed) {
            return Err(DataError::Memory {
                dir: dir.into(),
                needed: e.needed,
                available: e.available,
            });
        }
        let paths = find_files(dir)?;
        let mut parsed = Vec::with_capacity(4);
        for p in &paths {
            parsed.push(Idx::open_until(p, stop).map_err(|error| match error {
                IdxError::Stopped => DataError::Stopped,
                error => DataError::File {
                    path: p.clone(),
                    error,
                },
            })?);
        }
        let [ti, tl, si, sl]: [Idx; 4] = parsed.try_into().expect("four files");
        let fashion = dir
            .to_string_lossy()
            .to_ascii_lowercase()
            .contains("fashion");
        let name = if fashion {
            "Fashion-MNIST".to_string()
        } else {
            dir.file_name()
                .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into())
        };
        let mut d = Self::from_idx(
            Source::Dir(dir.into()),
            &name,
            [ti, tl, si, sl],
            binarization,
            stop,
        )?;
        if fashion && d.class_names.len() == 10 {
            d.class_names = FASHION_CLASSES.iter().map(|s| s.to_string()).collect();
        }
        Ok(d)
    }

    /// Full MNIST (60,000 + 10,000) from the cache folder ([`cache_dir`]), downloading it
    /// first when the `download` feature is on and the files are missing.
    pub fn mnist(binarization: Binarization) -> Result<Self, DataError> {
        Self::mnist_in(&cache_dir(None), binarization)
    }

    /// As [`Dataset::mnist`], with the cache in `dir`.
    pub fn mnist_in(dir: &Path, binarization: Binarization) -> Result<Self, DataError> {
        Self::mnist_in_until(dir, binarization, &|| false)
    }

    /// [`mnist_in`](Self::mnist_in), reading and decoding the files with the stop points of
    /// [`from_dir_until`](Self::from_dir_until) (a download has none).
    pub fn mnist_in_until(
        dir: &Path,
        binarization: Binarization,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<Self, DataError> {
        #[cfg(feature = "download")]
        download::Mirrors::default().fetch(dir, &mut |_| {})?;
        #[cfg(not(feature = "download"))]
        if find_files(dir).is_err() {
            return Err(DataError::NotCached(dir.into()));
        }
        let mut d = Self::from_dir_until(dir, binarization, stop)?;
        d.source = Source::Mnist;
        d.name = "MNIST".into();
        Ok(d)
    }

    /// Loads from a [`Source`].
    pub fn load(source: &Source, binarization: Binarization) -> Result<Self, DataError> {
        Self::load_until(source, binarization, &|| false)
    }

    /// [`load`](Self::load), asking `stop` at the stop points of
    /// [`from_dir_until`](Self::from_dir_until) (the embedded set, decoded in a few hundredths
    /// of a second, only before and after); when it says so, [`DataError::Stopped`].
    ///
    /// ```
    /// use bitsmnist_core::datasets::{Binarization, DataError, Dataset, Source};
    /// let stopped = Dataset::load_until(&Source::Embedded, Binarization::default(), &|| true);
    /// assert!(matches!(stopped, Err(DataError::Stopped)));
    /// ```
    pub fn load_until(
        source: &Source,
        binarization: Binarization,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<Self, DataError> {
        let loaded = match source {
            Source::Embedded if !stop() => Self::try_embedded_with(binarization)?,
            Source::Embedded => return Err(DataError::Stopped),
            Source::Mnist => Self::mnist_in_until(&cache_dir(None), binarization, stop)?,
            Source::Dir(p) => Self::from_dir_until(p, binarization, stop)?,
        };
        if stop() {
            return Err(DataError::Stopped);
        }
        Ok(loaded)
    }

    fn from_idx(
        source: Source,
        name: &str,
        [ti, tl, si, sl]: [Idx; 4],
        binarization: Binarization,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<Self, DataError> {
        binarization.check()?;
        let split = |what: &str, r: Result<_, DataError>| {
            r.map_err(|e| DataError::Shape {
                what: format!("{what} split: {e}"),
            })
        };
        let shape = split("training", image_shape(&ti, &tl))?;
        if split("test", image_shape(&si, &sl))? != shape {
            return Err(DataError::Shape {
                what: "train and test images differ in size".into(),
            });
        }
        let pixels = shape.0 * shape.1;
        let classes = ti_max_label(&tl).max(ti_max_label(&sl)) as usize + 1;
        let class_names = (0..classes).map(|c| c.to_string()).collect();
        Ok(Self {
            source,
            name: name.into(),
            train: Split::binarize_until(ti.data, pixels, tl.data, binarization, stop)
                .ok_or(DataError::Stopped)?,
            test: Split::binarize_until(si.data, pixels, sl.data, binarization, stop)
                .ok_or(DataError::Stopped)?,
            class_names,
            binarization,
            shape,
        })
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.shape.0 * self.shape.1
    }

    /// Bits per image, the width a model's first layer reads: the pixels times the bits of
    /// each ([`Binarization::channels`]).
    ///
    /// ```
    /// use bitsmnist_core::datasets::{Binarization, Dataset};
    /// let d = Dataset::embedded_with(Binarization::Thermometer { levels: 4 });
    /// assert_eq!((d.pixels(), d.inputs()), (784, 4 * 784));
    /// assert_eq!(d.train.images().cols(), d.inputs());
    /// ```
    pub fn inputs(&self) -> usize {
        self.pixels() * self.binarization.channels()
    }

    /// Both splits restricted to `task`, relabelled to the task's class order, with the class
    /// names to match. Fails when a class of the task is not one of the data set's
    /// ([`Dataset::classes`]) or has no example in the training split.
    ///
    /// ```
    /// use bitsmnist_core::datasets::{Dataset, Task, TaskError};
    /// let data = Dataset::embedded();
    /// assert_eq!(data.for_task(&Task::zero_one()).unwrap().classes(), 2);
    /// let err = data.for_task(&"3,42".parse().unwrap()).unwrap_err();
    /// assert!(matches!(err, TaskError::NotInDataset { class: 42, .. }));
    /// ```
    pub fn for_task(&self, task: &Task) -> Result<Self, TaskError> {
        let mut present = [false; 256];
        for &l in self.train.labels() {
            present[l as usize] = true;
        }
        for &class in task.classes() {
            if class as usize >= self.classes() {
                return Err(TaskError::NotInDataset {
                    class,
                    dataset: self.name.clone(),
                    classes: self.classes(),
                });
            }
            if !present[class as usize] {
                return Err(TaskError::NoExamples {
                    class,
                    dataset: self.name.clone(),
                });
            }
        }
        Ok(Self {
            train: self.train.for_task(task),
            test: self.test.for_task(task),
            class_names: task
                .classes()
                .iter()
                .map(|&c| {
                    self.class_names
                        .get(c as usize)
                        .cloned()
                        .unwrap_or_else(|| c.to_string())
                })
                .collect(),
            ..self.clone()
        })
    }

    /// The same images with seeded noise, all labels [`NOISE_LABEL`] (the original
    /// `noisymnist`).
    pub fn noisy(&self, noise: Noise, seed: u64) -> Self {
        Self {
            name: format!("{} (noisy)", self.name),
            train: self.train.noisy(noise, seed),
            test: self.test.noisy(noise, seed ^ 0x9e37_79b9_7f4a_7c15),
            ..self.clone()
        }
    }
}

fn ti_max_label(labels: &Idx) -> u8 {
    labels.data.iter().copied().max().unwrap_or(0)
}

/// The longest image side a data set may have (MNIST's is 28): the pixel count is the
/// width of every model's first layer.
pub const MAX_SIDE: usize = 1024;

fn image_shape(images: &Idx, labels: &Idx) -> Result<(usize, usize), DataError> {
    let shape = declared_shape(&images.dims, &labels.dims)?;
    if labels.data.contains(&NOISE_LABEL) {
        return Err(DataError::Shape {
            what: "label 255 is reserved for noise".into(),
        });
    }
    Ok(shape)
}

/// The (columns, rows) of a split's images from its files' declared sizes, checked: what a
/// header alone can refuse, so that sizing a set from its headers refuses what loading it
/// would, with the same words.
fn declared_shape(images: &[usize], labels: &[usize]) -> Result<(usize, usize), DataError> {
    let shape_err = |what: String| Err(DataError::Shape { what });
    if images.len() != 3 {
        return shape_err(format!(
            "images have {} dimensions, expected 3 (count, rows, columns)",
            images.len()
        ));
    }
    if labels.len() != 1 {
        return shape_err(format!(
            "labels have {} dimensions, expected 1",
            labels.len()
        ));
    }
    if images[0] != labels[0] {
        return shape_err(format!("{} images but {} labels", images[0], labels[0]));
    }
    if images[0] == 0 {
        return shape_err("the file holds no images".into());
    }
    // Every pixel is a model input: a header may not make the model huge by itself.
    let (rows, cols) = (images[1], images[2]);
    if rows == 0 || cols == 0 || rows > MAX_SIDE || cols > MAX_SIDE {
        return shape_err(format!(
            "images of {rows}x{cols} pixels; each side must be 1 to {MAX_SIDE}"
        ));
    }
    Ok((cols, rows))
}

/// Finds the four IDX files in `dir`, preferring `.gz`. A name that is there but not a
/// regular file (a FIFO, a folder) is found too, so that reading it says so
/// ([`Idx::open`] refuses it) instead of calling it missing.
pub fn find_files(dir: &Path) -> Result<[PathBuf; 4], DataError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for stem in FILE_STEMS {
        let gz = dir.join(format!("{stem}.gz"));
        let plain = dir.join(stem);
        if let Some(p) = [&gz, &plain]
            .into_iter()
            .find(|p| p.is_file())
            .or_else(|| [&gz, &plain].into_iter().find(|p| p.exists()))
        {
            found.push(p.clone());
        } else {
            missing.push(stem.to_string());
        }
    }
    if missing.is_empty() {
        Ok(found.try_into().expect("four"))
    } else {
        Err(DataError::MissingFiles {
            dir: dir.into(),
            missing,
        })
    }
}

/// The folder where full MNIST is cached: `explicit` if given, else `$BITSMNIST_DATA_DIR`, else
/// `$XDG_CACHE_HOME/bitsmnist/mnist`, else `~/.cache/bitsmnist/mnist` (`%LOCALAPPDATA%` on
/// Windows), else `./bitsmnist-data/mnist`.
pub fn cache_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.into();
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = env("BITSMNIST_DATA_DIR") {
        return p;
    }
    let base = env("XDG_CACHE_HOME")
        .or_else(|| env("LOCALAPPDATA"))
        .or_else(|| env("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(|| PathBuf::from("bitsmnist-data"));
    base.join("bitsmnist").join("mnist")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(labels: &[u8]) -> Split {
        let n = labels.len();
        Split::new(BitMatrix::zeros(n, 4), labels.to_vec(), None).unwrap()
    }

    #[test]
    fn sample_scans_in_order_first_class_to_fill_gets_ceil() {
        // fraction 0.5 of 10 = 5: ceil(5/2) = 3 per class, total 5.
        let s = tiny(&[1, 1, 2, 1, 0, 1, 0, 0, 0, 1]).sample(0.5, 2);
        assert_eq!(s.labels(), &[1, 1, 1, 0, 0]);
        // Runs out of zeros: truncated.
        let s = tiny(&[1, 1, 1, 1, 0]).sample(1.0, 2);
        assert_eq!(s.labels(), &[1, 1, 1, 0]);
    }

    #[test]
    fn shuffled_sample_is_seeded_and_balanced() {
        let labels: Vec<u8> = (0..200).map(|i| (i % 3) as u8).collect();
        let a = tiny(&labels).sample_shuffled(0.3, 2, 5);
        let b = tiny(&labels).sample_shuffled(0.3, 2, 5);
        assert_eq!(a.labels(), b.labels());
        assert_eq!(a.class_counts(2), vec![30, 30]);
    }

    #[test]
    fn binarization_is_exact_and_strict() {
        // sum = 10 + 20 + 30 = 60, nonzero = 3, mean = 20: only 30 is strictly above.
        let s = Split::binarize(vec![0, 10, 20, 30], 4, vec![0], Binarization::MeanOfNonZero);
        assert_eq!(s.threshold(), 20.0);
        let bits: Vec<bool> = s.images().row_bits(0).iter().map(|b| *b).collect();
        assert_eq!(bits, vec![false, false, false, true]);
        let s = Split::binarize(vec![0, 10, 20, 30], 4, vec![0], Binarization::Threshold(10));
        let bits: Vec<bool> = s.images().row_bits(0).iter().map(|b| *b).collect();
        assert_eq!(bits, vec![false, false, true, true]);
    }

    #[test]
    fn task_parsing() {
        assert_eq!("zero-one".parse::<Task>().unwrap(), Task::zero_one());
        assert_eq!("3, 8".parse::<Task>().unwrap().classes(), &[3, 8]);
        assert!("3,3".parse::<Task>().is_err());
        assert!("7".parse::<Task>().is_err());
        assert!("x".parse::<Task>().is_err());
    }

    #[test]
    fn cache_dir_prefers_explicit_path() {
        assert_eq!(cache_dir(Some(Path::new("/x"))), PathBuf::from("/x"));
    }
}
