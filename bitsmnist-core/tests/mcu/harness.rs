//! Exported C on an emulated Cortex-M4: writes the test digits as C, cross-compiles them
//! with the driver of this folder (`main.c`, `startup.c`, `mps2-an386.ld`) and an exported
//! `model.h`/`model.c`, runs the program under QEMU's `mps2-an386` board and checks what it
//! prints against the library's model.
//!
//! One file, included with `#[path]` by the integration test (`tests/mcu.rs`) and by the
//! example behind `scripts/mcu-figures.sh` (`examples/mcu.rs`), so that the test and the
//! published figures come from the same build flags, digits and parsing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bitsmnist_core::bits::BitMatrix;
use bitsmnist_core::datasets::Split;
use bitsmnist_core::export::{self, GreyRule};
use bitsmnist_core::layers::Chain;

/// What goes wrong, said in a sentence (with the tool's output where there is one).
pub type Result<T> = std::result::Result<T, String>;

/// The tools the harness runs (Debian packages gcc-arm-none-eabi, libnewlib-arm-none-eabi
/// and qemu-system-arm).
pub const TOOLS: [&str; 3] = ["arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm"];

/// The images the driver classifies: the first 1,000 of the test split, the same number
/// whichever the task (the zero-one task's split has 2,115).
pub const DIGITS: usize = 1000;

/// The images also classified from grey levels (`NAME_predict_grey`, binarisation
/// included, scores checked against the class): a tenth, which keeps the grey bytes (784 a
/// digit) from outweighing everything else in flash.
pub const GREY_DIGITS: usize = 100;

/// Longest a program may run under QEMU before it is killed as hung.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The compiler flags: the Cortex-M4 with software floating point (the hard-float newlib
/// faults at its first FPU instruction unless the reset handler enables the FPU), C99 with
/// every warning an error, as the host test builds the export, `-ffp-contract=off` (the
/// exported scores are the library's only without fused multiply-adds), and newlib's
/// semihosting runtime (printf and exit reach QEMU's stdout and exit status).
pub const CFLAGS: [&str; 10] = [
    "-mcpu=cortex-m4",
    "-mthumb",
    "-mfloat-abi=soft",
    "-O2",
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffp-contract=off",
    "--specs=rdimon.specs",
];

/// The first of [`TOOLS`] that is not on `PATH`, or newlib when the compiler has none (it
/// is a package of its own).
pub fn missing_tool() -> Option<&'static str> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing = TOOLS
        .into_iter()
        .find(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    if missing.is_some() {
        return missing;
    }
    // gcc answers a bare name for a file it cannot find.
    let specs = Command::new("arm-none-eabi-gcc")
        .arg("-print-file-name=rdimon.specs")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match specs {
        Ok(p) if Path::new(&p).is_file() => None,
        _ => Some("newlib's rdimon.specs"),
    }
}

/// This folder: the driver, the startup code and the linker script.
pub fn driver_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcu")
}

/// The model as its layer widths: `784-64-2`.
pub fn layers(model: &Chain) -> String {
    let mut s = model.inputs().to_string();
    for l in model.layers() {
        let _ = write!(s, "-{}", l.outputs());
    }
    s
}

/// Writes `digits.h` and `digits.c` into `dir`: the first `count` images of `test` as the
/// exported `predict_bits` reads them (32-bit words, [`export::words32`]), the grey levels of
/// the first `grey` of them, and their labels, all `const` (in flash).
pub fn write_digits(dir: &Path, test: &Split, count: usize, grey: usize) -> Result<()> {
    let count = count.min(test.len());
    let grey = grey.min(count);
    // C99 has no empty arrays.
    if grey == 0 {
        return Err("the driver needs at least one image with grey levels".into());
    }
    let images = test.images();
    let (pixels, row_words) = (images.cols(), images.words_per_row());
    let words = pixels.div_ceil(32);
    let h = format!(
        "/* The first {count} test images for main.c, written by harness.rs. */\n\
         #ifndef DIGITS_H\n#define DIGITS_H\n\n#include <stdint.h>\n\n\
         #define DIGITS_COUNT {count}\n#define DIGITS_GREY {grey}\n\
         #define DIGITS_WORDS {words}\n#define DIGITS_PIXELS {pixels}\n\n\
         /* Packed bits, as NAME_predict_bits reads them. */\n\
         extern const uint32_t digits_bits[DIGITS_COUNT][DIGITS_WORDS];\n\
         /* Grey levels (0-255) of the first DIGITS_GREY, as NAME_predict_grey reads them. */\n\
         extern const uint8_t digits_grey[DIGITS_GREY][DIGITS_PIXELS];\n\
         /* Class indices of the task. */\n\
         extern const uint8_t digits_labels[DIGITS_COUNT];\n\n#endif\n"
    );
    let mut c = String::from(
        "#include \"digits.h\"\n\nconst uint32_t digits_bits[DIGITS_COUNT][DIGITS_WORDS] = {\n",
    );
    for row in images.as_words().chunks(row_words).take(count) {
        c.push_str("    {");
        for w in export::words32(row, pixels) {
            let _ = write!(c, "0x{w:08x}u,");
        }
        c.push_str("},\n");
    }
    c.push_str("};\n\nconst uint8_t digits_grey[DIGITS_GREY][DIGITS_PIXELS] = {\n");
    for i in 0..grey {
        let g = test
            .grey(i)
            .ok_or("the test split has no grey levels to write")?;
        c.push_str("    {");
        for p in g {
            let _ = write!(c, "{p},");
        }
        c.push_str("},\n");
    }
    c.push_str("};\n\nconst uint8_t digits_labels[DIGITS_COUNT] = {");
    for (k, l) in test.labels()[..count].iter().enumerate() {
        if k % 32 == 0 {
            c.push_str("\n    ");
        }
        let _ = write!(c, "{l},");
    }
    c.push_str("\n};\n");
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    write("digits.h", &h)?;
    write("digits.c", &c)
}

/// What the library's model says about the images [`write_digits`] wrote.
pub struct Expected {
    /// The class of each of the first `count` images, from their bits.
    pub bits: Vec<usize>,
    /// The class of each of the first `grey`, binarised by the exported `rule`.
    pub grey: Vec<usize>,
    /// How many of `bits` are right.
    pub correct: usize,
}

/// The library's predictions for the images [`write_digits`] writes, the grey ones binarised
/// by `rule` (which may differ from the split's own bits: the test split is binarised with
/// its own mean, the export with the training split's).
pub fn expected(
    model: &Chain,
    test: &Split,
    count: usize,
    grey: usize,
    rule: GreyRule,
) -> Result<Expected> {
    let count = count.min(test.len());
    let grey = grey.min(count);
    let first: Vec<usize> = (0..count).collect();
    let bits = model
        .predict_split(&test.select(&first))
        .map_err(|e| e.to_string())?;
    let mut binarised = BitMatrix::zeros(grey, model.inputs());
    for i in 0..grey {
        let g = test.grey(i).ok_or("the test split has no grey levels")?;
        for (p, &v) in g.iter().enumerate() {
            binarised.set(i, p, rule.is_on(v));
        }
    }
    let correct = bits
        .iter()
        .zip(test.labels())
        .filter(|&(&p, &l)| p == usize::from(l))
        .count();
    Ok(Expected {
        bits,
        grey: model.predict(&binarised),
        correct,
    })
}

/// `text`, `data` and `bss` bytes, as `arm-none-eabi-size` counts them (`text` includes
/// read-only data: the weights).
#[derive(Clone, Copy, Debug)]
pub struct Size {
    /// Code and constants (flash).
    pub text: u64,
    /// Initialised variables (flash, copied to RAM).
    pub data: u64,
    /// Zeroed variables (RAM).
    pub bss: u64,
}

/// A program built by [`build`].
pub struct Build {
    /// The program, `prog.elf`.
    pub elf: PathBuf,
    /// The model's own code and arrays: `model.c` compiled alone.
    pub model: Size,
    /// The whole program: model, digits, driver, newlib's stdio and semihosting.
    pub program: Size,
}

fn tool(name: &str, args: &[&str], dir: &Path) -> Result<String> {
    let out = Command::new(name)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{name}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{name} {} failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn size(dir: &Path, file: &str) -> Result<Size> {
    let out = tool("arm-none-eabi-size", &[file], dir)?;
    // Berkeley format: a header line, then `text data bss dec hex filename`.
    let n: Vec<u64> = out
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect();
    match n[..] {
        [text, data, bss] => Ok(Size { text, data, bss }),
        _ => Err(format!("arm-none-eabi-size {file}: cannot read {out:?}")),
    }
}

/// Compiles `model.c` (with its `model.h`) and `digits.c` of `dir` with the driver into
/// `dir/prog.elf`, and measures the model's object and the program.
pub fn build(dir: &Path) -> Result<Build> {
    let driver = driver_dir();
    let d = |f: &str| driver.join(f).to_string_lossy().into_owned();
    let cc = |args: &[&str]| {
        let all: Vec<&str> = CFLAGS.iter().copied().chain(args.iter().copied()).collect();
        tool("arm-none-eabi-gcc", &all, dir)
    };
    cc(&["-c", "model.c", "-o", "model.o"])?;
    cc(&["-c", "digits.c", "-o", "digits.o"])?;
    let (ld, startup, main) = (d("mps2-an386.ld"), d("startup.c"), d("main.c"));
    cc(&[
        "-I.", "-T", &ld, &startup, &main, "model.o", "digits.o", "-o", "prog.elf",
    ])?;
    Ok(Build {
        elf: dir.join("prog.elf"),
        model: size(dir, "model.o")?,
        program: size(dir, "prog.elf")?,
    })
}

/// What the program printed.
pub struct Run {
    /// The class of each image, from its bits.
    pub bits: Vec<usize>,
    /// The class of the first images, from their grey levels.
    pub grey: Vec<usize>,
    /// How many of `bits` match the labels.
    pub correct: usize,
    /// Instructions per inference (from bits, scores not asked for).
    pub instructions: u64,
    /// Time QEMU took, host seconds.
    pub seconds: f64,
}

/// Runs `elf` on QEMU's `mps2-an386` (Cortex-M4) with `-icount shift=0` (one virtual
/// nanosecond per instruction: the driver's timer counts instructions), killing it after
/// [`TIMEOUT`].
pub fn run(elf: &Path) -> Result<Run> {
    let dir = elf.parent().unwrap_or(Path::new("."));
    let out_path = dir.join("qemu.out");
    let err_path = dir.join("qemu.err");
    let file = |p: &Path| std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let start = Instant::now();
    let mut child = Command::new("qemu-system-arm")
        .args(["-M", "mps2-an386", "-nographic"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .args(["-icount", "shift=0", "-kernel"])
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(file(&out_path)?)
        .stderr(file(&err_path)?)
        .spawn()
        .map_err(|e| format!("qemu-system-arm: {e}"))?;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let seconds = start.elapsed().as_secs_f64();
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    let said = format!("stdout:\n{out}\nstderr:\n{err}");
    match status {
        None => return Err(format!("QEMU killed after {TIMEOUT:?}; {said}")),
        Some(s) if !s.success() => return Err(format!("QEMU exited with {s}; {said}")),
        Some(_) => {}
    }
    let line = |prefix: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
            .ok_or_else(|| format!("no `{prefix}` line; {said}"))
    };
    let classes = |prefix: &str| -> Result<Vec<usize>> {
        line(prefix)?
            .bytes()
            .map(|b| match b {
                b'0'..=b'9' => Ok(usize::from(b - b'0')),
                _ => Err(format!("`{prefix}` line: {b:?} is no class; {said}")),
            })
            .collect()
    };
    let number = |prefix: &str| -> Result<u64> {
        let l = line(prefix)?;
        l.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("`{prefix}` line: no number in {l:?}"))
    };
    Ok(Run {
        bits: classes("bits:")?,
        grey: classes("grey:")?,
        correct: number("correct:")? as usize,
        instructions: number("instructions per inference:")?,
        seconds,
    })
}

/// Checks `run` against `expected`: the same classes from bits and from grey levels, and the
/// same number correct.
pub fn check(run: &Run, expected: &Expected) -> Result<()> {
    let differ = |what: &str, got: &[usize], want: &[usize]| -> Result<()> {
        if got.len() != want.len() {
            return Err(format!(
                "{what}: {} classes printed, {} expected",
                got.len(),
                want.len()
            ));
        }
        let wrong: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
        match wrong.first() {
            None => Ok(()),
            Some(&i) => Err(format!(
                "{what}: {} of {} classes differ from the library's, the first at image {i} ({} instead of {})",
                wrong.len(),
                got.len(),
                got[i],
                want[i]
            )),
        }
    };
    differ("bits", &run.bits, &expected.bits)?;
    differ("grey", &run.grey, &expected.grey)?;
    if run.correct != expected.correct {
        return Err(format!(
            "{} correct on the Cortex-M4, {} in the library",
            run.correct, expected.correct
        ));
    }
    Ok(())
}

/// Everything measured for one model.
pub struct Outcome {
    /// The program and its sizes.
    pub build: Build,
    /// What it printed.
    pub run: Run,
    /// What the library says.
    pub expected: Expected,
}

/// For `dir` holding an exported `model.h` and `model.c` (named `model`, exported from `model`
/// with grey-level rule `rule`): writes the first [`DIGITS`] images of `test`, builds, runs
/// and checks the program against the library's predictions.
pub fn run_model(dir: &Path, model: &Chain, test: &Split, rule: GreyRule) -> Result<Outcome> {
    write_digits(dir, test, DIGITS, GREY_DIGITS)?;
    let expected = expected(model, test, DIGITS, GREY_DIGITS, rule)?;
    let build = build(dir)?;
    let run = run(&build.elf)?;
    check(&run, &expected)?;
    Ok(Outcome {
        build,
        run,
        expected,
    })
}

impl Outcome {
    /// One line of figures: sizes in bytes, instructions per inference, accuracies.
    pub fn summary(&self) -> String {
        let (m, p, n) = (self.build.model, self.build.program, self.run.bits.len());
        format!(
            "model.o text {} data {} bss {}; prog.elf text {} data {} bss {}; \
             {} instructions/inference; accuracy on {n}: Cortex-M4 {:.1}%, library {:.1}%; QEMU {:.1} s",
            m.text,
            m.data,
            m.bss,
            p.text,
            p.data,
            p.bss,
            self.run.instructions,
            100.0 * self.run.correct as f64 / n as f64,
            100.0 * self.expected.correct as f64 / n as f64,
            self.run.seconds,
        )
    }
}
