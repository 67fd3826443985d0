//! Sweeps: a grid of settings times a list of seeds, each point one recorded run, found again
//! in the runs folder by its tags, so that a sweep started again (after a kill, on another
//! machine sharing the folder) runs only what is not done, and sums up as mean ± standard
//! deviation per setting.
//!
//! A sweep is named (`Sweep::name`); each of its runs carries the tags `sweep:NAME` and
//! `point:KEY`, where the key names the point's settings and seed (`hidden=64 method=climb
//! seed=1`). What runs a point is the front end's: the command line starts `bitsmnist train`
//! with the point's settings as options, N at a time.
//!
//! ```
//! use bitsmnist_core::runs::sweep::Sweep;
//! let sweep = Sweep::new(
//!     vec!["hidden=64,256".parse().unwrap(), "method=climb,gradient".parse().unwrap()],
//!     "1..3".parse::<bitsmnist_core::runs::sweep::Seeds>().unwrap().0,
//! )
//! .unwrap();
//! let points = sweep.points();
//! assert_eq!(points.len(), 2 * 2 * 3);
//! assert_eq!(points[0].key(), "hidden=64 method=climb seed=1");
//! ```

use std::fmt;
use std::str::FromStr;

use crate::runs::{RunId, RunListing, RunStatus, RunStore, RunStoreError};
use crate::util::ParseError;

/// At most this many points in one sweep: a grid typed by hand that multiplies out to more
/// is a mistake, not a plan.
pub const MAX_POINTS: usize = 10_000;

/// One axis of the grid: a setting's name and the values it takes (`hidden=64,256,1024`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// The setting: a `bitsmnist train` option without its dashes (`hidden`, `method`).
    pub name: String,
    /// Its values, in order.
    pub values: Vec<String>,
}

impl FromStr for Axis {
    type Err = ParseError;

    /// `NAME=V1,V2,...`; a value is anything without a comma or a space (`conv32x5;pool4`
    /// is not one value: give `arch` values as separate sweeps).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |hint: &str| ParseError::new("grid axis", s, hint.to_string());
        let (name, values) = s
            .split_once('=')
            .ok_or_else(|| bad("write NAME=V1,V2 (e.g. hidden=64,256)"))?;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(
                "the name is a train option without its dashes: hidden, method, lr",
            ));
        }
        let values: Vec<String> = values.split(',').map(str::to_string).collect();
        if values
            .iter()
            .any(|v| v.is_empty() || v.contains(char::is_whitespace))
        {
            return Err(bad(
                "values are separated by commas, none empty or with spaces",
            ));
        }
        Ok(Axis {
            name: name.to_string(),
            values,
        })
    }
}

/// The seeds of a sweep: `1..5` (both ends included) or `1,2,7`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seeds(pub Vec<u64>);

impl FromStr for Seeds {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseError::new("seeds", s, "write FIRST..LAST (e.g. 1..5) or a list: 1,2,7");
        let seeds: Vec<u64> = match s.split_once("..") {
            Some((a, b)) => {
                let (a, b): (u64, u64) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if b < a || b - a >= MAX_POINTS as u64 {
                    return Err(bad());
                }
                (a..=b).collect()
            }
            None => s
                .split(',')
                .map(|x| x.parse().map_err(|_| bad()))
                .collect::<Result<_, _>>()?,
        };
        Ok(Seeds(seeds))
    }
}

/// Why a sweep cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SweepError {
    /// Two axes name the same setting.
    #[error("the grid names {0} twice")]
    Repeated(String),
    /// An axis names the seed, which a sweep takes apart from the grid.
    #[error(
        "the grid names the seed: give the seeds with --seeds (the library: Sweep::new's seeds)"
    )]
    Seed,
    /// The grid and seeds multiply out to no point or too many.
    #[error("the sweep has {0} points; it may have 1 to {MAX_POINTS}")]
    Size(usize),
}

/// A grid of settings and a list of seeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sweep {
    axes: Vec<Axis>,
    seeds: Vec<u64>,
}

/// One point of a sweep: a value of each axis, and a seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    /// (setting, value), in the grid's order.
    pub settings: Vec<(String, String)>,
    /// The seed.
    pub seed: u64,
}

impl Point {
    /// The point's key: its settings and seed as `name=value` words (`hidden=64 seed=1`).
    pub fn key(&self) -> String {
        let mut words: Vec<String> = self
            .settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        words.push(format!("seed={}", self.seed));
        words.join(" ")
    }

    /// The key of the setting it shares with the other seeds (`hidden=64 method=climb`).
    pub fn setting_key(&self) -> String {
        self.settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The tag its run carries.
    pub fn tag(&self) -> String {
        format!("point:{}", self.key())
    }
}

impl Sweep {
    /// A sweep over every combination of the axes' values, each with every seed.
    pub fn new(axes: Vec<Axis>, seeds: Vec<u64>) -> Result<Self, SweepError> {
        for (i, a) in axes.iter().enumerate() {
            if a.name == "seed" {
                return Err(SweepError::Seed);
            }
            if axes[..i].iter().any(|b| b.name == a.name) {
                return Err(SweepError::Repeated(a.name.clone()));
            }
        }
        let n = axes
            .iter()
            .try_fold(seeds.len(), |n, a| n.checked_mul(a.values.len()))
            .unwrap_or(usize::MAX);
        if n == 0 || n > MAX_POINTS {
            return Err(SweepError::Size(n));
        }
        Ok(Self { axes, seeds })
    }

    /// The axes.
    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// The points: the grid's combinations in order (the last axis fastest), each with the
    /// seeds in order.
    pub fn points(&self) -> Vec<Point> {
        let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for axis in &self.axes {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    axis.values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((axis.name.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        combos
            .into_iter()
            .flat_map(|settings| {
                self.seeds.iter().map(move |&seed| Point {
                    settings: settings.clone(),
                    seed,
                })
            })
            .collect()
    }

    /// A name for the sweep that the same grid, seeds and `base` (the settings every point
    /// shares, e.g. the command line's other options) give again: the CRC-32 of them all.
    pub fn default_name(&self, base: &str) -> String {
        let mut h = crc32fast::Hasher::new();
        for a in &self.axes {
            h.update(a.name.as_bytes());
            h.update(b"=");
            h.update(a.values.join(",").as_bytes());
            h.update(b";");
        }
        h.update(format!("{:?}", self.seeds).as_bytes());
        h.update(base.as_bytes());
        format!("sweep-{:08x}", h.finalize())
    }
}

/// The tag every run of sweep `name` carries.
pub fn sweep_tag(name: &str) -> String {
    format!("sweep:{name}")
}

/// Where each point of a sweep stands in the runs folder.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PointState {
    /// No run yet.
    ToDo,
    /// Its run finished.
    Done(RunId),
    /// Its run is being written by a live process (this machine's or another's).
    Running(RunId),
    /// Its run was interrupted or stopped: continue it.
    Continue(RunId),
}

/// Each point of `sweep` named `name` with its state in `store`: a point's run is the one
/// tagged with the sweep and the point (the newest, should there be more: a damaged record
/// is not one).
pub fn plan(
    store: &RunStore,
    name: &str,
    sweep: &Sweep,
) -> Result<Vec<(Point, PointState)>, RunStoreError> {
    let runs = tagged(store, name)?;
    Ok(sweep
        .points()
        .into_iter()
        .map(|p| {
            let tag = p.tag();
            let state = runs
                .iter()
                .rev()
                .find(|r| r.summary.as_ref().is_some_and(|s| s.tags.contains(&tag)))
                .map_or(PointState::ToDo, |r| match r.status {
                    RunStatus::Finished => PointState::Done(r.id.clone()),
                    RunStatus::Running | RunStatus::Paused => PointState::Running(r.id.clone()),
                    _ => PointState::Continue(r.id.clone()),
                });
            (p, state)
        })
        .collect())
}

fn tagged(store: &RunStore, name: &str) -> Result<Vec<RunListing>, RunStoreError> {
    let tag = sweep_tag(name);
    Ok(store
        .list()?
        .into_iter()
        .filter(|r| r.summary.as_ref().is_some_and(|s| s.tags.contains(&tag)))
        .collect())
}

/// Mean and sample standard deviation (0 for one value).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanSd {
    /// The mean.
    pub mean: f64,
    /// The sample standard deviation.
    pub sd: f64,
}

impl MeanSd {
    /// Of `xs`; `None` for none.
    pub fn of(xs: &[f64]) -> Option<Self> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Self { mean, sd })
    }
}

impl fmt::Display for MeanSd {
    /// As a percentage of a 0-to-1 figure: `96.47% ± 0.12`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}% ± {:.2}", 100.0 * self.mean, 100.0 * self.sd)
    }
}

/// One setting of a sweep over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingSummary {
    /// The setting (`hidden=64 method=climb`).
    pub setting: String,
    /// Its points, and how many of them finished.
    pub points: usize,
    /// Finished runs.
    pub finished: usize,
    /// Test accuracy over the finished runs.
    pub test: Option<MeanSd>,
    /// Training accuracy over the finished runs.
    pub train: Option<MeanSd>,
    /// Training seconds over the finished runs.
    pub seconds: Option<MeanSd>,
}

/// The sweep's summary: each setting's figures over its seeds, in the grid's order.
pub fn summary(
    store: &RunStore,
    name: &str,
    sweep: &Sweep,
) -> Result<Vec<SettingSummary>, RunStoreError> {
    let states = plan(store, name, sweep)?;
    let mut out: Vec<SettingSummary> = Vec::new();
    let mut figures: Vec<[Vec<f64>; 3]> = Vec::new();
    for (point, state) in &states {
        let setting = point.setting_key();
        let i = match out.iter().position(|s| s.setting == setting) {
            Some(i) => i,
            None => {
                out.push(SettingSummary {
                    setting,
                    points: 0,
                    finished: 0,
                    test: None,
                    train: None,
                    seconds: None,
                });
                figures.push(Default::default());
                out.len() - 1
            }
        };
        out[i].points += 1;
        if let PointState::Done(id) = state
            && let Ok(s) = store.summary(id)
            && let Some(r) = &s.result
        {
            out[i].finished += 1;
            figures[i][0].push(r.test_accuracy);
            figures[i][1].push(r.train_accuracy);
            figures[i][2].push(s.seconds);
        }
    }
    for (s, [test, train, secs]) in out.iter_mut().zip(figures) {
        s.test = MeanSd::of(&test);
        s.train = MeanSd::of(&train);
        s.seconds = MeanSd::of(&secs);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_multiply_out_in_order_and_bad_ones_are_refused() {
        let s = Sweep::new(
            vec!["a=1,2".parse().unwrap(), "b=x".parse().unwrap()],
            vec![7, 8],
        )
        .unwrap();
        let keys: Vec<String> = s.points().iter().map(Point::key).collect();
        assert_eq!(
            keys,
            [
                "a=1 b=x seed=7",
                "a=1 b=x seed=8",
                "a=2 b=x seed=7",
                "a=2 b=x seed=8"
            ]
        );
        assert_eq!(
            s.default_name("--task digits"),
            s.clone().default_name("--task digits")
        );
        assert_ne!(
            s.default_name("--task digits"),
            s.default_name("--task zero-one")
        );
        for bad in [
            "hidden",
            "=1",
            "Hidden=1",
            "hidden=",
            "hidden=1,,2",
            "a b=1",
        ] {
            assert!(bad.parse::<Axis>().is_err(), "{bad}");
        }
        assert_eq!("1..3".parse::<Seeds>().unwrap().0, [1, 2, 3]);
        assert_eq!("4,2".parse::<Seeds>().unwrap().0, [4, 2]);
        for bad in ["3..1", "1..", "x", "0..100000"] {
            assert!(bad.parse::<Seeds>().is_err(), "{bad}");
        }
        let twice = vec!["a=1".parse().unwrap(), "a=2".parse().unwrap()];
        assert_eq!(
            Sweep::new(twice, vec![1]),
            Err(SweepError::Repeated("a".into()))
        );
        let seed = vec!["seed=1".parse().unwrap()];
        assert_eq!(Sweep::new(seed, vec![1]), Err(SweepError::Seed));
        assert_eq!(Sweep::new(vec![], vec![]), Err(SweepError::Size(0)));
        let big: Vec<Axis> = (0..5)
            .map(|i| format!("a{i}=1,2,3,4,5,6,7,8,9,10").parse().unwrap())
            .collect();
        assert!(matches!(Sweep::new(big, vec![1]), Err(SweepError::Size(_))));
    }

    #[test]
    fn mean_and_sample_deviation() {
        let m = MeanSd::of(&[0.9, 0.92, 0.94]).unwrap();
        assert!((m.mean - 0.92).abs() < 1e-12);
        assert!((m.sd - 0.02).abs() < 1e-12);
        assert_eq!(m.to_string(), "92.00% ± 2.00");
        assert_eq!(MeanSd::of(&[0.5]).unwrap().sd, 0.0);
        assert_eq!(MeanSd::of(&[]), None);
    }
}
