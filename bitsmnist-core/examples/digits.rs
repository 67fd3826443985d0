//! All ten digits with the population genetic algorithm and the recipe's population settings
//! (`Recipe::for_method(&Task::digits(), MethodKind::Population)`, 784-256-10), trained on the 10,000 embedded
//! training digits and tested on the official 10,000. The recipe's own strategy for ten
//! digits, bit-flip climbing, runs with `bitsmnist train --task digits`.
//!
//! ```text
//! cargo run --release -p bitsmnist-core --example digits [key=value ...]
//! ```
//! Options are those of the `zero_one` example (e.g. `secs=600`).

mod common;

fn main() {
    common::run(bitsmnist_core::prelude::Task::digits());
}
