//! Downloading full MNIST once into the cache (feature `download`).
//!
//! Each file is tried on every mirror in order; a file is accepted only when its md5 matches
//! the published sum, and is written atomically, so an interrupted download never leaves a
//! half file in the cache. Files already in the cache are not fetched again.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use md5::{Digest, Md5};

use super::{DataError, FILE_STEMS};

/// Largest file accepted from a mirror (the biggest MNIST file is 9.9 MB).
const MAX_DOWNLOAD: u64 = 64 << 20;

/// Progress of a download, reported to the caller's callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// File being fetched.
    pub file: String,
    /// Bytes received so far.
    pub done: u64,
    /// Size announced by the server, if any.
    pub total: Option<u64>,
}

/// Where to download from and what to expect.
#[derive(Clone, Debug)]
pub struct Mirrors {
    /// Base addresses, tried in order (each ends with `/`).
    pub bases: Vec<String>,
    /// File names with their md5 sums (lower-case hex).
    pub files: Vec<(String, String)>,
    /// Time limit for one request, connection included.
    pub timeout: Duration,
}

impl Default for Mirrors {
    /// The public MNIST mirrors and the published md5 sums of the four `.gz` files.
    fn default() -> Self {
        let sums = [
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3",
            "ec29112dd5afa0611ce80d1b7f02629c",
        ];
        Self {
            bases: vec![
                "https://ossci-datasets.s3.amazonaws.com/mnist/".into(),
                "https://storage.googleapis.com/cvdf-datasets/mnist/".into(),
                "http://yann.lecun.com/exdb/mnist/".into(),
            ],
            files: FILE_STEMS
                .iter()
                .zip(sums)
                .map(|(s, m)| (format!("{s}.gz"), m.to_string()))
                .collect(),
            timeout: Duration::from_secs(60),
        }
    }
}

impl Mirrors {
    /// Makes sure every file is in `dir`, downloading the missing ones. Files already present
    /// are trusted (they were checked when written, or put there by hand).
    pub fn fetch(&self, dir: &Path, progress: &mut dyn FnMut(Progress)) -> Result<(), DataError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .build()
            .into();
        for (name, md5) in &self.files {
            let target = dir.join(name);
            let plain = dir.join(name.trim_end_matches(".gz"));
            if target.is_file() || plain.is_file() {
                continue;
            }
            let mut attempts = Vec::new();
            let mut ok = None;
            for base in &self.bases {
                let url = format!("{base}{name}");
                match get(&agent, &url, name, progress) {
                    Ok(bytes) => {
                        let got = format!("{:x}", Md5::digest(&bytes));
                        if got == *md5 {
                            ok = Some(bytes);
                            break;
                        }
                        attempts.push(format!("{url}: md5 {got}, expected {md5}"));
                    }
                    Err(e) => attempts.push(format!("{url}: {e}")),
                }
            }
            let Some(bytes) = ok else {
                return Err(DataError::Download {
                    file: name.clone(),
                    attempts,
                    cache_dir: dir.into(),
                });
            };
            crate::files::write_atomic(&target, &bytes).map_err(|error| DataError::Write {
                path: target.clone(),
                error,
            })?;
        }
        Ok(())
    }
}

fn get(
    agent: &ureq::Agent,
    url: &str,
    name: &str,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<u8>, String> {
    let mut resp = agent.get(url).call().map_err(|e| e.to_string())?;
    let total = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if total.is_some_and(|t| t > MAX_DOWNLOAD) {
        return Err(format!("file too large ({} bytes)", total.unwrap_or(0)));
    }
    let mut reader = resp.body_mut().with_config().limit(MAX_DOWNLOAD).reader();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        progress(Progress {
            file: name.into(),
            done: out.len() as u64,
            total,
        });
    }
    Ok(out)
}
