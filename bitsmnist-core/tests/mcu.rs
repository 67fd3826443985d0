//! The exported C on a microcontroller: cross-compiled for a Cortex-M4 (software floating
//! point, newlib) and run under QEMU's `mps2-an386` board, it classifies the first 1,000
//! official test digits exactly as the library's model does (from packed bits, and the first
//! 100 from grey levels through the exported binarisation), for the three kinds of model the
//! project trains and for two bit convolution models. Prints the model's flash size and the
//! instructions per inference (`cargo test -p bitsmnist-core --test mcu -- --nocapture`).
//!
//! Needs `arm-none-eabi-gcc` (with newlib) and `qemu-system-arm`; without them the tests say
//! so and pass, unless `BITSMNIST_REQUIRE_MCU` is set (scripts/test-all.sh sets it after
//! installing them), so that a missing tool chain cannot pass for a passing test there.
//! The driver, startup code and linker script are in `tests/mcu/`, shared with
//! `scripts/mcu-figures.sh`.

#[path = "mcu/harness.rs"]
mod harness;
#[path = "common/models.rs"]
mod models;

use std::time::Instant;

use bitsmnist_core::export::{self, GreyRule};
use bitsmnist_core::prelude::*;

/// Whether the tool chain is here; panics when it is not but must be.
fn tools_present() -> bool {
    let Some(tool) = harness::missing_tool() else {
        return true;
    };
    let install = "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm";
    if std::env::var_os("BITSMNIST_REQUIRE_MCU").is_some() {
        panic!("BITSMNIST_REQUIRE_MCU is set but `{tool}` is missing ({install})");
    }
    eprintln!(
        "SKIPPED: `{tool}` is missing, the exported C is not run on the Cortex-M4 \
         ({install}; set BITSMNIST_REQUIRE_MCU=1 to make this a failure)"
    );
    false
}

/// Exports `model`, runs it on the emulated Cortex-M4 and checks it against the library's
/// predictions on the first test digits of `data`; prints the figures.
fn on_the_cortex_m4(model: &Chain, data: &Dataset, what: &str) {
    let start = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // As the command line exports: the mean rule from the training split's grey levels.
    let rule = GreyRule::for_binarization(data.binarization, &data.train);
    let c = export::to_c(model, "model", rule).unwrap();
    std::fs::write(dir.path().join("model.h"), &c.header).unwrap();
    std::fs::write(dir.path().join("model.c"), &c.source).unwrap();
    let outcome = harness::run_model(dir.path(), model, &data.test, rule)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        outcome.run.instructions > 0,
        "{what}: no instructions counted"
    );
    assert!(
        outcome.build.model.text > 0,
        "{what}: an empty model object"
    );
    eprintln!(
        "{what} ({}): {}; {:.1} s in all",
        harness::layers(model),
        outcome.summary(),
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn the_default_zero_one_model_runs_on_a_cortex_m4() {
    if !tools_present() {
        return;
    }
    let (data, model) = models::zero_one_default();
    on_the_cortex_m4(&model, &data, "zero-one default");
}

#[test]
fn a_climbed_ten_digit_ensemble_runs_on_a_cortex_m4() {
    if !tools_present() {
        return;
    }
    let (data, merged) = models::climbed_ensemble();
    on_the_cortex_m4(&merged, &data, "climbed ensemble of 2");
}

#[test]
fn a_gradient_model_with_thresholds_and_scales_runs_on_a_cortex_m4() {
    if !tools_present() {
        return;
    }
    let (data, model) = models::gradient_scaled();
    on_the_cortex_m4(&model, &data, "gradient");
}

#[test]
fn bit_convolution_models_run_on_a_cortex_m4() {
    if !tools_present() {
        return;
    }
    let (data, typical) = models::conv_typical();
    on_the_cortex_m4(&typical, &data, "conv typical");
    let (data, odd) = models::conv_odd();
    on_the_cortex_m4(&odd, &data, "conv odd shapes");
}
