//! The shared run loop, for every kind of run (population, single climb, ensemble, gradient):
//! the same stop rules, pause and budget, and a saved and resumed run that ends bit for bit
//! where the uninterrupted run ends.

use std::ops::ControlFlow;
use std::time::Duration;

use bitsmnist_core::gradient::GradientParams;
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::prelude::*;
use bitsmnist_core::run::{Budget, CancelToken, StopReason, TrainOptions};
use bitsmnist_core::search::{ClimbParams, Mutation, Objective, PopulationParams};
use bitsmnist_core::training::{MethodKind, TrainConfig, TrainingState};

fn digits() -> (Split, Split) {
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let train = data.train.sample_shuffled(0.08, 10, 4); // 800 digits
    let test = data.test.sample_shuffled(0.05, 10, 5);
    (train, test)
}

/// One small configuration of each kind of run.
fn configs() -> Vec<(TrainConfig, Vec<usize>)> {
    let climb = ClimbParams::default()
        .batch_size(Some(400))
        .rebatch_every(2)
        .trials_per_generation(400)
        .rescore_every(3)
        .objective(Objective {
            correct_weight: 4,
            margin_cap: 16,
        })
        .seed(3);
    vec![
        (
            TrainConfig::Population {
                params: PopulationParams::default()
                    .population(8)
                    .elitism(2)
                    .mutation(Mutation::FlipK { k: 8 })
                    .batch_size(Some(200))
                    .seed(2),
                metric: Metric::Score,
            },
            vec![24],
        ),
        (
            TrainConfig::Climb {
                params: climb.clone(),
                members: 1,
            },
            vec![24],
        ),
        (
            TrainConfig::Climb {
                params: climb,
                members: 2,
            },
            vec![16],
        ),
        (
            TrainConfig::Gradient(GradientParams::default().epochs(6).batch_size(50).seed(4)),
            vec![32],
        ),
    ]
}

fn fresh(config: &TrainConfig, hidden: &[usize]) -> TrainingState {
    config
        .fresh(784, hidden, 10, BitOutput::Float(Activation::Identity), 7)
        .unwrap()
}

fn continue_() -> ControlFlow<()> {
    ControlFlow::Continue(())
}

fn assert_same(a: &TrainingState, b: &TrainingState, train: &Split) {
    assert_eq!(a.kind(), b.kind());
    assert_eq!(a.step_number(), b.step_number());
    assert_eq!(a.history().trace(), b.history().trace());
    assert_eq!(a.current_model(), b.current_model());
    assert_eq!(a.model(train), b.model(train));
}

fn reload(state: &TrainingState, train: &Split) -> TrainingState {
    let bytes = ModelFile::from_state(state, train).to_bytes().unwrap();
    ModelFile::from_bytes(&bytes)
        .unwrap()
        .state
        .expect("the state was saved")
}

#[test]
fn every_kind_of_run_is_made_from_one_configuration() {
    let kinds: Vec<MethodKind> = configs().iter().map(|(c, h)| fresh(c, h).kind()).collect();
    assert_eq!(
        kinds,
        [
            MethodKind::Population,
            MethodKind::Climb,
            MethodKind::Ensemble,
            MethodKind::Gradient
        ]
    );
}

#[test]
fn the_same_stop_rules_for_every_method() {
    let (train, _) = digits();
    for (config, hidden) in configs() {
        let kind = config.kind();
        // The first record stops a run whose target is already met (generation 0 for the
        // population and the climbs, epoch 1 for gradient training).
        let mut s = fresh(&config, &hidden);
        let out = s
            .train(&train, &TrainOptions::new().target(f64::MIN), |_| {
                continue_()
            })
            .unwrap();
        assert_eq!(out.reason, StopReason::Target, "{kind}");
        assert_eq!(s.history().len(), 1, "{kind}");

        let out = fresh(&config, &hidden)
            .train(
                &train,
                &TrainOptions::new().time_limit(Duration::ZERO),
                |_| continue_(),
            )
            .unwrap();
        assert_eq!(out.reason, StopReason::TimeLimit, "{kind}");

        let mut s = fresh(&config, &hidden);
        let out = s
            .train(&train, &TrainOptions::new().generations(50), |p| {
                if p.record.step == 3 {
                    ControlFlow::Break(())
                } else {
                    continue_()
                }
            })
            .unwrap();
        assert_eq!((out.reason, out.step), (StopReason::Callback, 3), "{kind}");
        assert_eq!(s.step_number(), 3, "{kind}");

        // Cancelled from another thread while training.
        let token = CancelToken::new();
        let t2 = token.clone();
        let out = fresh(&config, &hidden)
            .train(&train, &TrainOptions::new().cancel(token.clone()), |p| {
                if p.record.step == 2 {
                    std::thread::scope(|sc| {
                        sc.spawn(|| t2.cancel());
                    });
                }
                continue_()
            })
            .unwrap();
        assert_eq!((out.reason, out.step), (StopReason::Cancelled, 2), "{kind}");

        // Patience 1: the run stops at the first step that brings no new best objective.
        let mut s = fresh(&config, &hidden);
        let out = s
            .train(
                &train,
                &TrainOptions::new().patience(1).generations(40),
                |_| continue_(),
            )
            .unwrap();
        let best = s.history().best();
        if out.reason == StopReason::NoImprovement {
            let last = *best.last().unwrap();
            let before = best[..best.len() - 1]
                .iter()
                .copied()
                .fold(f64::MIN, f64::max);
            assert!(last <= before, "{kind}: {best:?}");
            assert!(
                best.windows(2).rev().skip(1).all(|w| w[1] > w[0]),
                "{kind}: {best:?}"
            );
        } else {
            assert_eq!(out.reason, StopReason::Steps, "{kind}");
            assert!(best.windows(2).all(|w| w[1] > w[0]), "{kind}: {best:?}");
        }

        // Until a step: a second call with the same rule has nothing to do.
        let mut s = fresh(&config, &hidden);
        s.train(&train, &TrainOptions::new().until_generation(2), |_| {
            continue_()
        })
        .unwrap();
        let out = s
            .train(&train, &TrainOptions::new().until_generation(2), |_| {
                continue_()
            })
            .unwrap();
        assert_eq!(
            (out.reason, out.steps, out.step),
            (StopReason::Steps, 0, 2),
            "{kind}"
        );
    }
}

#[test]
fn gradient_training_finishes_its_epochs() {
    let (train, _) = digits();
    let (config, hidden) = configs().pop().unwrap();
    let mut s = fresh(&config, &hidden);
    let out = s
        .train(&train, &TrainOptions::new(), |_| continue_())
        .unwrap();
    assert_eq!((out.reason, out.step), (StopReason::Finished, 6));
    let out = s
        .train(&train, &TrainOptions::new(), |_| continue_())
        .unwrap();
    assert_eq!((out.reason, out.steps), (StopReason::Finished, 0));
}

#[test]
fn a_paused_run_resumes_within_its_budget_as_if_never_paused() {
    let (train, test) = digits();
    for (config, hidden) in configs() {
        let kind = config.kind();
        let options = TrainOptions::new().generations(5).validate_on(&test, 2);
        let mut whole = fresh(&config, &hidden);
        whole.train(&train, &options, |_| continue_()).unwrap();

        let mut paused = fresh(&config, &hidden);
        let mut budget = Budget::new(options);
        let pause = budget.pause_token();
        let mut calls = 0;
        while !budget.is_spent() {
            calls += 1;
            let out = budget
                .train(|o| {
                    paused.train(&train, o, |p| {
                        if p.record.step % 2 == 1 {
                            pause.cancel();
                        }
                        continue_()
                    })
                })
                .unwrap();
            assert!(
                matches!(out.reason, StopReason::Paused | StopReason::Steps),
                "{kind}"
            );
        }
        assert!(calls >= 3, "{kind}: {calls} calls");
        assert_eq!(budget.steps(), 5, "{kind}");
        assert_same(&paused, &whole, &train);
    }
}

#[test]
fn a_saved_and_resumed_run_equals_the_uninterrupted_one_for_every_method() {
    let (train, test) = digits();
    for (config, hidden) in configs() {
        let options = TrainOptions::new().validate_on(&test, 3);
        let mut whole = fresh(&config, &hidden);
        whole
            .train(&train, &options.clone().generations(6), |_| continue_())
            .unwrap();

        let mut first = fresh(&config, &hidden);
        first
            .train(&train, &options.clone().generations(2), |_| continue_())
            .unwrap();
        let mut resumed = reload(&first, &train);
        assert_same(&resumed, &first, &train);
        resumed
            .train(&train, &options.clone().generations(4), |_| continue_())
            .unwrap();
        assert_same(&resumed, &whole, &train);
    }
}

#[test]
fn gradient_training_interrupted_mid_epoch_resumes_exactly() {
    let (train, _) = digits();
    let (config, hidden) = configs().pop().unwrap();
    let mut whole = fresh(&config, &hidden);
    whole
        .train(&train, &TrainOptions::new(), |_| continue_())
        .unwrap();

    // A time limit that is over at once stops each call after one mini-batch (16 per epoch
    // here), and the last epoch's call once more before its re-estimation of the batch
    // statistics, which the next call makes whatever its time limit: every call is saved,
    // loaded and continued, and the result is the network of the run that never stopped.
    let mut state = fresh(&config, &hidden);
    let mut interrupted = 0;
    loop {
        let out = state
            .train(
                &train,
                &TrainOptions::new().time_limit(Duration::from_nanos(1)),
                |_| continue_(),
            )
            .unwrap();
        state = reload(&state, &train);
        match out.reason {
            StopReason::TimeLimit if out.steps == 0 => interrupted += 1,
            StopReason::TimeLimit => assert_eq!(out.steps, 1),
            StopReason::Finished => break,
            r => panic!("{r:?}"),
        }
        assert!(interrupted < 1000);
    }
    assert_eq!(interrupted, 6 * 15 + 1);
    assert_same(&state, &whole, &train);
}

/// The climbs of `configs`: a single climb and an ensemble.
fn climbs() -> Vec<(TrainConfig, Vec<usize>)> {
    configs()
        .into_iter()
        .filter(|(c, _)| matches!(c.kind(), MethodKind::Climb | MethodKind::Ensemble))
        .collect()
}

#[test]
fn a_population_stopped_inside_a_generation_ends_where_the_generation_began() {
    use bitsmnist_core::search::Population;
    // A fitness that takes 20 ms a candidate: a generation of 40 takes far longer than the
    // time limit, so the run stops inside the first bred generation and keeps generation 0.
    let slow = Fitness::custom(|c: &Chain| {
        std::thread::sleep(Duration::from_millis(20));
        c.layers()[0].as_bit().map_or(0.0, |l| l.bias_bit(0) as f64)
    });
    let model = Chain::mlp(784, &[8], 2, BitOutput::Float(Activation::Identity), 3).unwrap();
    let params = PopulationParams::default()
        .population(40)
        .elitism(2)
        .seed(5);
    let mut started = Population::for_all_bit_layers(model, params).unwrap();
    started
        .train(&slow, &TrainOptions::new().generations(0), |_| continue_())
        .unwrap();
    let mut cut = started.clone();
    let out = cut
        .train(
            &slow,
            &TrainOptions::new().time_limit(Duration::from_millis(100)),
            |_| continue_(),
        )
        .unwrap();
    assert_eq!(
        (out.reason, out.steps, out.step),
        (StopReason::TimeLimit, 0, 0)
    );
    assert_eq!(cut.history().trace(), started.history().trace());
    assert_eq!(cut.fitness(), started.fitness());
    assert_eq!(cut.best_chain(), started.best_chain());
    // And it goes on exactly as the uninterrupted run.
    let two = TrainOptions::new().generations(2);
    started.train(&slow, &two, |_| continue_()).unwrap();
    cut.train(&slow, &two, |_| continue_()).unwrap();
    assert_eq!(cut.history().trace(), started.history().trace());
    assert_eq!(cut.best_chain(), started.best_chain());
}

#[test]
fn a_population_stopped_inside_generation_0_is_as_it_was_before() {
    use bitsmnist_core::search::Population;
    // 3,000 candidates of 128 hidden neurons, each scored on all 10,000 embedded training
    // digits (no mini-batches, and too many outputs to keep between generations): generation
    // 0 is seconds of work on any machine, so the 100 ms limit fires inside it.
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let fitness = Fitness::accuracy(&data.train);
    let model = Chain::mlp(784, &[128], 10, BitOutput::Float(Activation::Identity), 3).unwrap();
    let params = PopulationParams::default()
        .population(3000)
        .elitism(2)
        .batch_size(None)
        .seed(5);
    let before = Population::for_all_bit_layers(model, params).unwrap();
    let mut cut = before.clone();
    let clock = std::time::Instant::now();
    let out = cut
        .train(
            &fitness,
            &TrainOptions::new().time_limit(Duration::from_millis(100)),
            |_| continue_(),
        )
        .unwrap();
    let secs = clock.elapsed().as_secs_f64();
    assert_eq!(
        (out.reason, out.steps, out.step),
        (StopReason::TimeLimit, 0, 0)
    );
    // A generous margin: the candidates being scored when the limit fires finish first.
    assert!(secs < 10.0, "stopped {secs:.1} s after a 0.1 s limit");
    // Not evaluated, as before: nothing recorded, the same candidates and model.
    assert!(!cut.is_evaluated());
    assert!(cut.history().is_empty());
    assert!(cut.fitness().is_empty());
    assert_eq!(cut.generation(), 0);
    assert_eq!(cut.population(), before.population());
    assert_eq!(cut.chain(), before.chain());
}

#[test]
fn a_climb_stopped_inside_a_generation_ends_where_the_generation_began() {
    let (train, _) = digits();
    for (config, hidden) in climbs() {
        let TrainConfig::Climb { params, members } = config else {
            unreachable!()
        };
        // A generation far longer than the time limit: the run stops inside the first one
        // and keeps generation 0 as it was.
        let long = TrainConfig::Climb {
            params: params.trials_per_generation(2_000_000_000),
            members,
        };
        let mut started = fresh(&long, &hidden);
        started
            .train(&train, &TrainOptions::new().generations(0), |_| continue_())
            .unwrap();
        let mut cut = started.clone();
        let out = cut
            .train(
                &train,
                &TrainOptions::new().time_limit(Duration::from_millis(200)),
                |_| continue_(),
            )
            .unwrap();
        assert_eq!(
            (out.reason, out.steps, out.step),
            (StopReason::TimeLimit, 0, 0)
        );
        assert_same(&cut, &started, &train);
        // The trials run and undone are not counted.
        let trials = |s: &TrainingState| match s {
            TrainingState::Climb(c) => (c.trials(), c.accepted()),
            TrainingState::Ensemble(e) => (e.trials(), e.accepted()),
            _ => unreachable!(),
        };
        assert_eq!(trials(&cut), (0, 0));
    }
}

#[test]
fn a_run_cut_inside_generations_and_resumed_equals_the_uninterrupted_one() {
    let (train, _) = digits();
    let population = configs().remove(0);
    for (config, hidden) in climbs().into_iter().chain([population]) {
        let mut whole = fresh(&config, &hidden);
        whole
            .train(&train, &TrainOptions::new().generations(8), |_| continue_())
            .unwrap();
        // Each call stops on a time limit, most likely inside a generation (whose trials are
        // undone); the limit grows so that every call can get further. Each stopped state is
        // saved and loaded before it goes on.
        let mut state = fresh(&config, &hidden);
        for call in 1u64.. {
            let options = TrainOptions::new()
                .until_generation(8)
                .time_limit(Duration::from_millis(5 * call));
            let out = state.train(&train, &options, |_| continue_()).unwrap();
            state = reload(&state, &train);
            if out.reason == StopReason::Steps {
                break;
            }
            assert_eq!(out.reason, StopReason::TimeLimit);
        }
        assert_same(&state, &whole, &train);
    }
}

#[test]
fn an_ensemble_gives_the_same_run_whatever_the_thread_count() {
    // Members climb on threads of their own with a share of the pool: one thread each from a
    // pool of one, two each (speculative trial blocks) from a pool of four.
    let (train, test) = digits();
    let (config, hidden) = climbs().pop().unwrap();
    assert_eq!(config.kind(), MethodKind::Ensemble);
    let options = TrainOptions::new().generations(6).validate_on(&test, 2);
    let states: Vec<TrainingState> = [1, 4]
        .into_iter()
        .map(|threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut state = fresh(&config, &hidden);
            pool.install(|| state.train(&train, &options, |_| continue_()))
                .unwrap();
            state
        })
        .collect();
    assert_same(&states[0], &states[1], &train);
}
