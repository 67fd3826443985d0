//! Stop points inside the long steps outside the training steps proper: re-estimating the
//! batch statistics after gradient training's last epoch, imprinting convolution filters,
//! reading and decoding a data set. Each stops at the first stop point after it is asked
//! to, having done a bounded amount of work, and leaves what it works on usable. The
//! stops are triggered by counting stop points, never by time.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bitsmnist_core::datasets::{Binarization, DataError, Dataset, Idx, IdxError, Source};
use bitsmnist_core::gradient::{GradientError, GradientParams, Trainer};
use bitsmnist_core::layers::{Architecture, parse_architecture};
use bitsmnist_core::prelude::*;
use bitsmnist_core::run::{CancelToken, TrainOptions};
use bitsmnist_core::search::imprint::{ImprintError, ImprintParams, imprint, imprint_until};
use bitsmnist_core::session::{RunPlan, Session, SessionError};
use bitsmnist_core::training::MethodKind;

/// A stop check that says "stop" at its `n`-th question, counting the questions.
struct StopAt {
    n: usize,
    asked: AtomicUsize,
}

impl StopAt {
    fn new(n: usize) -> Self {
        Self {
            n,
            asked: AtomicUsize::new(0),
        }
    }

    fn check(&self) -> bool {
        self.asked.fetch_add(1, Ordering::SeqCst) + 1 >= self.n
    }

    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

fn small_gradient(hidden: Vec<usize>) -> (Trainer, Split) {
    let train = Dataset::embedded().train.sample(0.1, 10); // 1,000 digits
    let params = GradientParams::default()
        .hidden(hidden)
        .epochs(1)
        .batch_size(train.len())
        .seed(5);
    (Trainer::new(params, 784, 10).unwrap(), train)
}

#[test]
fn a_stopped_recalibration_keeps_every_statistic_and_stops_at_once() {
    let (mut trainer, train) = small_gradient(vec![32, 32, 32]);
    trainer.recalibrate(&train).unwrap(); // statistics unlike the fresh ones
    let before = trainer.export();
    let mut fresh = small_gradient(vec![32, 32, 32]).0;
    let full = {
        fresh.recalibrate(&train).unwrap();
        fresh.export()
    };
    // Stopped at the 1st, 2nd, 3rd... stop point: no more stop points asked than that, and
    // the model is exactly what it was, not partly re-estimated.
    let (mut other, _) = small_gradient(vec![32, 32, 32]);
    let untouched = other.export();
    for n in 1..=3 {
        let stop = StopAt::new(n);
        let r = other.recalibrate_until(&train, &|| stop.check());
        assert_eq!(r, Err(GradientError::Stopped));
        assert_eq!(stop.asked(), n);
        assert!(other.export() == untouched, "stopped at stop point {n}");
    }
    // Not stopped, it gives the same statistics as the plain call.
    let never = StopAt::new(usize::MAX);
    other.recalibrate_until(&train, &|| never.check()).unwrap();
    assert!(other.export() == full);
    // Every layer has at least one stop point.
    assert!(never.asked() >= 4, "{} stop points", never.asked());
    assert!(before == full);
}

#[test]
fn training_stopped_in_the_recalibration_leaves_a_usable_model_and_resumes_exactly() {
    // One mini-batch per epoch: the first stop point after it is the recalibration's, and a
    // time limit of zero fires there (the loop asks the time limit only inside steps).
    let (mut stopped, train) = small_gradient(vec![48, 48]);
    let outcome = stopped
        .train(
            &train,
            &TrainOptions::new().time_limit(Duration::ZERO),
            |_| ControlFlow::Continue(()),
        )
        .unwrap();
    assert_eq!((outcome.reason, outcome.step), (StopReason::TimeLimit, 0));
    assert!(stopped.awaits_recalibration(&train));
    // The model is training's own, running statistics and all: the model of the same run
    // without a recalibration.
    let (mut plain, _) = small_gradient(vec![48, 48]);
    plain = Trainer::new(plain.params().clone().recalibrate(false), 784, 10).unwrap();
    plain.run(&train, &TrainOptions::new()).unwrap();
    assert!(stopped.export() == plain.export());
    // Saved and loaded, then resumed: the recalibration is made again, and the run ends as
    // the run that was never stopped.
    let file = ModelFile::from_state(&TrainingState::Gradient(stopped), &train);
    let bytes = file.to_bytes().unwrap();
    let Some(TrainingState::Gradient(mut resumed)) = ModelFile::from_bytes(&bytes).unwrap().state
    else {
        panic!("a gradient state")
    };
    let again = resumed.run(&train, &TrainOptions::new()).unwrap();
    assert_eq!((again.reason, again.step), (StopReason::Finished, 1));
    assert!(!resumed.awaits_recalibration(&train));
    let (mut straight, _) = small_gradient(vec![48, 48]);
    straight.run(&train, &TrainOptions::new()).unwrap();
    assert!(resumed.export() == straight.export());
}

#[test]
fn a_stopped_imprint_returns_no_filters_after_a_bounded_amount_of_work() {
    let data = Dataset::embedded();
    let (features, _) = parse_architecture("conv16x5,pool2,conv16x5,pool2").unwrap();
    let params = ImprintParams::default().seed(2);
    let whole = imprint(&data.train, &features, &params).unwrap();
    let never = StopAt::new(usize::MAX);
    let same = imprint_until(&data.train, &features, &params, &|| never.check()).unwrap();
    assert!(same == whole);
    // Two layers' maps, each in chunks, and the draws of two convolutions.
    assert!(never.asked() >= 4, "{} stop points", never.asked());
    for n in 1..never.asked() {
        let stop = StopAt::new(n);
        let r = imprint_until(&data.train, &features, &params, &|| stop.check());
        assert_eq!(r, Err(ImprintError::Stopped), "stop point {n}");
        assert_eq!(stop.asked(), n);
    }
}

#[test]
fn a_stopped_load_returns_no_data_set_after_a_bounded_amount_of_work() {
    let dir = tempfile::tempdir().unwrap();
    let data = Dataset::embedded();
    // The embedded digits written out as a folder, three times over (plain and gzip).
    let grey = |s: &Split| -> Vec<u8> {
        (0..s.len())
            .flat_map(|i| s.grey(i).unwrap().to_vec())
            .collect()
    };
    let images: Vec<u8> = grey(&data.train).repeat(3);
    let n = images.len() / 784;
    let labels: Vec<u8> = data.train.labels().repeat(3);
    Idx {
        dims: vec![n, 28, 28],
        data: images,
    }
    .save(&dir.path().join("train-images-idx3-ubyte.gz"))
    .unwrap();
    Idx {
        dims: vec![n],
        data: labels,
    }
    .save(&dir.path().join("train-labels-idx1-ubyte"))
    .unwrap();
    let test: Vec<u8> = grey(&data.test);
    Idx {
        dims: vec![data.test.len(), 28, 28],
        data: test,
    }
    .save(&dir.path().join("t10k-images-idx3-ubyte"))
    .unwrap();
    Idx {
        dims: vec![data.test.len()],
        data: data.test.labels().to_vec(),
    }
    .save(&dir.path().join("t10k-labels-idx1-ubyte.gz"))
    .unwrap();
    let source = Source::Dir(dir.path().into());
    let whole = Dataset::load(&source, Binarization::default()).unwrap();
    assert_eq!(whole.train.len(), 30_000);
    let never = StopAt::new(usize::MAX);
    let same = Dataset::load_until(&source, Binarization::default(), &|| never.check()).unwrap();
    assert!(same.train == whole.train && same.test == whole.test);
    // 23.5 MB of training images alone: a stop point every MiB or so.
    assert!(never.asked() > 23, "{} stop points", never.asked());
    for n in [1, 2, 10, never.asked() - 1] {
        let stop = StopAt::new(n);
        let r = Dataset::load_until(&source, Binarization::default(), &|| stop.check());
        assert!(
            matches!(r, Err(DataError::Stopped)),
            "stop point {n}: {r:?}"
        );
        assert_eq!(stop.asked(), n);
    }
    let stop = StopAt::new(3);
    let r = Idx::open_until(&dir.path().join("train-images-idx3-ubyte.gz"), &|| {
        stop.check()
    });
    assert!(matches!(r, Err(IdxError::Stopped)), "{r:?}");
}

fn imprinting_plan() -> RunPlan {
    RunPlan::for_method(Task::digits(), MethodKind::Climb)
        .architecture(Architecture {
            features: parse_architecture("conv32x5,pool4").unwrap().0,
            hidden: vec![64],
        })
        .generations(1)
}

#[test]
fn a_session_cancelled_or_out_of_time_while_imprinting_ends_with_a_typed_error() {
    let data = Dataset::embedded();
    let cancel = CancelToken::new();
    cancel.cancel();
    let mut plan = imprinting_plan();
    plan.stop.cancel = Some(cancel);
    assert!(matches!(
        Session::start(plan, &data),
        Err(SessionError::Stopped {
            reason: StopReason::Cancelled
        })
    ));
    let plan = imprinting_plan().stop(TrainOptions::new().time_limit(Duration::ZERO));
    let e = Session::start(plan, &data).err().unwrap();
    assert!(matches!(
        e,
        SessionError::Stopped {
            reason: StopReason::TimeLimit
        }
    ));
    assert!(!e.is_refusal());
    // Not stopped, the session's token is the plan's, and the time imprinting took is the
    // run's: it is counted before the first step.
    let token = CancelToken::new();
    let mut plan = imprinting_plan();
    plan.stop.cancel = Some(token.clone());
    let session = Session::start(plan, &data).unwrap();
    assert!(session.progress().spent > Duration::ZERO);
    token.cancel();
    assert!(session.cancel_token().is_cancelled());
}
