//! Where "now" comes from. Every path that needs the date or time asks the application's clock,
//! so tests pin it (a suite that reads the wall clock passes or fails by the day it runs) and a
//! replay or a quarter boundary can be driven without waiting for it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

/// The real time: what `serve`, `demo` and the CLI use.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved: for tests, and for replaying a day.
#[derive(Debug)]
pub struct ManualClock {
    micros: AtomicI64,
}

impl ManualClock {
    pub fn at(t: DateTime<Utc>) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            micros: AtomicI64::new(t.timestamp_micros()),
        })
    }

    pub fn set(&self, t: DateTime<Utc>) {
        self.micros.store(t.timestamp_micros(), Ordering::SeqCst);
    }

    pub fn advance(&self, by: chrono::Duration) {
        let step = by
            .num_microseconds()
            .expect("a step of under 292,000 years");
        self.micros.fetch_add(step, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst))
            .expect("a clock set from a valid time stays valid")
    }
}

pub type SharedClock = Arc<dyn Clock>;

pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The suite failed on 2026-12-02 because one test dated its data from the wall clock. Tests
    /// take the app's clock (`common::test_now()`) or a fixed date instead.
    #[test]
    fn no_integration_test_reads_the_wall_clock() {
        fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    rust_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        rust_files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
            &mut files,
        );
        assert!(!files.is_empty());
        let forbidden = ["Utc::now", "Local::now", "SystemTime::now"];
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                if let Some(f) = forbidden.iter().find(|f| line.contains(*f)) {
                    panic!("{}:{}: reads the wall clock ({f})", file.display(), n + 1);
                }
            }
        }
    }

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let t: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let c = ManualClock::at(t);
        assert_eq!(c.now(), t);
        c.advance(chrono::Duration::days(35));
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2027, 1, 2).unwrap());
        c.set(t);
        assert_eq!(c.now(), t);
    }
}
