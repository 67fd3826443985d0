//! All ten digits with the measured default recipe (`Recipe::for_task(&Task::digits())`),
//! trained on the 10,000 embedded training digits and tested on the official 10,000.
//!
//! ```text
//! cargo run --release -p bitsmnist-core --example digits [key=value ...]
//! ```
//! Options are those of the `zero_one` example (e.g. `secs=600`).

mod common;

fn main() {
    common::run(bitsmnist_core::prelude::Task::digits());
}
