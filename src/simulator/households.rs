//! Farmer households of Zhanjiang: villages under the county codes, household heads with valid
//! resident ids, members, labour, education, land and the local main activities.

use std::collections::HashSet;

use chrono::NaiveDate;
use rand::Rng;

use super::calendar::add_days;
use super::rng::{lognormal, normal, stream, weighted, Purpose};
use crate::domain::ResidentId;

/// County code, villages simulated in it, share of households, activity weights.
struct County {
    code: &'static str,
    villages: u32,
    share: f64,
    activities: &'static [(&'static str, f64)],
}

const COUNTIES: &[County] = &[
    County {
        code: "440802",
        villages: 6,
        share: 1.0,
        activities: &[("vegetables", 4.0), ("migrant_work", 4.0), ("other", 2.0)],
    },
    County {
        code: "440803",
        villages: 6,
        share: 1.0,
        activities: &[("fish", 3.0), ("vegetables", 3.0), ("migrant_work", 4.0)],
    },
    County {
        code: "440804",
        villages: 24,
        share: 6.0,
        activities: &[
            ("shrimp", 4.0),
            ("fish", 3.0),
            ("rice", 2.0),
            ("migrant_work", 2.0),
        ],
    },
    County {
        code: "440811",
        villages: 24,
        share: 6.0,
        activities: &[
            ("vegetables", 3.0),
            ("tropical_fruit", 2.0),
            ("shrimp", 2.0),
            ("migrant_work", 2.0),
        ],
    },
    County {
        code: "440823",
        villages: 60,
        share: 16.0,
        activities: &[
            ("sugarcane", 6.0),
            ("tropical_fruit", 2.0),
            ("livestock", 2.0),
            ("rice", 1.0),
            ("migrant_work", 2.0),
        ],
    },
    County {
        code: "440825",
        villages: 50,
        share: 13.0,
        activities: &[
            ("pineapple", 7.0),
            ("sugarcane", 2.0),
            ("shrimp", 1.5),
            ("migrant_work", 1.5),
        ],
    },
    County {
        code: "440881",
        villages: 70,
        share: 21.0,
        activities: &[
            ("rice", 3.0),
            ("tropical_fruit", 3.0),
            ("livestock", 2.0),
            ("vegetables", 2.0),
            ("migrant_work", 3.0),
        ],
    },
    County {
        code: "440882",
        villages: 70,
        share: 21.0,
        activities: &[
            ("sugarcane", 4.0),
            ("rice", 3.0),
            ("shrimp", 2.0),
            ("fish", 1.0),
            ("migrant_work", 2.0),
        ],
    },
    County {
        code: "440883",
        villages: 40,
        share: 15.0,
        activities: &[
            ("fish", 2.0),
            ("shrimp", 2.0),
            ("rice", 2.0),
            ("other", 1.0),
            ("migrant_work", 3.0),
        ],
    },
];

const NAME_CHARS: &[&str] = &[
    "东", "西", "南", "北", "上", "下", "新", "旧", "塘", "岭", "坡", "港", "湾", "田", "洋", "山",
    "头", "尾", "龙", "凤", "石", "青", "白", "沙", "林", "潭", "水", "后", "前", "安",
];

pub struct Village {
    pub county_code: &'static str,
    /// 12 digits: county, town (3), village committee (3).
    pub code: String,
    pub name: String,
    /// Hidden: the village's shared credit culture (credit villages emerge from it).
    pub effect: f64,
    activities: &'static [(&'static str, f64)],
    share: f64,
}

/// The village table; the same for a seed whatever the number of households.
pub fn villages(seed: u64) -> Vec<Village> {
    let mut rng = stream(seed, Purpose::Villages, 0);
    let mut out = Vec::new();
    for c in COUNTIES {
        for v in 0..c.villages {
            let town = 100 + v / 10 + 1;
            let name = format!(
                "{}{}村",
                NAME_CHARS[rng.gen_range(0..NAME_CHARS.len())],
                NAME_CHARS[rng.gen_range(0..NAME_CHARS.len())]
            );
            out.push(Village {
                county_code: c.code,
                code: format!("{}{town:03}{:03}", c.code, 200 + v % 10 + 1),
                name,
                effect: 0.4 * normal(&mut rng),
                activities: c.activities,
                share: c.share / c.villages as f64,
            });
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Education {
    Primary,
    Junior,
    Senior,
    College,
}

impl Education {
    pub fn as_str(self) -> &'static str {
        match self {
            Education::Primary => "primary",
            Education::Junior => "junior",
            Education::Senior => "senior",
            Education::College => "college",
        }
    }
}

pub struct Household {
    pub head: ResidentId,
    pub members: u32,
    pub labourers: u32,
    pub education: Education,
    pub land_mu: u32,
    pub activity: &'static str,
    /// Hidden credit quality of the household (higher is better), village effect included.
    pub quality: f64,
    /// Hidden: typical annual income in fen.
    pub base_income: f64,
    pub assets: f64,
    pub liabilities: f64,
    /// Model worker or village cadre (a bonus item in assessments).
    pub honoured: bool,
    /// An overdue loan before the simulated window (credit-history points lost).
    pub earlier_default: bool,
}

/// The heads' identity numbers, drawn in one sequential pass so they can be made unique (two
/// households must never share a head): a clash moves to the next sequence number of the same sex.
pub fn identities(
    seed: u64,
    n: u64,
    villages: &[Village],
    as_of: NaiveDate,
) -> Vec<(usize, ResidentId)> {
    let weights: Vec<(usize, f64)> = villages
        .iter()
        .enumerate()
        .map(|(i, v)| (i, v.share))
        .collect();
    let mut seen = HashSet::with_capacity(n as usize);
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let mut rng = stream(seed, Purpose::Identity, i);
        let village = *weighted(&mut rng, &weights);
        let age_days = rng.gen_range(24 * 365..76 * 365);
        let birth = as_of - chrono::Days::new(age_days);
        let male = rng.gen::<f64>() < 0.85;
        let mut seq = rng.gen_range(0..500u32) * 2 + male as u32;
        let addr = villages[village].county_code;
        let birth_txt = birth.format("%Y%m%d").to_string();
        let id = loop {
            let body = format!("{addr}{birth_txt}{seq:03}");
            let id = format!(
                "{body}{}",
                ResidentId::check_character(&body).expect("digits")
            );
            if seen.insert(id.clone()) {
                break id;
            }
            seq = (seq + 2) % 1000;
        };
        out.push((
            village,
            ResidentId::parse_as_of(&id, as_of).expect("constructed valid"),
        ));
    }
    out
}

pub fn draw(
    rng: &mut impl Rng,
    head: ResidentId,
    village: usize,
    villages: &[Village],
    as_of: NaiveDate,
) -> Household {
    let v = &villages[village];
    let age = super::calendar::years_between(head.birth_date(), as_of);
    let members = *weighted(
        rng,
        &[
            (1u32, 6.0),
            (2, 14.0),
            (3, 18.0),
            (4, 24.0),
            (5, 20.0),
            (6, 11.0),
            (7, 5.0),
            (8, 2.0),
        ],
    );
    let labourers = if age > 65.0 {
        rng.gen_range(0..=members.min(2))
    } else {
        rng.gen_range(1..=members.min(4))
    };
    let education = match (age, rng.gen::<f64>()) {
        (a, x) if a > 55.0 => {
            if x < 0.6 {
                Education::Primary
            } else {
                Education::Junior
            }
        }
        (_, x) if x < 0.2 => Education::Primary,
        (_, x) if x < 0.65 => Education::Junior,
        (_, x) if x < 0.92 => Education::Senior,
        _ => Education::College,
    };
    let activity = *weighted(rng, v.activities);
    let land_mu = match activity {
        "sugarcane" => lognormal(rng, 15f64.ln(), 0.6),
        "pineapple" => lognormal(rng, 10f64.ln(), 0.6),
        "shrimp" | "fish" => lognormal(rng, 12f64.ln(), 0.7),
        "migrant_work" | "other" => lognormal(rng, 1.5f64.ln(), 0.8),
        _ => lognormal(rng, 6f64.ln(), 0.6),
    }
    .min(3000.0) as u32;
    let quality = 0.85 * normal(rng) + v.effect;
    let land_income = (land_mu as f64).sqrt() * 8_000.0;
    let base_income = 100.0
        * (land_income + labourers as f64 * 18_000.0)
        * (0.15 * quality).exp()
        * lognormal(rng, 0.0, 0.3);
    Household {
        head,
        members,
        labourers,
        education,
        land_mu,
        activity,
        quality,
        base_income,
        assets: 100.0 * lognormal(rng, 180_000f64.ln() + 0.1 * quality, 0.6),
        liabilities: if rng.gen::<f64>() < 0.5 {
            0.0
        } else {
            100.0 * lognormal(rng, 40_000f64.ln() - 0.2 * quality, 0.8)
        },
        honoured: rng.gen::<f64>() < 0.05,
        earlier_default: rng.gen::<f64>() < super::rng::sigmoid(-3.2 - 1.0 * quality),
    }
}

/// A random day in `year` between the first of March and mid-June: village rating groups meet
/// in spring.
pub fn assessment_day(rng: &mut impl Rng, year: i32) -> NaiveDate {
    add_days(
        NaiveDate::from_ymd_opt(year, 3, 1).expect("valid"),
        rng.gen_range(0..105),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn village_codes_are_twelve_digits_under_a_zhanjiang_county_and_unique() {
        let vs = villages(1);
        let codes: HashSet<&str> = vs.iter().map(|v| v.code.as_str()).collect();
        assert_eq!(codes.len(), vs.len());
        for v in &vs {
            assert_eq!(v.code.len(), 12);
            assert!(v.code.starts_with(v.county_code));
            assert!(crate::domain::RegionCode::parse(v.county_code)
                .unwrap()
                .is_zhanjiang());
        }
    }

    #[test]
    fn heads_have_unique_valid_ids_issued_in_their_county() {
        let vs = villages(5);
        let as_of = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let ids = identities(5, 20_000, &vs, as_of);
        let unique: HashSet<&str> = ids.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(unique.len(), ids.len());
        for (village, id) in &ids {
            assert_eq!(id.address_code(), vs[*village].county_code);
            assert!(ResidentId::parse_as_of(id.as_str(), chrono::NaiveDate::MAX).is_ok());
        }
    }
}
