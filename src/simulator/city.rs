//! Generates a whole city into a directory: enterprises and households in parallel chunks (each
//! entity on its own random stream), then the loans of both in disbursement order, `truth.csv`
//! and, with `--inject-errors`, the `injected-errors.csv` sidecar.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use super::calendar::{push_month, Month};
use super::households::{self, Village};
use super::loans::Loan;
use super::rng::{stream, Purpose};
use super::stats::{product_stats, ProductStats, Shares};
use super::tables::{self, Out};
use super::{
    enterprise_life, enterprises, farm_life, inject, parallel, public_records, rows, Config, Window,
};
use crate::domain::{FeedKind, Product, ResidentId};

/// Entities per unit of parallel work. Part of the output's definition: the injection streams
/// are keyed by chunk, so changing it changes which rows `--inject-errors` breaks.
const CHUNK: u64 = 256;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub seed: u64,
    pub enterprises: u64,
    pub households: u64,
    pub rows: BTreeMap<&'static str, u64>,
    pub sme: ProductStats,
    pub farmer: ProductStats,
    pub shares: Shares,
    /// Month → (sme loans, farmer loans) disbursed.
    pub loans_by_month: BTreeMap<String, (u64, u64)>,
    /// Year → (villages with ≥ 20 assessed households, of which credit villages).
    pub credit_villages: BTreeMap<i32, (u64, u64)>,
    pub injected_errors: u64,
}

struct Files {
    writers: Vec<BufWriter<fs::File>>,
    lines: [u64; FeedKind::ALL.len()],
    injected: Vec<(FeedKind, u64, &'static str, &'static str)>,
}

impl Files {
    fn create(dir: &Path) -> anyhow::Result<Files> {
        let mut writers = Vec::new();
        for f in FeedKind::ALL {
            let path = dir.join(f.file_name());
            let file =
                fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            writeln!(w, "{}", tables::header(f))?;
            writers.push(w);
        }
        Ok(Files {
            writers,
            lines: [0; FeedKind::ALL.len()],
            injected: Vec::new(),
        })
    }

    /// Appends a chunk's rows; injected rows get their file line (the header is line 1).
    fn append(&mut self, out: Out) -> anyhow::Result<()> {
        for inj in &out.injected {
            let line = 1 + self.lines[tables::slot(inj.file)] + inj.row;
            self.injected.push((inj.file, line, inj.column, inj.reason));
        }
        for f in FeedKind::ALL {
            let rows = out.rows(f);
            self.writers[tables::slot(f)].write_all(&rows.buf)?;
            self.lines[tables::slot(f)] += rows.count;
        }
        Ok(())
    }
}

fn injector(
    config: &Config,
    purpose: Purpose,
    index: u64,
) -> Option<(f64, rand_chacha::ChaCha8Rng)> {
    (config.inject_errors > 0.0)
        .then(|| (config.inject_errors, stream(config.seed, purpose, index)))
}

fn chunks(n: u64) -> usize {
    n.div_ceil(CHUNK) as usize
}

fn chunk_range(i: usize, n: u64) -> std::ops::Range<u64> {
    let start = i as u64 * CHUNK;
    start..(start + CHUNK).min(n)
}

fn enterprise_chunk(config: &Config, w: &Window, i: usize) -> (Out, Vec<Loan>, Shares) {
    let mut out = Out::new(injector(config, Purpose::InjectEnterprise, i as u64));
    let (mut loans, mut shares) = (Vec::new(), Shares::default());
    for idx in chunk_range(i, config.enterprises) {
        let mut rng = stream(config.seed, Purpose::Enterprise, idx);
        let e = enterprises::draw(&mut rng, idx, config.seed, w.sim_start, w.end);
        let life = enterprise_life::live(&mut rng, &e, idx, w, &mut out);
        rows::enterprise(&mut out, &e, life.closed_on);
        let mut final_by_year = BTreeMap::new();
        for g in &life.grades {
            rows::tax_grade(&mut out, &e.uscc, g);
            final_by_year.insert(g.year, g.grade.grade);
            shares.direct_d_rows += g.grade.direct_d as u64;
        }
        for g in final_by_year.values() {
            *shares.tax_grades.entry(g.as_str().to_owned()).or_default() += 1;
        }
        let broken = inject::broken_uscc(&e.uscc);
        write_records(
            &mut out,
            &mut shares,
            &life.records,
            w,
            &format!("PR-E{idx:07}"),
            "enterprise",
            &e.uscc,
            &broken,
        );
        loans.extend(life.loans);
    }
    (out, loans, shares)
}

#[allow(clippy::too_many_arguments)]
fn write_records(
    out: &mut Out,
    shares: &mut Shares,
    records: &[public_records::Record],
    w: &Window,
    prefix: &str,
    subject_type: &str,
    subject: &str,
    broken: &str,
) {
    let listed: Vec<_> = records
        .iter()
        .filter(|r| r.listed_at <= w.end.last_day())
        .collect();
    for (n, r) in listed.into_iter().enumerate() {
        public_records::write(
            out,
            r,
            &format!("{prefix}-{:02}", n + 1),
            subject_type,
            subject,
            broken,
        );
        let kind = match r.kind {
            public_records::Kind::DishonestDebtor => "dishonest_debtor",
            public_records::Kind::AdminPenalty => "admin_penalty",
            public_records::Kind::RedList => "red_list",
        };
        *shares.public_records.entry(kind.to_owned()).or_default() += 1;
    }
}

fn household_chunk(
    config: &Config,
    w: &Window,
    villages: &[Village],
    ids: &[(usize, ResidentId)],
    i: usize,
) -> (Out, Vec<Loan>, Shares) {
    let mut out = Out::new(injector(config, Purpose::InjectHousehold, i as u64));
    let (mut loans, mut shares) = (Vec::new(), Shares::default());
    let as_of = w.sim_start.first_day();
    for idx in chunk_range(i, config.households) {
        let mut rng = stream(config.seed, Purpose::Household, idx);
        let (village, head) = ids[idx as usize].clone();
        let mut h = households::draw(&mut rng, head, village, villages, as_of);
        let life = farm_life::live(&mut rng, &mut h, idx, w);
        rows::household(&mut out, &h, &villages[village]);
        for a in &life.assessments {
            rows::assessment(&mut out, &h, a);
            *shares
                .farmer_grades
                .entry(a.grade.as_str().to_owned())
                .or_default() += 1;
            let v = shares.villages.entry((village, a.year)).or_default();
            v.0 += 1;
            v.1 += a.grade.is_credit_household() as u64;
        }
        let broken = inject::broken_resident_id(&h.head);
        let prefix = format!("PR-P{idx:07}");
        write_records(
            &mut out,
            &mut shares,
            &life.records,
            w,
            &prefix,
            "person",
            h.head.as_str(),
            &broken,
        );
        loans.extend(life.loans);
    }
    (out, loans, shares)
}

/// Writes the city into `dir` (created if missing) and returns its summary.
pub fn generate(config: &Config, dir: &Path) -> anyhow::Result<Summary> {
    config.validate().map_err(anyhow::Error::msg)?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let w = config.window();
    let mut files = Files::create(dir)?;
    let (mut loans, mut shares) = (Vec::new(), Shares::default());
    parallel::ordered(
        chunks(config.enterprises),
        |i| enterprise_chunk(config, &w, i),
        |(out, l, s)| {
            loans.extend(l);
            shares.merge(s);
            files.append(out)
        },
    )?;
    let villages = households::villages(config.seed);
    let ids = households::identities(
        config.seed,
        config.households,
        &villages,
        w.sim_start.first_day(),
    );
    parallel::ordered(
        chunks(config.households),
        |i| household_chunk(config, &w, &villages, &ids, i),
        |(out, l, s)| {
            loans.extend(l);
            shares.merge(s);
            files.append(out)
        },
    )?;
    loans.sort_by(|a, b| {
        (a.disbursed_on, a.product, a.entity, a.seq).cmp(&(
            b.disbursed_on,
            b.product,
            b.entity,
            b.seq,
        ))
    });
    write_loans(config, dir, &loans, &mut files)?;
    for wr in &mut files.writers {
        wr.flush()?;
    }
    write_injected(dir, &files.injected, config.inject_errors > 0.0)?;
    let mut loans_by_month: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for l in &loans {
        let mut key = Vec::new();
        push_month(&mut key, Month::of(l.disbursed_on));
        let e = loans_by_month
            .entry(String::from_utf8(key).expect("ASCII"))
            .or_default();
        match l.product {
            Product::Sme => e.0 += 1,
            Product::Farmer => e.1 += 1,
        }
    }
    Ok(Summary {
        seed: config.seed,
        enterprises: config.enterprises,
        households: config.households,
        rows: FeedKind::ALL
            .iter()
            .map(|f| (f.file_name(), files.lines[tables::slot(*f)]))
            .collect(),
        sme: product_stats(loans.iter().filter(|l| l.product == Product::Sme)),
        farmer: product_stats(loans.iter().filter(|l| l.product == Product::Farmer)),
        credit_villages: shares.credit_villages(),
        shares,
        loans_by_month,
        injected_errors: files.injected.len() as u64,
    })
}

fn loan_id(n: usize) -> String {
    format!("LN{:08}", n + 1)
}

fn write_loans(
    config: &Config,
    dir: &Path,
    loans: &[Loan],
    files: &mut Files,
) -> anyhow::Result<()> {
    let mut out = Out::new(injector(config, Purpose::InjectLoans, 0));
    let mut truth = Vec::with_capacity(loans.len() * 33);
    // observable_pd: the PD from the observable terms alone, the fair ceiling of a model
    // (`retrain --truth` reports both on the out-of-time loans).
    truth.extend_from_slice(b"loan_id,true_pd,observable_pd\n");
    for (n, l) in loans.iter().enumerate() {
        let id = loan_id(n);
        rows::loan(&mut out, &id, l, || match l.product {
            Product::Sme => inject::broken_uscc(&l.subject),
            Product::Farmer => {
                // Generated ids are valid by construction; no "today" bounds them here.
                inject::broken_resident_id(
                    &ResidentId::parse_as_of(&l.subject, chrono::NaiveDate::MAX)
                        .expect("generated valid"),
                )
            }
        });
        truth.extend_from_slice(
            format!("{id},{:.6},{:.6}\n", l.true_pd, l.observable_pd).as_bytes(),
        );
    }
    files.append(out)?;
    let path = dir.join("truth.csv");
    fs::write(&path, truth).with_context(|| format!("writing {}", path.display()))
}

/// The sidecar listing every broken cell (file, line, column, reason). Without injection a stale
/// sidecar from an earlier run is removed, so the directory never claims errors it lacks.
fn write_injected(
    dir: &Path,
    injected: &[(FeedKind, u64, &str, &str)],
    enabled: bool,
) -> anyhow::Result<()> {
    let path = dir.join("injected-errors.csv");
    if !enabled {
        if path.exists() {
            fs::remove_file(&path)?;
        }
        return Ok(());
    }
    let mut w = csv::Writer::from_path(&path)?;
    w.write_record(["file", "line", "column", "reason"])?;
    let mut sorted = injected.to_vec();
    sorted.sort_by_key(|(f, line, _, _)| (*f, *line));
    for (f, line, column, reason) in sorted {
        w.write_record([f.file_name(), &line.to_string(), column, reason])?;
    }
    w.flush()?;
    Ok(())
}
