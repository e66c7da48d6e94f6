//! In-process scoring speed: `Model::score_frame` on a frame already in memory, on one core
//! (a one-thread rayon pool) and on all cores. Scores are checked against the one-applicant
//! path (`Model::score`) on a sample of rows before any timing, so a fast wrong scorer fails.
//!
//! ```sh
//! cargo run --release -p training --example scorer_speed -- MODEL.json DATA.csv TARGET [REPEAT]
//! ```
//!
//! DATA.csv is read like a training file (it needs the target column); its rows are repeated
//! REPEAT times (default 1) so the timed frame can be larger than the file.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use training::csv_input::{read_training_csv, CsvOptions};
use training::{ColumnData, Model, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: scorer_speed MODEL.json DATA.csv TARGET [REPEAT]".into());
    }
    let model = Model::load(&args[1])?;
    let repeat: usize = args.get(4).map_or(Ok(1), |r| r.parse())?;
    // Read every column with the kind the model gives it.
    let mut categorical = Vec::new();
    let mut numeric = Vec::new();
    for c in &model.scorecard().characteristics {
        match c.kind {
            training::binning::Kind::Categorical => categorical.push(c.name.clone()),
            training::binning::Kind::Numeric => numeric.push(c.name.clone()),
        }
    }
    let options = CsvOptions {
        target: args[3].clone(),
        bad_value: "1".into(),
        categorical,
        numeric,
        exclude: Vec::new(),
    };
    let once = read_training_csv(Path::new(&args[2]), &options)?;
    let rows: Vec<usize> = (0..repeat).flat_map(|_| 0..once.n_rows()).collect();
    let frame = once.take(&rows);
    let n = frame.n_rows();

    // Correctness first: bulk scores equal one-applicant scores.
    let bulk = model.score_frame(&frame)?;
    for i in (0..n).step_by((n / 997).max(1)) {
        let applicant: HashMap<String, Value> = frame
            .columns
            .iter()
            .map(|c| {
                let v = match &c.data {
                    ColumnData::Numeric(v) if v[i].is_nan() => Value::Missing,
                    ColumnData::Numeric(v) => Value::Number(v[i]),
                    ColumnData::Categorical(d) => d
                        .get(i)
                        .map_or(Value::Missing, |s| Value::Category(s.into())),
                };
                (c.name.clone(), v)
            })
            .collect();
        let one = model.score(&applicant)?.score;
        if one != bulk[i] {
            return Err(format!("row {i}: bulk score {} but single score {one}", bulk[i]).into());
        }
    }

    let time = |threads: usize| -> Result<f64, Box<dyn std::error::Error>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let t = Instant::now();
            let s = pool.install(|| model.score_frame(&frame))?;
            let secs = t.elapsed().as_secs_f64();
            std::hint::black_box(s);
            best = best.min(secs);
        }
        Ok(best)
    };
    let one = time(1)?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let all = time(cores)?;

    // The one-applicant serving call (score, PD, grade and up to four reasons with their
    // texts), one core, on the first 200,000 rows: values looked up by name through a closure.
    let m = n.min(200_000);
    let index: HashMap<&str, usize> = frame
        .columns
        .iter()
        .enumerate()
        .map(|(k, c)| (c.name.as_str(), k))
        .collect();
    let t = Instant::now();
    let mut checksum = 0i64;
    for i in 0..m {
        let lookup = |name: &str| -> Option<Value> {
            let c = &frame.columns[*index.get(name)?];
            Some(match &c.data {
                ColumnData::Numeric(v) if v[i].is_nan() => Value::Missing,
                ColumnData::Numeric(v) => Value::Number(v[i]),
                ColumnData::Categorical(d) => d
                    .get(i)
                    .map_or(Value::Missing, |s| Value::Category(s.into())),
            })
        };
        let out = model.score(&lookup)?;
        checksum += i64::from(out.score) + out.reasons.len() as i64;
    }
    let single = t.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    println!(
        "{{\"rows\":{n},\"characteristics\":{},\"score_frame_one_core_seconds\":{one:.4},\"score_frame_one_core_rows_per_s\":{:.0},\"threads\":{cores},\"score_frame_all_cores_seconds\":{all:.4},\"score_frame_all_cores_rows_per_s\":{:.0},\"single_applicant_rows\":{m},\"single_applicant_one_core_rows_per_s\":{:.0}}}",
        model.scorecard().characteristics.len(),
        n as f64 / one,
        n as f64 / all,
        m as f64 / single
    );
    Ok(())
}
