//! The IDX file format of MNIST (plain or gzip): reader and writer.
//!
//! An IDX file is a 4-byte magic `00 00 <type> <dims>`, then `dims` big-endian `u32` sizes,
//! then the data. Only unsigned bytes (type `0x08`) are used by MNIST-like sets and supported
//! here. Sizes from a header are checked against [`MAX_ELEMENTS`] and against what the file
//! really holds before anything is allocated from them.

use std::io::{self, Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;

/// The largest number of elements an IDX file may declare (512 MiB of bytes; full MNIST
/// training images are 47 MB).
pub const MAX_ELEMENTS: usize = 512 << 20;

/// The largest number of dimensions accepted.
pub const MAX_DIMS: usize = 8;

/// Why an IDX file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdxError {
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The first two bytes are not zero, or the dimension count is zero or too large.
    #[error("not an IDX file (magic bytes {0:02x?})")]
    BadMagic([u8; 4]),
    /// The element type is not unsigned byte.
    #[error("unsupported IDX element type 0x{0:02x} (only unsigned bytes, 0x08)")]
    UnsupportedType(u8),
    /// The header declares more data than [`MAX_ELEMENTS`].
    #[error("IDX header declares {declared} elements, more than the limit of {limit}")]
    TooLarge {
        /// Elements the header declares (saturated).
        declared: u128,
        /// The limit.
        limit: usize,
    },
    /// The file ends before the declared data.
    #[error("IDX file truncated: header declares {expected} bytes of data, found {found}")]
    Truncated {
        /// Bytes the header declares.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// Data continues past the declared size.
    #[error("IDX file has {extra} bytes past the declared data")]
    TrailingData {
        /// How many bytes (at least) follow.
        extra: usize,
    },
    /// The gzip stream is corrupt.
    #[error("corrupt gzip stream: {0}")]
    Gzip(io::Error),
    /// [`Idx::open_until`] was asked to stop, and did before the end of the file.
    #[error("stopped before the end of the file")]
    Stopped,
}

/// A decoded IDX array of bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    /// Sizes of each dimension, outermost first (`[n, 28, 28]` for images, `[n]` for labels).
    pub dims: Vec<usize>,
    /// Elements in row-major order.
    pub data: Vec<u8>,
}

impl Idx {
    /// Parses an IDX file from bytes, gunzipping first if they start with the gzip magic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdxError> {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            Self::read(GzDecoder::new(bytes), true)
        } else {
            Self::read(bytes, false)
        }
    }

    /// Reads an IDX file (plain or gzip) from `path`.
    pub fn open(path: &Path) -> Result<Self, IdxError> {
        Self::open_until(path, &|| false)
    }

    /// [`open`](Self::open), asking `stop` before every [`READ_CHUNK`] bytes read or decoded
    /// (a few milliseconds of work); when it says so, [`IdxError::Stopped`].
    pub fn open_until(path: &Path, stop: &(dyn Fn() -> bool + Sync)) -> Result<Self, IdxError> {
        let (r, gz) = open_stream(path)?;
        Self::read(Stoppable::new(r, stop), gz)
    }

    /// The sizes an IDX file (plain or gzip) at `path` declares, from its header alone,
    /// checked as [`open`](Self::open) checks them ([`MAX_DIMS`], [`MAX_ELEMENTS`]): what
    /// decoding it would hold, known before any of it is decoded.
    ///
    /// ```
    /// use bitsmnist_core::datasets::idx::Idx;
    /// let path = std::env::temp_dir().join(format!("header-{}.gz", std::process::id()));
    /// Idx { dims: vec![3, 2, 2], data: vec![0; 12] }.save(&path).unwrap();
    /// assert_eq!(Idx::header(&path).unwrap(), [3, 2, 2]);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn header(path: &Path) -> Result<Vec<usize>, IdxError> {
        let (mut r, gz) = open_stream(path)?;
        Ok(read_header(&mut r, gz)?.0)
    }

    fn read<R: Read>(mut r: R, gz: bool) -> Result<Self, IdxError> {
        let wrap = wrapper(gz);
        let (dims, expected) = read_header(&mut r, gz)?;
        // Grow with the data actually read rather than trusting the header for the allocation.
        let mut data = Vec::new();
        let read = (&mut r)
            .take(expected as u64)
            .read_to_end(&mut data)
            .map_err(wrap)?;
        if read < expected {
            return Err(IdxError::Truncated {
                expected,
                found: read,
            });
        }
        let mut extra = [0u8; 1];
        if read_up_to(&mut r, &mut extra).map_err(wrap)? > 0 {
            return Err(IdxError::TrailingData { extra: 1 });
        }
        Ok(Self { dims, data })
    }

    /// Encodes as IDX bytes, gzip-compressed when `gzip` is true.
    ///
    /// # Panics
    /// When `dims` does not multiply to `data.len()` or has more than [`MAX_DIMS`] entries or a
    /// size that does not fit in `u32`.
    pub fn to_bytes(&self, gzip: bool) -> Vec<u8> {
        assert!(!self.dims.is_empty() && self.dims.len() <= MAX_DIMS);
        assert_eq!(self.dims.iter().product::<usize>(), self.data.len());
        let mut raw = vec![0, 0, 0x08, self.dims.len() as u8];
        for &d in &self.dims {
            raw.extend_from_slice(&u32::try_from(d).expect("IDX size fits u32").to_be_bytes());
        }
        raw.extend_from_slice(&self.data);
        if gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&raw).expect("writing to memory");
            enc.finish().expect("writing to memory")
        } else {
            raw
        }
    }

    /// Writes the file atomically (temporary file, then rename), gzip-compressed if the path
    /// ends in `.gz`.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let gz = path.extension().is_some_and(|e| e == "gz");
        crate::files::write_atomic(path, &self.to_bytes(gz))
    }
}

/// Bytes read (after decompression) between two stop points of [`Idx::open_until`]: 1 MiB,
/// a few milliseconds of gzip decoding.
pub const READ_CHUNK: usize = 1 << 20;

/// The error a [`Stoppable`] reader ends with when asked to stop.
#[derive(Debug)]
struct StopAsked;

impl std::fmt::Display for StopAsked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped")
    }
}

impl std::error::Error for StopAsked {}

/// A reader that hands out at most [`READ_CHUNK`] bytes per call and asks `stop` before each
/// call: the stop points of a file read however large the reads its caller asks for.
struct Stoppable<'a, R> {
    inner: R,
    stop: &'a (dyn Fn() -> bool + Sync),
}

impl<'a, R> Stoppable<'a, R> {
    fn new(inner: R, stop: &'a (dyn Fn() -> bool + Sync)) -> Self {
        Self { inner, stop }
    }
}

impl<R: Read> Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if (self.stop)() {
            // Not `Interrupted`: readers retry that one.
            return Err(io::Error::other(StopAsked));
        }
        let n = buf.len().min(READ_CHUNK);
        self.inner.read(&mut buf[..n])
    }
}

/// A stream over the file at `path`, gunzipped when it starts with the gzip magic, and
/// whether it was.
fn open_stream(path: &Path) -> Result<(Box<dyn Read>, bool), IdxError> {
    // A FIFO or a device would block the read forever.
    let mut f = crate::files::open_regular(path)?;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut f, &mut magic)?;
    let head = io::Cursor::new(magic[..n].to_vec()).chain(io::BufReader::new(f));
    Ok(if n == 2 && magic == [0x1f, 0x8b] {
        (Box::new(GzDecoder::new(head)), true)
    } else {
        (Box::new(head), false)
    })
}

/// The error of a failed read: a gzip stream's own failures say the stream is corrupt.
fn wrapper(gz: bool) -> impl Fn(io::Error) -> IdxError + Copy {
    move |e: io::Error| {
        if e.get_ref().is_some_and(|inner| inner.is::<StopAsked>()) {
            IdxError::Stopped
        } else if gz && e.kind() != io::ErrorKind::UnexpectedEof {
            IdxError::Gzip(e)
        } else {
            IdxError::Io(e)
        }
    }
}

/// The magic and sizes at the start of `r`, checked: the dimensions and the bytes of data
/// they declare (at most [`MAX_ELEMENTS`]).
fn read_header<R: Read>(r: &mut R, gz: bool) -> Result<(Vec<usize>, usize), IdxError> {
    let wrap = wrapper(gz);
    let mut magic = [0u8; 4];
    let got = read_up_to(r, &mut magic).map_err(wrap)?;
    if got < 4 {
        return Err(IdxError::Truncated {
            expected: 4,
            found: got,
        });
    }
    let ndims = magic[3] as usize;
    if magic[0] != 0 || magic[1] != 0 || ndims == 0 || ndims > MAX_DIMS {
        return Err(IdxError::BadMagic(magic));
    }
    if magic[2] != 0x08 {
        return Err(IdxError::UnsupportedType(magic[2]));
    }
    let mut header = vec![0u8; 4 * ndims];
    let got = read_up_to(r, &mut header).map_err(wrap)?;
    if got < header.len() {
        return Err(IdxError::Truncated {
            expected: header.len(),
            found: got,
        });
    }
    let dims: Vec<usize> = header
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    // Saturating: eight dimensions of 2^32 overflow even a u128 (found by fuzzing). The
    // sizes other than zero must be sane too: `[0, 2^32, 2^32]` holds no data, but a
    // reader multiplying its image sizes would overflow (found by fuzzing).
    let product = |zeros: bool| {
        dims.iter()
            .filter(|&&d| zeros || d != 0)
            .fold(1u128, |acc, &d| acc.saturating_mul(d as u128))
    };
    let (declared, nonzero) = (product(true), product(false));
    if nonzero > MAX_ELEMENTS as u128 {
        return Err(IdxError::TooLarge {
            declared: nonzero,
            limit: MAX_ELEMENTS,
        });
    }
    Ok((dims, declared as usize))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Idx {
        Idx {
            dims: vec![2, 3, 2],
            data: (0..12).collect(),
        }
    }

    #[test]
    fn round_trips_plain_and_gzip() {
        for gz in [false, true] {
            assert_eq!(Idx::from_bytes(&sample().to_bytes(gz)).unwrap(), sample());
        }
    }

    #[test]
    fn saves_and_opens_atomically() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a-idx3-ubyte", "a-idx3-ubyte.gz"] {
            let p = dir.path().join(name);
            sample().save(&p).unwrap();
            assert_eq!(Idx::open(&p).unwrap(), sample());
        }
    }

    #[test]
    fn rejects_bad_magic_and_type() {
        assert!(matches!(
            Idx::from_bytes(&[1, 0, 8, 1, 0, 0, 0, 0]),
            Err(IdxError::BadMagic(_))
        ));
        assert!(matches!(
            Idx::from_bytes(&[0, 0, 8, 0]),
            Err(IdxError::BadMagic(_))
        ));
        assert!(matches!(
            Idx::from_bytes(&[0, 0, 0x0d, 1, 0, 0, 0, 0]),
            Err(IdxError::UnsupportedType(0x0d))
        ));
    }

    #[test]
    fn rejects_truncation_at_every_length() {
        for gz in [false, true] {
            let bytes = sample().to_bytes(false);
            for cut in 0..bytes.len() {
                let part = if gz {
                    // A truncated gzip stream of a complete file and a complete gzip of a
                    // truncated file must both fail.
                    let mut enc = flate2::write::GzEncoder::new(Vec::new(), Default::default());
                    enc.write_all(&bytes[..cut]).unwrap();
                    enc.finish().unwrap()
                } else {
                    bytes[..cut].to_vec()
                };
                assert!(Idx::from_bytes(&part).is_err(), "cut at {cut} gz={gz}");
            }
            let gzb = sample().to_bytes(true);
            for cut in 2..gzb.len() - 1 {
                assert!(Idx::from_bytes(&gzb[..cut]).is_err(), "gzip cut at {cut}");
            }
        }
    }

    #[test]
    fn huge_header_fails_without_allocating() {
        // 4 dims of u32::MAX: about 3e38 elements.
        let mut b = vec![0, 0, 8, 4];
        for _ in 0..4 {
            b.extend_from_slice(&u32::MAX.to_be_bytes());
        }
        assert!(matches!(
            Idx::from_bytes(&b),
            Err(IdxError::TooLarge { .. })
        ));
        // Within the limit but far more than present: reported as truncation.
        let mut b = vec![0, 0, 8, 1];
        b.extend_from_slice(&(400u32 << 20).to_be_bytes());
        b.extend_from_slice(&[1, 2, 3]);
        assert!(matches!(
            Idx::from_bytes(&b),
            Err(IdxError::Truncated { found: 3, .. })
        ));
    }

    #[test]
    fn rejects_trailing_data_and_corrupt_gzip() {
        let mut b = sample().to_bytes(false);
        b.push(9);
        assert!(matches!(
            Idx::from_bytes(&b),
            Err(IdxError::TrailingData { .. })
        ));
        let mut g = sample().to_bytes(true);
        let mid = g.len() / 2;
        g[mid] ^= 0xff;
        g[mid + 1] ^= 0xff;
        assert!(Idx::from_bytes(&g).is_err());
    }
}
