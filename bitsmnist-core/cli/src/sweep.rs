//! `bitsmnist sweep`: a grid of `train` settings times a list of seeds, each point a
//! `bitsmnist train` of its own recorded in the runs folder, N at a time, then the mean ±
//! standard deviation of each setting over its seeds. Which points are done is read from
//! the runs folder ([`bitsmnist_core::runs::sweep`]), so the same command started again
//! after a kill, or on another machine sharing the folder, runs only what is left.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use bitsmnist_core::runs::RunStore;
use bitsmnist_core::runs::sweep::{self, Axis, Point, PointState, Seeds, Sweep};
use clap::CommandFactory;

/// Arguments of `bitsmnist sweep`.
#[derive(clap::Args)]
pub struct Args {
    /// An axis of the grid: a train option without its dashes and its values,
    /// `NAME=V1,V2,...` (repeat for more axes; every combination runs).
    #[arg(long = "grid", value_name = "NAME=V1,V2", required = true)]
    grid: Vec<Axis>,
    /// The seeds every combination runs with: `FIRST..LAST` or `S1,S2,...`.
    #[arg(long, value_name = "1..5", default_value = "1")]
    seeds: Seeds,
    /// Points run at once (each with its share of the cores and of the memory, unless
    /// --threads or --memory-limit is given).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,
    /// The sweep's name, which its runs are tagged with (default: one made from the grid,
    /// the seeds and the train options, so that the same command finds its runs again).
    #[arg(long)]
    name: Option<String>,
    /// The runs folder (default: $BITSMNIST_RUNS_DIR, else the user's data folder).
    #[arg(long, value_name = "DIR")]
    runs: Option<PathBuf>,
    /// Options every point's `bitsmnist train` takes (`--task digits --generations 200`).
    #[arg(
        value_name = "TRAIN OPTIONS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    train: Vec<String>,
}

/// Train options a sweep sets itself, or that would make its points write over each other.
const OWN: [&str; 13] = [
    "seed",
    "out",
    "resume",
    "init",
    "continue",
    "runs",
    "no-record",
    "label",
    "tag",
    "json",
    "quiet",
    "checkpoint-every",
    "model-only",
];

/// Runs `bitsmnist sweep`.
pub fn run(mut args: Args) -> Result<std::process::ExitCode> {
    // `--json` is the sweep's own wherever it is written: after the grid, the train options
    // take in what follows.
    if let Some(i) = args.train.iter().position(|a| a == "--json") {
        args.train.remove(i);
        crate::JSON_OUTPUT.store(true, Ordering::Relaxed);
    }
    let sweep = Sweep::new(args.grid.clone(), args.seeds.0.clone()).map_err(usage)?;
    check_options(&args)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| sweep.default_name(&args.train.join(" ")));
    if name.is_empty() || name.contains(char::is_whitespace) {
        crate::errors::usage!("--name {name:?}: a name without spaces");
    }
    let dir = crate::runs::runs_dir(args.runs.clone())?;
    let store = RunStore::open(&dir)?;
    let total = sweep.points().len();
    let given = |flag: &str| {
        args.train
            .iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    // Points at once share the cores and the memory: each gets its part, unless the train
    // options say otherwise, and checks its own estimate against it before it starts.
    let threads = (!given("--threads"))
        .then(|| (rayon::current_num_threads() / usize::from(args.jobs)).max(1));
    let memory = (!given("--memory-limit"))
        .then(bitsmnist_core::memory::machine_available)
        .flatten()
        .map(|bytes| (bytes / u64::from(args.jobs)).max(1));

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("listening for signals")?;
    }

    let states = sweep::plan(&store, &name, &sweep)?;
    let done = states
        .iter()
        .filter(|(_, s)| matches!(s, PointState::Done(_)))
        .count();
    note(format_args!(
        "sweep {name}: {total} points ({} settings x {} seeds), {done} done, in {}",
        total / args.seeds.0.len(),
        args.seeds.0.len(),
        dir.display()
    ));
    let mut queue: VecDeque<(Point, PointState)> = states
        .into_iter()
        .filter(|(_, s)| !matches!(s, PointState::Done(_)))
        .collect();
    let mut running: Vec<(Point, Child)> = Vec::new();
    let mut failed = 0;
    let mut finished = done;
    // Points another process runs now: waited for, not started again.
    let mut elsewhere: Vec<Point> = Vec::new();
    loop {
        while !stop.load(Ordering::Relaxed)
            && running.len() < usize::from(args.jobs)
            && let Some((point, state)) = queue.pop_front()
        {
            let mut cmd = Command::new(std::env::current_exe().context("finding this program")?);
            match &state {
                PointState::Running(_) => {
                    elsewhere.push(point);
                    continue;
                }
                PointState::Continue(id) => {
                    cmd.args(["train", "--continue", id.as_str()]);
                }
                _ => {
                    cmd.arg("train").args(&args.train);
                    for (k, v) in &point.settings {
                        cmd.arg(format!("--{k}")).arg(v);
                    }
                    cmd.args(["--seed", &point.seed.to_string()])
                        .args(["--tag", &sweep::sweep_tag(&name), "--tag", &point.tag()])
                        .args(["--label", &format!("{name}: {}", point.key())]);
                }
            }
            cmd.arg("--runs").arg(&dir).args(["--quiet", "--json"]);
            if let Some(t) = threads {
                cmd.args(["--threads", &t.to_string()]);
            }
            if let Some(m) = memory {
                cmd.args(["--memory-limit", &m.to_string()]);
            }
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            die_with_parent(&mut cmd);
            let what = match state {
                PointState::Continue(id) => format!("continues run {id}"),
                _ => "starts".to_string(),
            };
            note(format_args!(
                "[{}/{total}] {} {what}",
                finished + running.len() + 1,
                point.key()
            ));
            running.push((point, cmd.spawn().context("starting bitsmnist train")?));
        }
        if running.is_empty() && (queue.is_empty() || stop.load(Ordering::Relaxed)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        let mut i = 0;
        while i < running.len() {
            if running[i].1.try_wait()?.is_none() {
                if stop.load(Ordering::Relaxed) {
                    // Passed on: each point saves and records itself as stopped.
                    let _ = Command::new("kill")
                        .args(["-TERM", &running[i].1.id().to_string()])
                        .status();
                }
                i += 1;
                continue;
            }
            let (point, child) = running.swap_remove(i);
            let out = child.wait_with_output()?;
            let report: Option<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .find(|v: &serde_json::Value| v["type"] == "report");
            match (out.status.success(), report) {
                (true, Some(r)) => {
                    finished += 1;
                    note(format_args!(
                        "[{finished}/{total}] {}: {:.2}% test accuracy, {:.1} s (run {})",
                        point.key(),
                        100.0 * r["test"]["accuracy"].as_f64().unwrap_or(f64::NAN),
                        r["seconds"].as_f64().unwrap_or(f64::NAN),
                        r["run"].as_str().unwrap_or("?")
                    ));
                    crate::emit(
                        "sweep_point",
                        &PointDone {
                            point: PointJson(&point),
                            report: &r,
                        },
                    )?;
                }
                _ if stop.load(Ordering::Relaxed) => {}
                _ => {
                    failed += 1;
                    note(format_args!(
                        "{} failed: {}",
                        point.key(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
            }
        }
    }
    // Points another process ran: their results, once it finished them.
    for point in elsewhere {
        note(format_args!(
            "{} is being run by another process",
            point.key()
        ));
    }
    if stop.load(Ordering::Relaxed) {
        note(format_args!(
            "sweep {name} stopped; the same command continues it"
        ));
        return Ok(std::process::ExitCode::from(crate::errors::INTERRUPTED));
    }
    print_summary(&store, &name, &sweep)?;
    Ok(if failed > 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// A point's run, as `--json` prints it when it ends.
#[derive(serde::Serialize)]
struct PointDone<'a> {
    point: PointJson<'a>,
    report: &'a serde_json::Value,
}

/// A point as a JSON object: its settings and its seed.
struct PointJson<'a>(&'a Point);

impl serde::Serialize for PointJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.settings.len() + 1))?;
        for (k, v) in &self.0.settings {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("seed", &self.0.seed)?;
        m.end()
    }
}

fn print_summary(store: &RunStore, name: &str, sweep: &Sweep) -> Result<()> {
    let rows = sweep::summary(store, name, sweep)?;
    let mut table = vec![vec![
        "setting".to_string(),
        "runs".into(),
        "test accuracy".into(),
        "train accuracy".into(),
        "time".into(),
    ]];
    for r in &rows {
        table.push(vec![
            r.setting.clone(),
            format!("{}/{}", r.finished, r.points),
            r.test.map_or("-".into(), |m| m.to_string()),
            r.train.map_or("-".into(), |m| m.to_string()),
            r.seconds
                .map_or("-".into(), |m| format!("{:.1} ± {:.1} s", m.mean, m.sd)),
        ]);
    }
    out!("sweep {name}: mean ± standard deviation over the seeds");
    crate::runs::print_table(&table);
    #[derive(serde::Serialize)]
    struct Setting<'a> {
        sweep: &'a str,
        setting: &'a str,
        runs: usize,
        finished: usize,
        test_mean: Option<f64>,
        test_sd: Option<f64>,
        train_mean: Option<f64>,
        train_sd: Option<f64>,
        seconds_mean: Option<f64>,
    }
    for r in &rows {
        crate::emit(
            "sweep_setting",
            &Setting {
                sweep: name,
                setting: &r.setting,
                runs: r.points,
                finished: r.finished,
                test_mean: r.test.map(|m| m.mean),
                test_sd: r.test.map(|m| m.sd),
                train_mean: r.train.map(|m| m.mean),
                train_sd: r.train.map(|m| m.sd),
                seconds_mean: r.seconds.map(|m| m.mean),
            },
        )?;
    }
    Ok(())
}

/// The grid's names and the train options must be `train`'s, and none the sweep sets itself;
/// every point's command line must parse, so that a typo fails now, not after hours of the
/// points before it.
fn check_options(args: &Args) -> Result<()> {
    let cli = crate::Cli::command();
    let train = cli.find_subcommand("train").expect("the train command");
    let longs: Vec<&str> = train.get_arguments().filter_map(|a| a.get_long()).collect();
    for axis in &args.grid {
        if OWN.contains(&axis.name.as_str()) {
            crate::errors::usage!(
                "--grid {}: the sweep sets --{} itself (seeds: --seeds)",
                axis.name,
                axis.name
            );
        }
        if !longs.contains(&axis.name.as_str()) {
            crate::errors::usage!(
                "--grid {}: not an option of bitsmnist train (see bitsmnist train --help)",
                axis.name
            );
        }
    }
    for a in &args.train {
        if let Some(flag) = a.strip_prefix("--") {
            let flag = flag.split('=').next().unwrap_or(flag);
            if OWN.contains(&flag) {
                crate::errors::usage!("--{flag}: the sweep sets it for each point itself");
            }
            if args.grid.iter().any(|g| g.name == flag) {
                crate::errors::usage!("--{flag}: also an axis of the grid");
            }
        }
    }
    // Every setting's line (the seeds change nothing clap checks).
    let sweep = Sweep::new(args.grid.clone(), vec![0]).map_err(usage)?;
    for point in sweep.points() {
        let mut line = vec!["bitsmnist".to_string(), "train".into()];
        line.extend(args.train.iter().cloned());
        for (k, v) in &point.settings {
            line.push(format!("--{k}"));
            line.push(v.clone());
        }
        if let Err(e) = <crate::Cli as clap::Parser>::try_parse_from(&line) {
            crate::errors::usage!(
                "the point {} would be refused by bitsmnist train: {}",
                point.setting_key(),
                e.to_string().lines().next().unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(crate::errors::Usage(e.to_string()))
}

/// Progress on stderr, in both output modes.
fn note(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{args}");
}

/// A point outlives no sweep: when the sweep dies (even by SIGKILL), the kernel sends its
/// points SIGTERM, and each saves and records itself as stopped, to be continued.
fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt as _;
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}
