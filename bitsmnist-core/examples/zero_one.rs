//! Zeros against ones with the measured default recipe (`Recipe::for_task(&Task::zero_one())`),
//! trained on the embedded training digits and tested on the 2,115 zeros and ones of the
//! official test set.
//!
//! ```text
//! cargo run --release -p bitsmnist-core --example zero_one [key=value ...]
//! ```
//! Options override the recipe: `hidden=64 pop=50 elite=5 k=16 batch=256 secs=25 seed=1
//! metric=score crossover=uniform|neuron|none|<divisor> tournament=3 flip=0.001 onefifth=1.2
//! stagnation=50 output=identity|sigmoid|bits print=100 validate=0`.

mod common;

fn main() {
    common::run(bitsmnist_core::prelude::Task::zero_one());
}
