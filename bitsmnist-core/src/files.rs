//! Reading and writing the project's files safely: reads that only open regular files (a FIFO
//! or a device would block or never end), atomic writes that follow symlinks to their target,
//! keep temporary names short and clean up after crashed writers, and a check that a target
//! can be written before the work that produces it starts.
//!
//! ```
//! use bitsmnist_core::files;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("model.bin");
//! files::check_writable(&path).unwrap();
//! files::write_atomic(&path, b"bits").unwrap();
//! let mut text = String::new();
//! std::io::Read::read_to_string(&mut files::open_regular(&path).unwrap(), &mut text).unwrap();
//! assert_eq!(text, "bits");
//! ```

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The suffix of every temporary file [`write_atomic`] makes, so that a later save recognises
/// those a crashed one left behind.
pub const TEMP_SUFFIX: &str = ".bitsmnist-tmp";

/// Bytes of the target's name kept in a temporary name: with the dot, process id, counter
/// and suffix the whole stays far below the 255-byte limit of common file systems.
const TEMP_NAME_PREFIX: usize = 96;

/// Temporary files older than this are stale even where no process table can be read.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Symlinks followed before giving up (the kernel's own limit is 40).
const MAX_LINKS: usize = 40;

/// Opens `path` for reading if it is a regular file (after following symlinks). A FIFO, a
/// socket or a device would block or stream forever, so they are refused before they are
/// opened, with [`io::ErrorKind::InvalidInput`]; a folder is refused too.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let file = File::open(path)?;
    // The path may have been replaced between the two calls.
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    Ok(file)
}

fn not_regular(meta: &std::fs::Metadata) -> io::Error {
    let what = if meta.is_dir() {
        "a folder"
    } else {
        "a FIFO, socket or device"
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file ({what})"),
    )
}

/// The file a write to `path` lands in: `path` itself, or, when it is a symlink, the file the
/// chain of links ends at (which need not exist yet).
pub fn resolve_target(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other(format!(
        "more than {MAX_LINKS} symlinks to follow"
    )))
}

/// The folder a file is written in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The file a write to `path` lands in ([`resolve_target`]), refused when it names a folder
/// (ends with a separator, or is one) or is something other than a regular file (a device such
/// as `/dev/null`, a FIFO, a socket): replacing those with a regular file would destroy them.
fn writable_target(path: &Path) -> io::Result<PathBuf> {
    let folder = || io::Error::new(io::ErrorKind::InvalidInput, "is a folder, not a file name");
    if path.as_os_str().is_empty() || path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return Err(folder());
    }
    let target = resolve_target(path)?;
    match std::fs::symlink_metadata(&target) {
        Ok(m) if m.is_dir() => Err(folder()),
        Ok(m) if !m.is_file() => Err(not_regular(&m)),
        _ => Ok(target),
    }
}

/// Checks, without touching `path`, that [`write_atomic`] can write it: `path` names a regular
/// file or none yet (not a folder, a device, a FIFO), its folder exists, and a file can be
/// created there. Call it before long work whose result goes to `path`, so that a bad target
/// fails before the work, not after. Unlike [`write_atomic`], it makes no folder: a user's
/// output going to a folder that is not there is a typing mistake, not a wish.
pub fn check_writable(path: &Path) -> io::Result<()> {
    let target = writable_target(path)?;
    let dir = folder_of(&target);
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the folder {} does not exist", dir.display()),
        ));
    }
    let probe = temp_name(&target);
    File::create_new(&probe)?;
    std::fs::remove_file(&probe)
}

/// Whether `a` and `b` are the same existing file (after symlinks; by device and inode on
/// Unix), so that an output never replaces one of the run's inputs.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(a), Ok(b)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// The suffix of the lock file [`lock_output`] keeps beside a target while a process writes it.
pub const LOCK_SUFFIX: &str = ".bitsmnist-lock";

/// Races [`lock_output`] may lose before it gives up on a lock file that other processes keep
/// replacing (each lost to a writer that finished in between).
const MAX_LOST_RACES: usize = 16;

/// The right to write one output, held from the start of the work that fills it to its end:
/// an advisory lock (`flock`, [`File::try_lock`]) on a lock file beside the target. The kernel
/// releases it when the process ends however it ends, so a killed writer leaves no lock that
/// blocks the next one; the file itself is removed when the lock is dropped.
#[derive(Debug)]
#[must_use = "the output is locked only while the lock lives"]
pub struct OutputLock {
    /// The locked file; `None` where the file system has no locks (the write goes on unlocked).
    file: Option<File>,
    path: PathBuf,
}

impl OutputLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock's folder was renamed to `folder` (the lock itself holds: it is on the open
    /// file); the lock file is then removed from there when the lock is dropped.
    pub(crate) fn moved_into(&mut self, folder: &Path) {
        if let Some(name) = self.path.file_name() {
            self.path = folder.join(name);
        }
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked: a process waiting on the old file then sees it is no
        // longer the one at the path and takes a new one ([`lock_output`]).
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The lock file of `target` (after symlinks): `.<start of its name>.<crc of the whole
/// name>.bitsmnist-lock` beside it, short whatever the name's length, and distinct for long
/// names that share their start.
pub fn lock_path(target: &Path) -> io::Result<PathBuf> {
    let target = resolve_target(target)?;
    let crc = crc32fast::hash(target.file_name().unwrap_or_default().as_encoded_bytes());
    Ok(folder_of(&target).join(format!(".{}.{crc:08x}{LOCK_SUFFIX}", name_prefix(&target))))
}

/// How long [`lock_output`] lets a lock's holder be before it refuses: probes
/// ([`output_locked`]) and short edits (a run relabelled) hold a lock for moments, and a
/// writer that starts in such a moment must not be told another writer is at work.
const MOMENTARY_HOLD: Duration = Duration::from_millis(250);

/// Takes the lock on writing `path` ([`OutputLock`]), or refuses with
/// [`io::ErrorKind::WouldBlock`] and a message naming the process that holds it, so that two
/// runs writing the same file do not both succeed with the last one's result silently kept.
/// Nothing queues: a second writer is a mistake to report, after at most a quarter of a second
/// for a holder of a moment (a probe or a short edit) to let go. A file system without locks
/// gives a lock that holds nothing (the write goes on as before).
pub fn lock_output(path: &Path) -> io::Result<OutputLock> {
    let lock = lock_path(path)?;
    let started = Instant::now();
    let mut lost_races = 0;
    while lost_races < MAX_LOST_RACES {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < MOMENTARY_HOLD => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = io::Read::read_to_string(&mut file, &mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_string()
                } else {
                    format!("another process ({holder})")
                };
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "{who} is writing it (lock {}); wait for it to end or write elsewhere",
                        lock.display()
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
                return Ok(OutputLock {
                    file: None,
                    path: lock,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        // The holder before us may have finished and removed the file after we opened it: a
        // lock on a file no longer at the path guards nothing, so take the new one.
        if !same_open_file(&file, &lock) {
            lost_races += 1;
            continue;
        }
        file.set_len(0)?;
        write!(file, "process {}", std::process::id())?;
        return Ok(OutputLock {
            file: Some(file),
            path: lock,
        });
    }
    Err(io::Error::other(format!(
        "the lock {} kept changing hands; try again",
        lock.display()
    )))
}

/// Whether a process holds the lock on writing `path` ([`lock_output`]) now. The probe takes
/// a shared lock for a moment and writes nothing, so probes never look like writers to one
/// another, and a writer starting meanwhile waits the moment out ([`lock_output`]). A file
/// system without locks has no holder.
pub fn output_locked(path: &Path) -> io::Result<bool> {
    let file = match File::open(lock_path(path)?) {
        Ok(file) => file,
        // No lock file: no writer (a writer keeps it until its lock is dropped).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.try_lock_shared() {
        // Closing the file releases the probe's lock.
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Whether the open `file` is the one at `path` now.
fn same_open_file(file: &File, path: &Path) -> bool {
    let (Ok(a), Ok(b)) = (file.metadata(), std::fs::metadata(path)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        true
    }
}

/// Bytes free for an unprivileged user (`statvfs`'s `f_bavail`) on the file system of the
/// folder a write to `path` lands in (after symlinks); `None` where the system does not say.
pub fn free_space(path: &Path) -> io::Result<Option<u64>> {
    let target = resolve_target(path)?;
    let dir = folder_of(&target);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `c` is a NUL-terminated path and `st` a buffer of the type statvfs fills.
        if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: statvfs returned 0, so it filled the buffer.
        let st = unsafe { st.assume_init() };
        #[allow(clippy::useless_conversion)] // the field types differ between platforms
        let bytes = u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize));
        Ok(Some(bytes))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(None)
    }
}

/// Whether a file of `needed` bytes fits in `free` bytes (`None`: unknown, so it is not
/// refused): the decision [`check_room`] makes, apart so that it is tested without filling a
/// disk. The whole new file must fit beside the old one, which an atomic save keeps until
/// the new one is complete.
pub fn room_for(free: Option<u64>, needed: u64) -> Result<(), String> {
    match free {
        Some(free) if free < needed => Err(format!(
            "needs about {} but the file system has {} free",
            human_bytes(needed),
            human_bytes(free)
        )),
        _ => Ok(()),
    }
}

/// Refuses, before the work, to write a file of about `needed` bytes to `path` when its file
/// system has less free ([`free_space`], [`room_for`]), with [`io::ErrorKind::StorageFull`].
/// A write that fails anyway (the disk filled meanwhile) still leaves the old file as it was
/// ([`write_atomic`]).
pub fn check_room(path: &Path, needed: u64) -> io::Result<()> {
    room_for(free_space(path)?, needed).map_err(|e| io::Error::new(io::ErrorKind::StorageFull, e))
}

/// `1.5 GB`, `12.0 MB`, `900 bytes`.
fn human_bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")];
    for (size, unit) in UNITS {
        if n >= size {
            return format!("{:.1} {unit}", n as f64 / size as f64);
        }
    }
    format!("{n} bytes")
}

/// A temporary name beside `target`: `.<start of its name>.<pid>.<n>.bitsmnist-tmp`.
fn temp_name(target: &Path) -> PathBuf {
    // The process id and a counter keep concurrent writers in one folder apart.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    folder_of(target).join(format!(
        ".{}.{}.{n}{TEMP_SUFFIX}",
        name_prefix(target),
        std::process::id()
    ))
}

fn name_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let mut end = name.len().min(TEMP_NAME_PREFIX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// Writes `bytes` to `path` atomically: into a temporary file in the same folder, flushed to
/// disk, then renamed over `path`. A crash leaves either the old file or the new one, never a
/// half-written one. Creates the parent folder if needed. A symlink at `path` stays a symlink:
/// the file it points to is replaced. Temporary files that crashed writes to the same target
/// left behind (their process is gone) are removed. Only a regular file is ever replaced: a
/// folder, device, FIFO or socket at `path` is refused ([`check_writable`]'s first checks).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let target = writable_target(path)?;
    let dir = folder_of(&target);
    std::fs::create_dir_all(dir)?;
    remove_stale_temporaries(&target);
    let tmp = temp_name(&target);
    let result = (|| {
        let mut f = File::create_new(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes several files as one: every file goes to a temporary beside its target first, and
/// only when all are written and flushed are they renamed over their targets. A failure (a
/// full disk, a refused target) leaves every target as it was, so that a set of files that
/// belong together (a C header and its source) is never half replaced.
pub fn write_atomic_all(files: &[(PathBuf, Vec<u8>)]) -> io::Result<()> {
    let mut ready: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    let written = (|| {
        for (path, bytes) in files {
            let target = writable_target(path)?;
            std::fs::create_dir_all(folder_of(&target))?;
            remove_stale_temporaries(&target);
            let tmp = temp_name(&target);
            // Listed before it is made, so that a failure below removes it too.
            ready.push((tmp.clone(), target));
            let mut f = File::create_new(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        for (tmp, _) in &ready {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    for (i, (tmp, target)) in ready.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, target) {
            for (tmp, _) in &ready[i..] {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(e);
        }
    }
    Ok(())
}

/// Removes the temporary files of earlier writes to `target` whose writer is no longer
/// running (where `/proc` says) or which are a day old (elsewhere). Best effort: a file that
/// cannot be removed is left.
fn remove_stale_temporaries(target: &Path) {
    let Ok(entries) = std::fs::read_dir(folder_of(target)) else {
        return;
    };
    let prefix = format!(".{}.", name_prefix(target));
    let proc_readable = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|r| r.strip_suffix(TEMP_SUFFIX))
        else {
            continue;
        };
        // `rest` is `<pid>.<n>`; anything else is not one of ours.
        let Some(pid) = rest
            .split_once('.')
            .and_then(|(pid, n)| n.parse::<u64>().ok().and(pid.parse::<u32>().ok()))
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let stale = if proc_readable {
            !Path::new(&format!("/proc/{pid}")).exists()
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE_AFTER)
        };
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_refused_only_when_the_file_system_says_it_is_short() {
        assert_eq!(room_for(Some(100), 100), Ok(()));
        assert_eq!(room_for(None, u64::MAX), Ok(()));
        let e = room_for(Some(3 << 20), 5 << 30).unwrap_err();
        assert_eq!(e, "needs about 5.0 GB but the file system has 3.0 MB free");
        assert_eq!(
            room_for(Some(900), 901).unwrap_err(),
            "needs about 901 bytes but the file system has 900 bytes free"
        );
        let dir = tempfile::tempdir().unwrap();
        let free = free_space(&dir.path().join("a.bin")).unwrap();
        assert!(free.is_some_and(|f| f > 0), "{free:?}");
        check_room(&dir.path().join("a.bin"), 1).unwrap();
        let e = check_room(&dir.path().join("a.bin"), u64::MAX).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
    }

    #[test]
    fn a_second_lock_on_one_output_is_refused_naming_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.bin");
        let lock = lock_output(&out).unwrap();
        assert!(lock.path().exists());
        // Within one process too: flock locks belong to the open file, not the process.
        let e = lock_output(&out).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        let text = e.to_string();
        assert!(
            text.contains(&format!("process {}", std::process::id())),
            "{text}"
        );
        // Another output is free.
        let other = lock_output(&dir.path().join("b.bin")).unwrap();
        drop(lock);
        assert!(!lock_path(&out).unwrap().exists());
        let again = lock_output(&out).unwrap();
        drop((again, other));
        assert_eq!(names(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_probe_sees_a_writer_and_never_passes_for_one() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.bin");
        assert!(!output_locked(&out).unwrap(), "no lock file, no writer");
        let lock = lock_output(&out).unwrap();
        assert!(output_locked(&out).unwrap());
        drop(lock);
        assert!(!output_locked(&out).unwrap());
        assert_eq!(
            names(dir.path()),
            Vec::<String>::new(),
            "a probe leaves nothing"
        );

        // A writer that starts while a probe holds its moment's lock waits the moment out,
        // and a second probe meanwhile sees no writer.
        let held = File::create(lock_path(&out).unwrap()).unwrap();
        held.try_lock_shared().unwrap();
        assert!(!output_locked(&out).unwrap());
        let letting_go = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            drop(held);
        });
        let lock = lock_output(&out).unwrap();
        letting_go.join().unwrap();
        assert!(output_locked(&out).unwrap());
        drop(lock);
    }

    #[test]
    fn a_symlink_and_its_target_share_one_lock_and_long_names_get_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.bin");
        #[cfg(unix)]
        {
            let link = dir.path().join("link.bin");
            std::os::unix::fs::symlink(&out, &link).unwrap();
            let _lock = lock_output(&out).unwrap();
            assert!(lock_output(&link).is_err());
        }
        let long = |c: char| dir.path().join(format!("{}{c}", "x".repeat(200)));
        assert_ne!(
            lock_path(&long('a')).unwrap(),
            lock_path(&long('b')).unwrap()
        );
        let name = lock_path(&long('a')).unwrap();
        assert!(name.file_name().unwrap().len() < 140);
        let _a = lock_output(&long('a')).unwrap();
        let _b = lock_output(&long('b')).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("a.bin");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(names(p.parent().unwrap()), ["a.bin"]);
    }

    #[test]
    fn a_name_of_255_bytes_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(format!("{}.bin", "m".repeat(251)));
        check_writable(&p).unwrap();
        write_atomic(&p, b"x").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"x");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_keeps_pointing_at_the_replaced_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("models").join("real.bin");
        std::fs::create_dir(real.parent().unwrap()).unwrap();
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("latest.bin");
        std::os::unix::fs::symlink("models/real.bin", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(names(real.parent().unwrap()), ["real.bin"]);
    }

    #[test]
    fn temporaries_of_dead_writers_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.bin");
        // A pid above Linux's largest (2^22) is never running.
        let dead = dir.path().join(format!(".m.bin.4999999.0{TEMP_SUFFIX}"));
        let alive = dir
            .path()
            .join(format!(".m.bin.{}.77{TEMP_SUFFIX}", std::process::id()));
        let foreign = dir.path().join(".m.bin.notes");
        for f in [&dead, &alive, &foreign] {
            std::fs::write(f, b"partial").unwrap();
        }
        write_atomic(&p, b"x").unwrap();
        let left = names(dir.path());
        assert!(left.contains(&".m.bin.notes".to_string()));
        assert!(left.iter().any(|n| n.ends_with(".77.bitsmnist-tmp")));
        if Path::new("/proc/self").exists() {
            assert!(!dead.exists(), "{left:?}");
        }
    }

    #[test]
    fn folders_are_neither_read_nor_written_as_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            open_regular(dir.path()).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(check_writable(dir.path()).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_replaced_and_no_folder_is_invented() {
        let dir = tempfile::tempdir().unwrap();
        // A device (through a symlink too) is never replaced by a regular file.
        let null = Path::new("/dev/null");
        if null.exists() {
            let link = dir.path().join("null.bin");
            std::os::unix::fs::symlink(null, &link).unwrap();
            for p in [null, link.as_path()] {
                let e = write_atomic(p, b"x").unwrap_err();
                assert!(e.to_string().contains("not a regular file"), "{e}");
                assert!(check_writable(p).is_err());
            }
            assert!(!std::fs::metadata(null).unwrap().is_file());
        }
        // A trailing slash names a folder, existing or not.
        for p in ["newdir/", "m.bin/"] {
            let p = dir.path().join(p);
            let p = Path::new(p.to_str().unwrap());
            assert_eq!(
                check_writable(p).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
            assert!(write_atomic(p, b"x").is_err());
        }
        // A missing folder is refused by the check, and nothing is made.
        let missing = dir.path().join("nowhere").join("m.bin");
        let e = check_writable(&missing).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(!dir.path().join("nowhere").exists());
    }

    #[test]
    fn a_set_of_files_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (h, c) = (dir.path().join("m.h"), dir.path().join("m.c"));
        std::fs::write(&h, b"old header").unwrap();
        write_atomic_all(&[
            (h.clone(), b"new header".to_vec()),
            (c.clone(), b"source".to_vec()),
        ])
        .unwrap();
        assert_eq!(std::fs::read(&h).unwrap(), b"new header");
        assert_eq!(std::fs::read(&c).unwrap(), b"source");
        // The second target is a folder: the first is left as it was, no temporary stays.
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(
            write_atomic_all(&[(h.clone(), b"newer".to_vec()), (sub.clone(), b"x".to_vec())])
                .is_err()
        );
        assert_eq!(std::fs::read(&h).unwrap(), b"new header");
        assert_eq!(names(dir.path()), ["m.c", "m.h", "sub"]);
    }

    #[test]
    fn the_same_file_is_recognised_through_other_names() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.bin");
        std::fs::write(&a, b"a").unwrap();
        let b = dir.path().join("b.bin");
        std::fs::write(&b, b"b").unwrap();
        assert!(same_file(&a, &dir.path().join(".").join("a.bin")));
        assert!(!same_file(&a, &b));
        assert!(!same_file(&a, &dir.path().join("none.bin")));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.bin");
            std::os::unix::fs::symlink(&a, &link).unwrap();
            assert!(same_file(&a, &link));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let ok = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            let e = open_regular(&fifo).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            assert!(e.to_string().contains("FIFO"), "{e}");
        }
    }
}
