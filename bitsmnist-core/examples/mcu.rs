//! A saved model's exported C on an emulated Cortex-M4: its flash size, its instructions per
//! inference and its accuracy on the first 1,000 test digits, checked against the library's
//! predictions. The measuring half of `scripts/mcu-figures.sh`, which exports the C first:
//!
//! ```text
//! bitsmnist export MODEL.bin --format c --name model --out DIR
//! cargo run -p bitsmnist-core --example mcu -- MODEL.bin DIR
//! ```
//!
//! `DIR` must hold `model.h` and `model.c` exported as `model` (edit them to try a variant:
//! the check against the library still applies). The digits, the objects and `prog.elf` are
//! written there too. Prints one line of figures; exits 1 if the Cortex-M4 disagrees with the
//! library. Needs `arm-none-eabi-gcc` (with newlib) and `qemu-system-arm` on `PATH`. The
//! model is evaluated on the embedded data, binarised as it was trained, on its own task.

#[path = "../tests/mcu/harness.rs"]
mod harness;

use std::path::PathBuf;

use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::export::GreyRule;
use bitsmnist_core::io::ModelFile;

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [file, dir] = &args[..] else {
        eprintln!("usage: mcu MODEL.bin DIR (DIR holding model.h and model.c exported as `model`)");
        std::process::exit(2);
    };
    if let Some(tool) = harness::missing_tool() {
        let packages = "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm";
        eprintln!("mcu: `{tool}` is missing (apt-get install {packages})");
        std::process::exit(2);
    }
    let saved = ModelFile::load(file).unwrap_or_else(|e| {
        eprintln!("{}: {e}", file.display());
        std::process::exit(2);
    });
    let binarization = saved.meta.binarization.unwrap_or_default();
    let all = Dataset::embedded_with(binarization);
    let task = saved.meta.task.clone().unwrap_or_else(Task::digits);
    let data = all.for_task(&task).unwrap_or_else(|e| {
        eprintln!("{}: {e}", file.display());
        std::process::exit(2);
    });
    // The rule `bitsmnist export` writes by default: from the whole embedded training split,
    // whatever the task.
    let rule = GreyRule::for_binarization(binarization, &all.train);
    match harness::run_model(dir, &saved.model, &data.test, rule) {
        Ok(outcome) => println!(
            "{} ({}, task {task}): {}",
            file.display(),
            harness::layers(&saved.model),
            outcome.summary()
        ),
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            std::process::exit(1);
        }
    }
}
