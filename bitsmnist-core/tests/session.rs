//! The run session every front end uses: a plan becomes a session, which pauses and resumes
//! (gradient training mid-epoch too), checkpoints into a file that any front end continues,
//! records its task, data and seed, and refuses what does not fit with typed errors.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bitsmnist_core::datasets::{Binarization, Dataset, Task};
use bitsmnist_core::gradient::GradientParams;
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::layers::Architecture;
use bitsmnist_core::run::StopReason;
use bitsmnist_core::search::ClimbParams;
use bitsmnist_core::session::{Origin, PlanError, RunPlan, Session, SessionError};
use bitsmnist_core::training::{Membership, MethodKind, TrainConfig};

fn go(_: &bitsmnist_core::session::SessionStep<'_>) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

fn gradient_plan() -> RunPlan {
    RunPlan::for_method(Task::digits(), MethodKind::Gradient)
        .config(TrainConfig::Gradient(
            GradientParams::default()
                .hidden(vec![64])
                .epochs(2)
                .batch_size(50),
        ))
        .sample(0.3)
        .seed(4)
}

#[test]
fn a_gradient_run_paused_mid_epoch_again_and_again_ends_as_the_uninterrupted_one() {
    let data = Dataset::embedded();
    let mut whole = Session::start(gradient_plan(), &data).unwrap();
    whole.run(go).unwrap();

    let mut paused = Session::start(gradient_plan(), &data).unwrap();
    let pause = paused.pause_token();
    let done = Arc::new(AtomicBool::new(false));
    // Pauses land wherever the trainer is: between mini-batches, inside an epoch.
    let pauser = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(15));
                pause.cancel();
            }
        })
    };
    let (mut calls, mut mid_epoch) = (0, 0);
    while !paused.is_finished() {
        let before = paused.state().history().records.len();
        let out = paused.run(go).unwrap();
        calls += 1;
        if out.reason == StopReason::Paused && paused.state().history().records.len() == before {
            mid_epoch += 1;
        }
    }
    done.store(true, Ordering::SeqCst);
    pauser.join().unwrap();
    assert!(
        calls > 2 && mid_epoch > 0,
        "{calls} calls, {mid_epoch} inside an epoch"
    );
    assert_eq!(paused.progress().step, 2);
    assert_eq!(paused.model(), whole.model());
    assert_eq!(paused.report().test, whole.report().test);
}

/// Grey levels kept as four bits a pixel: a gradient run's convolutions read them as four
/// channels (shifted with their pixels), the file records the code, and a resumed run reads
/// its channels back from the saved network and ends where one session ends, also when given
/// the one-bit digits (it binarises their grey levels with its code again); and a climb after
/// imprinted filters reads the same channels.
#[test]
fn a_thermometer_code_trains_as_input_channels_and_resumes() {
    let thermo = Binarization::Thermometer { levels: 4 };
    let data = Dataset::embedded_with(thermo);
    let plan = || {
        RunPlan::for_method(Task::digits(), MethodKind::Gradient)
            .config(TrainConfig::Gradient(
                GradientParams::default().epochs(2).batch_size(50),
            ))
            .architecture("conv4x3,pool2,16".parse().unwrap())
            .sample(0.05)
            .seed(6)
    };
    let mut whole = Session::start(plan(), &data).unwrap();
    whole.run(go).unwrap();
    let model = whole.model();
    let first = model.layers()[0].to_string();
    assert!(first.contains("28x28x4"), "{first}");
    assert_eq!(model.inputs(), 4 * 784);

    let mut part = Session::start(plan().generations(1), &data).unwrap();
    part.run(go).unwrap();
    let file = ModelFile::from_bytes(&part.checkpoint().to_bytes().unwrap()).unwrap();
    assert_eq!(file.meta.binarization, Some(thermo));
    let resume = RunPlan::resume(file.clone()).unwrap().generations(1);
    let mut resumed = Session::start(resume, &data).unwrap();
    resumed.run(go).unwrap();
    assert_eq!(resumed.model(), model);

    // Given the one-bit digits, a resumed run binarises their grey levels with its own code
    // again: the same run.
    let mut again = Session::start(
        RunPlan::resume(file).unwrap().generations(1),
        &Dataset::embedded(),
    )
    .unwrap();
    assert_eq!(again.data().binarization, thermo);
    again.run(go).unwrap();
    assert_eq!(again.model(), model);

    // The digits recipe names its own binarisation; this climb reads the code.
    let climb = RunPlan::for_method(Task::digits(), MethodKind::Climb)
        .binarize(thermo)
        .architecture("conv8x5,pool4,32".parse().unwrap())
        .sample(0.05)
        .generations(1)
        .seed(2);
    let mut climb = Session::start(climb, &data).unwrap();
    climb.run(go).unwrap();
    let first = climb.model().layers()[0].to_string();
    assert!(first.contains("28x28x4"), "{first}");
}

#[test]
fn a_checkpoint_resumes_in_a_new_session_and_ends_where_one_session_ends() {
    let data = Dataset::embedded();
    let plan = |n| {
        RunPlan::for_method(Task::digits(), MethodKind::Ensemble)
            .config(TrainConfig::Climb {
                params: ClimbParams::default()
                    .trials_per_generation(1000)
                    .batch_size(Some(400)),
                members: 2,
            })
            .architecture(Architecture::dense(vec![24]))
            .seed(9)
            .generations(n)
    };
    let mut whole = Session::start(plan(5), &data).unwrap();
    whole.run(go).unwrap();

    let mut first = Session::start(plan(2), &data).unwrap();
    first.run(go).unwrap();
    let bytes = first.checkpoint().to_bytes().unwrap();
    let file = ModelFile::from_bytes(&bytes).unwrap();
    let run = file.meta.run.clone().expect("the run is recorded");
    assert_eq!((run.method, run.seed), (MethodKind::Ensemble, Some(9)));
    assert_eq!(file.meta.task, Some(Task::digits()));
    assert_eq!(file.meta.dataset.as_deref(), Some("MNIST (embedded)"));

    let mut resumed = Session::start(RunPlan::resume(file).unwrap().generations(3), &data).unwrap();
    assert_eq!(resumed.origin(), Origin::Resumed);
    assert_eq!(resumed.start_step(), 2);
    resumed.run(go).unwrap();
    assert_eq!(resumed.progress().step, 5);
    assert_eq!(resumed.model(), whole.model());
    let report = resumed.report();
    assert_eq!((report.step, report.steps, report.seed), (5, 3, Some(9)));
    // The history is the ensemble's, every step of both sessions.
    assert_eq!(resumed.checkpoint().history.unwrap().records.len(), 6);
}

#[test]
fn a_member_run_alone_equals_that_member_of_the_ensemble() {
    let data = Dataset::embedded();
    let plan = RunPlan::for_method(Task::digits(), MethodKind::Ensemble)
        .config(TrainConfig::Climb {
            params: ClimbParams::default()
                .trials_per_generation(500)
                .batch_size(Some(300)),
            members: 3,
        })
        .architecture(Architecture::dense(vec![12]))
        .seed(7)
        .generations(2);
    let mut ensemble = Session::start(plan.clone(), &data).unwrap();
    ensemble.run(go).unwrap();
    let mut member = Session::start(plan.member(Membership::new(1, 3).unwrap()), &data).unwrap();
    member.run(go).unwrap();
    let bitsmnist_core::training::TrainingState::Ensemble(e) = ensemble.state() else {
        panic!("an ensemble")
    };
    assert_eq!(
        member.state().current_model(),
        e.members()[1].chain().clone()
    );
    let run = member.meta().run.clone().unwrap();
    assert_eq!(run.member, Membership::new(1, 3));
    assert_eq!(run.seed, Some(7));
}

/// Gradient members trained apart (`--method gradient --member K --of N`) each train from
/// their member's seed, and merge, in member order whatever the order given, into one vote
/// whose scores are theirs added up.
#[test]
fn gradient_members_merge_into_a_vote_of_their_networks() {
    use bitsmnist_core::io::merge_files;
    use bitsmnist_core::layers::Layer;
    let data = Dataset::embedded();
    let plan = gradient_plan().sample(0.1);
    let member = |k: usize| {
        let mut s =
            Session::start(plan.clone().member(Membership::new(k, 2).unwrap()), &data).unwrap();
        s.run(go).unwrap();
        let run = s.meta().run.clone().unwrap();
        assert_eq!(run.member, Membership::new(k, 2));
        assert_eq!((run.method, run.seed), (MethodKind::Gradient, Some(4)));
        (
            std::path::PathBuf::from(format!("m{k}.bin")),
            s.checkpoint(),
        )
    };
    let (m0, m1) = (member(0), member(1));
    assert!(
        m0.1.model != m1.1.model,
        "members train from their own seeds"
    );
    let merged = merge_files(vec![m1.clone(), m0.clone()], false).unwrap();
    assert_eq!(merged.order, [m0.0.clone(), m1.0.clone()]);
    let model = &merged.file.model;
    let [Layer::Vote(vote)] = model.layers() else {
        panic!("a vote: {model}")
    };
    assert_eq!(vote.members(), [m0.1.model.clone(), m1.1.model.clone()]);
    let (a, b) = (
        m0.1.model.scores_split(&data.test).unwrap(),
        m1.1.model.scores_split(&data.test).unwrap(),
    );
    let sum = model.scores_split(&data.test).unwrap();
    for ((s, x), y) in sum.as_slice().iter().zip(a.as_slice()).zip(b.as_slice()) {
        assert_eq!(*s, x + y);
    }
    assert_eq!(
        merged.file.meta.run.as_ref().map(|r| r.method),
        Some(MethodKind::Gradient)
    );
    // The vote saves and loads as it is.
    let bytes = merged.file.to_bytes().unwrap();
    assert_eq!(&ModelFile::from_bytes(&bytes).unwrap().model, model);
}

/// Climbing members with their own imprinted filters (`--member K --of N --own-filters`)
/// differ in their feature layers, record it, and merge into a vote, the very model the
/// ensemble trains in one process; members that share the ensemble's filters still merge
/// into one wider network. A run with no convolutions to imprint has no filters to share.
#[test]
fn members_with_their_own_filters_merge_into_a_vote() {
    use bitsmnist_core::io::merge_files;
    use bitsmnist_core::layers::Layer;
    let data = Dataset::embedded();
    let plan = RunPlan::for_method(Task::digits(), MethodKind::Ensemble)
        .config(TrainConfig::Climb {
            params: ClimbParams::default()
                .trials_per_generation(300)
                .batch_size(Some(200)),
            members: 2,
        })
        .architecture("conv4x5,pool4,16".parse().unwrap())
        .sample(0.1)
        .seed(3)
        .generations(1);
    // The recipe of ten digits: every network its own filters.
    assert!(plan.own_features && plan.imprints_own_features());
    let trained = |p: RunPlan| {
        let mut s = Session::start(p, &data).unwrap();
        s.run(go).unwrap();
        s
    };
    let member = |k: usize, own: bool| {
        let s = trained(
            plan.clone()
                .member(Membership::new(k, 2).unwrap())
                .own_features(own),
        );
        assert_eq!(s.meta().run.as_ref().unwrap().own_features, own);
        (
            std::path::PathBuf::from(format!("m{k}.bin")),
            s.checkpoint(),
        )
    };
    let own = [member(0, true), member(1, true)];
    assert!(
        own[0].1.model.layers()[0] != own[1].1.model.layers()[0],
        "own filters differ"
    );
    let merged = merge_files(own.to_vec(), false).unwrap();
    assert!(matches!(merged.file.model.layers(), [Layer::Vote(_)]));
    let whole = trained(plan.clone());
    assert!(whole.meta().run.as_ref().unwrap().own_features);
    assert_eq!(whole.checkpoint().model, merged.file.model);
    let shared = [member(0, false), member(1, false)];
    assert!(shared[0].1.model.layers()[0] == shared[1].1.model.layers()[0]);
    let merged = merge_files(shared.to_vec(), false).unwrap();
    assert!(matches!(merged.file.model.layers()[0], Layer::Conv(_)));
    let whole = trained(plan.clone().own_features(false));
    assert_eq!(whole.checkpoint().model, merged.file.model);
    // No convolutions: nothing imprinted, nothing recorded.
    let dense = plan.clone().architecture(Architecture::dense(vec![16]));
    assert!(dense.own_features && !dense.imprints_own_features());
    assert!(!trained(dense).meta().run.as_ref().unwrap().own_features);
}

#[test]
fn what_does_not_fit_is_refused_with_typed_errors_before_any_training() {
    let data = Dataset::embedded();
    let err = |plan: RunPlan| Session::start(plan, &data).err().expect("refused");
    assert!(matches!(
        err(RunPlan::for_task(Task::zero_one()).sample(1.5)),
        SessionError::Plan(PlanError::Sample(_))
    ));
    assert!(matches!(
        err(RunPlan::for_method(Task::digits(), MethodKind::Climb)
            .architecture(Architecture::dense(vec![16, 16]))),
        SessionError::Plan(PlanError::ClimbDepth(2))
    ));
    assert!(matches!(
        err(
            RunPlan::for_method(Task::zero_one(), MethodKind::Population)
                .architecture("conv8x5,pool4,16".parse().unwrap())
        ),
        SessionError::Plan(PlanError::PopulationFeatures)
    ));
    assert!(matches!(
        err(RunPlan::for_method(Task::digits(), MethodKind::Climb)
            .architecture("conv8x5,pool64,16".parse().unwrap())),
        SessionError::Features(_)
    ));
    // A two-class model resumed on the ten-digit task.
    let mut two =
        Session::start(RunPlan::for_task(Task::zero_one()).generations(1), &data).unwrap();
    two.run(go).unwrap();
    let mut plan = RunPlan::resume(two.checkpoint()).unwrap();
    plan.task = Task::digits();
    let e = err(plan);
    assert!(
        matches!(
            e,
            SessionError::Shape {
                outputs: 2,
                needs_outputs: 10,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "the model takes 784 inputs and gives 2 outputs; MNIST (embedded) with task digits needs 784 and 10"
    );
    assert!(e.is_refusal());
    // Fine-tuning keeps the model's shape; a file with no state has nothing to resume.
    assert!(matches!(
        RunPlan::resume(ModelFile::new(two.model())),
        Err(PlanError::NoState)
    ));
}
