//! Downloading against local HTTP servers on 127.0.0.1: served files, a corrupt file, a dead
//! mirror then a live one, and no mirror at all.
#![cfg(feature = "download")]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bitsmnist_core::datasets::download::Mirrors;
use bitsmnist_core::datasets::{Binarization, DataError, Dataset, FILE_STEMS};
use md5::{Digest, Md5};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");

/// What a test server answers for a file.
#[derive(Clone, Copy)]
enum Serve {
    Real,
    Corrupt,
}

/// Starts a server on 127.0.0.1 that serves the embedded files; returns its base URL and a
/// request counter. It stops when the test process ends.
fn server(serve: Serve) -> (String, Arc<AtomicUsize>) {
    let s = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}/mnist/", s.server_addr().to_ip().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for req in s.incoming_requests() {
            h.fetch_add(1, Ordering::SeqCst);
            let name = req.url().rsplit('/').next().unwrap_or("").to_string();
            match std::fs::read(Path::new(DATA).join(&name)) {
                Ok(mut bytes) => {
                    if let Serve::Corrupt = serve {
                        let mid = bytes.len() / 2;
                        bytes[mid] ^= 0x55;
                    }
                    let _ = req.respond(tiny_http::Response::from_data(bytes));
                }
                Err(_) => {
                    let _ = req.respond(tiny_http::Response::empty(404));
                }
            }
        }
    });
    (base, hits)
}

/// A base URL where nothing listens.
fn dead_mirror() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/mnist/")
}

fn mirrors(bases: Vec<String>) -> Mirrors {
    let files = FILE_STEMS
        .iter()
        .map(|s| {
            let name = format!("{s}.gz");
            let bytes = std::fs::read(Path::new(DATA).join(&name)).unwrap();
            let md5 = format!("{:x}", Md5::digest(&bytes));
            (name, md5)
        })
        .collect();
    Mirrors {
        bases,
        files,
        timeout: Duration::from_secs(20),
    }
}

#[test]
fn downloads_once_verifies_and_reads_the_cache_afterwards() {
    let (base, hits) = server(Serve::Real);
    let cache = tempfile::tempdir().unwrap();
    let mut progress = 0;
    mirrors(vec![base.clone()])
        .fetch(cache.path(), &mut |_| progress += 1)
        .unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    assert!(progress >= 4);
    let d = Dataset::from_dir(cache.path(), Binarization::default()).unwrap();
    assert_eq!(d.train.len(), 10_000);
    // Second call: everything is cached, no request.
    mirrors(vec![base])
        .fetch(cache.path(), &mut |_| {})
        .unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(names.len(), 4);
}

#[test]
fn dead_then_corrupt_then_live_mirror() {
    let (corrupt, _) = server(Serve::Corrupt);
    let (live, live_hits) = server(Serve::Real);
    let cache = tempfile::tempdir().unwrap();
    mirrors(vec![dead_mirror(), corrupt, live])
        .fetch(cache.path(), &mut |_| {})
        .unwrap();
    assert_eq!(live_hits.load(Ordering::SeqCst), 4);
    assert!(Dataset::from_dir(cache.path(), Binarization::default()).is_ok());
}

#[test]
fn offline_error_says_where_to_put_the_files() {
    let (corrupt, _) = server(Serve::Corrupt);
    let cache = tempfile::tempdir().unwrap();
    let err = mirrors(vec![dead_mirror(), corrupt])
        .fetch(cache.path(), &mut |_| {})
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::Download { .. }));
    assert!(msg.contains("md5"), "{msg}");
    assert!(msg.contains(&cache.path().display().to_string()), "{msg}");
    assert!(msg.contains("embedded"), "{msg}");
    // Nothing half-written in the cache.
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}
