//! Shared by the `zero_one` and `digits` examples: train a task with its measured recipe
//! (`Recipe::for_task`), optionally overridden by `key=value` arguments, and report the test
//! error and the training time.

use std::time::{Duration, Instant};

use bitsmnist_core::prelude::*;
use bitsmnist_core::search::{Adaptation, Crossover, Mutation, Selection};
use bitsmnist_core::training::MethodKind;

pub fn run(task: Task) {
    // These examples run the population algorithm; for more than two classes its settings
    // were measured with 256 hidden neurons.
    let mut recipe = Recipe::for_method(&task, MethodKind::Population);
    if task.len() > 2 {
        recipe.hidden = 256;
    }
    let mut seed = 1u64;
    let mut print_every = 100u64;
    let mut validate_every = 0u64;
    let mut time_limit = None;
    for arg in std::env::args().skip(1) {
        let (k, v) = arg
            .split_once('=')
            .unwrap_or_else(|| panic!("expected key=value, got {arg}"));
        let num = || {
            v.parse::<f64>()
                .unwrap_or_else(|_| panic!("{k}: not a number: {v}"))
        };
        let TrainConfig::Population { params: p, metric } = &mut recipe.config else {
            unreachable!("the population recipe")
        };
        match k {
            "hidden" => recipe.hidden = num() as usize,
            "pop" => p.population = num() as usize,
            "elite" => p.elitism = num() as usize,
            "k" => p.mutation = Mutation::FlipK { k: num() as usize },
            "flip" => p.mutation = Mutation::Flip { rate: num() },
            "replace" => p.mutation = Mutation::Replace { rate: num() },
            "batch" => p.batch_size = (num() > 0.0).then(|| num() as usize),
            "tournament" => {
                p.selection = Selection::Tournament {
                    size: num() as usize,
                }
            }
            "crossover" => {
                p.crossover = match v {
                    "uniform" => Crossover::Uniform,
                    "neuron" => Crossover::Neuron,
                    "none" => Crossover::None,
                    d => Crossover::Split {
                        divisor: d.parse().expect("divisor"),
                    },
                }
            }
            "onefifth" => {
                p.adaptation = Adaptation::OneFifth {
                    factor: num(),
                    min_scale: 0.05,
                    max_scale: 4.0,
                }
            }
            "stagnation" => {
                p.adaptation = Adaptation::Stagnation {
                    patience: num() as u64,
                    factor: 0.7,
                    min_scale: 0.05,
                }
            }
            "metric" => *metric = v.parse().expect("metric"),
            "output" => {
                recipe.output = match v {
                    "bits" => BitOutput::Bits,
                    a => BitOutput::Float(a.parse().expect("activation")),
                }
            }
            "generations" => recipe.steps = Some(num() as u64),
            "secs" => time_limit = Some(Duration::from_secs_f64(num())),
            "seed" => seed = num() as u64,
            "print" => print_every = num() as u64,
            "validate" => validate_every = num() as u64,
            _ => panic!("unknown option {k}"),
        }
    }
    let data = Dataset::embedded().for_task(&task).unwrap();
    println!(
        "task {task}: {} training and {} test examples; {recipe:?}, seed {seed}",
        data.train.len(),
        data.test.len()
    );
    let mut set = recipe
        .training_set(data.train.images().cols(), task.len(), seed)
        .expect("valid recipe");
    let fitness = recipe.fitness(&data.train);
    let mut opts = recipe.options().print_every(print_every);
    if validate_every > 0 {
        opts = opts.validate_on(&data.test, validate_every);
    }
    if let Some(t) = time_limit {
        opts = opts.time_limit(t);
    }
    let start = Instant::now();
    let out = set.run(&fitness, &opts).expect("training runs");
    let secs = start.elapsed().as_secs_f64();
    let model = set.chain();
    let test_err = statistics::error(model, &data.test);
    let train_err = statistics::error(model, &data.train);
    println!(
        "{model}: {} generations in {secs:.1} s ({:.1} gen/s), stop: {:?}",
        out.step,
        out.steps as f64 / secs,
        out.reason
    );
    println!(
        "train error {:.3}%  test error {:.3}% ({} of {} wrong)",
        train_err * 100.0,
        test_err * 100.0,
        (test_err * data.test.len() as f64).round(),
        data.test.len()
    );
}
