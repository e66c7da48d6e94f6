//! Enterprise profiles: identity (credit code, name, region, GB/T 4754 section, size, founding
//! date) and the hidden traits that drive their tax behaviour and risk.

use chrono::NaiveDate;
use rand::Rng;

use super::calendar::{add_days, Month};
use super::rng::{lognormal, normal, uniform, weighted};
use crate::domain::Uscc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Micro,
    Small,
    Medium,
    Large,
}

impl Size {
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Micro => "micro",
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Large => "large",
        }
    }
}

/// Section, share of Zhanjiang's enterprises (illustrative), effective VAT rate on revenue,
/// typical profit margin, Chinese trade word.
pub struct Industry {
    pub section: char,
    pub share: f64,
    pub vat_rate: f64,
    pub margin: f64,
    pub word: &'static str,
}

pub const INDUSTRIES: &[Industry] = &[
    Industry {
        section: 'A',
        share: 7.0,
        vat_rate: 0.01,
        margin: 0.06,
        word: "农业",
    },
    Industry {
        section: 'B',
        share: 0.5,
        vat_rate: 0.05,
        margin: 0.10,
        word: "矿业",
    },
    Industry {
        section: 'C',
        share: 12.0,
        vat_rate: 0.04,
        margin: 0.07,
        word: "食品制造",
    },
    Industry {
        section: 'D',
        share: 0.5,
        vat_rate: 0.05,
        margin: 0.08,
        word: "能源",
    },
    Industry {
        section: 'E',
        share: 8.0,
        vat_rate: 0.03,
        margin: 0.05,
        word: "建筑工程",
    },
    Industry {
        section: 'F',
        share: 34.0,
        vat_rate: 0.02,
        margin: 0.04,
        word: "商贸",
    },
    Industry {
        section: 'G',
        share: 5.0,
        vat_rate: 0.03,
        margin: 0.06,
        word: "物流",
    },
    Industry {
        section: 'H',
        share: 9.0,
        vat_rate: 0.02,
        margin: 0.08,
        word: "餐饮",
    },
    Industry {
        section: 'I',
        share: 3.0,
        vat_rate: 0.03,
        margin: 0.12,
        word: "网络科技",
    },
    Industry {
        section: 'J',
        share: 0.5,
        vat_rate: 0.04,
        margin: 0.15,
        word: "投资",
    },
    Industry {
        section: 'K',
        share: 2.0,
        vat_rate: 0.05,
        margin: 0.10,
        word: "置业",
    },
    Industry {
        section: 'L',
        share: 8.0,
        vat_rate: 0.03,
        margin: 0.08,
        word: "商务服务",
    },
    Industry {
        section: 'M',
        share: 2.0,
        vat_rate: 0.03,
        margin: 0.10,
        word: "技术",
    },
    Industry {
        section: 'N',
        share: 1.0,
        vat_rate: 0.03,
        margin: 0.06,
        word: "环境工程",
    },
    Industry {
        section: 'O',
        share: 4.0,
        vat_rate: 0.02,
        margin: 0.07,
        word: "家政服务",
    },
    Industry {
        section: 'P',
        share: 1.5,
        vat_rate: 0.03,
        margin: 0.10,
        word: "教育咨询",
    },
    Industry {
        section: 'Q',
        share: 1.0,
        vat_rate: 0.03,
        margin: 0.09,
        word: "健康管理",
    },
    Industry {
        section: 'R',
        share: 1.5,
        vat_rate: 0.03,
        margin: 0.08,
        word: "文化传媒",
    },
    Industry {
        section: 'S',
        share: 0.5,
        vat_rate: 0.03,
        margin: 0.05,
        word: "社会服务",
    },
    Industry {
        section: 'T',
        share: 0.0,
        vat_rate: 0.03,
        margin: 0.05,
        word: "国际组织",
    },
];

/// County/district code, Chinese short name, share of enterprises.
pub const COUNTIES: &[(&str, &str, f64)] = &[
    ("440802", "赤坎", 12.0),
    ("440803", "霞山", 16.0),
    ("440804", "坡头", 6.0),
    ("440811", "麻章", 10.0),
    ("440823", "遂溪", 10.0),
    ("440825", "徐闻", 8.0),
    ("440881", "廉江", 14.0),
    ("440882", "雷州", 12.0),
    ("440883", "吴川", 12.0),
];

const TRADE_CHARS: &[&str] = &[
    "华", "海", "丰", "顺", "鑫", "盛", "港", "南", "粤", "湾", "金", "泰", "宏", "达", "信", "润",
    "嘉", "恒", "兴", "湛", "蓝", "瑞", "祥", "和", "源", "通", "利", "新", "绿", "佳",
];

pub struct Enterprise {
    pub uscc: String,
    pub name: String,
    pub county: usize,
    pub industry: usize,
    pub size: Size,
    pub founded_on: NaiveDate,
    /// Hidden credit quality at the start of the simulation (standard normal; higher is better).
    pub quality: f64,
    /// Hidden: typical monthly revenue in fen at founding.
    pub base_revenue: f64,
    /// Hidden: annual growth rate of revenue.
    pub growth: f64,
    /// Hidden: amplitude of the industry's seasonal pattern for this enterprise.
    pub seasonality: f64,
    /// Hidden: whether the non-recurring indicators exist (deduction starts at 100, else 90).
    pub has_nonrecurring: bool,
}

/// Unique organisation bodies: a bijection of the index onto 31^8 values, so no two enterprises
/// share a code however many are generated.
fn org_body(index: u64, seed: u64) -> String {
    const SPACE: u64 = 852_891_037_441; // 31^8
    const STRIDE: u64 = 387_420_489; // 3^18, coprime with 31
    let mut n = (index.wrapping_mul(STRIDE) + seed % SPACE) % SPACE;
    let chars = crate::domain::Uscc::CHARSET.as_bytes();
    let mut out = [0u8; 8];
    for slot in out.iter_mut().rev() {
        *slot = chars[(n % 31) as usize];
        n /= 31;
    }
    String::from_utf8(out.to_vec()).expect("ASCII")
}

pub fn uscc_for(entity_type: char, county: &str, index: u64, seed: u64) -> String {
    let org = org_body(index, seed);
    let org_check = Uscc::org_check_character(&org).expect("charset");
    let first17 = format!("9{entity_type}{county}{org}{org_check}");
    let check = Uscc::check_character(&first17).expect("charset");
    format!("{first17}{check}")
}

/// Draws one enterprise. `sim_start` is the first simulated month (a warm-up year before the
/// written window); about a fifth of enterprises are founded during the simulation.
pub fn draw(rng: &mut impl Rng, index: u64, seed: u64, sim_start: Month, end: Month) -> Enterprise {
    let counties: Vec<(usize, f64)> = COUNTIES.iter().enumerate().map(|(i, c)| (i, c.2)).collect();
    let county = *weighted(rng, &counties);
    let industries: Vec<(usize, f64)> = INDUSTRIES
        .iter()
        .enumerate()
        .map(|(i, x)| (i, x.share))
        .collect();
    let industry = *weighted(rng, &industries);
    let size = *weighted(
        rng,
        &[
            (Size::Micro, 70.0),
            (Size::Small, 22.0),
            (Size::Medium, 7.0),
            (Size::Large, 1.0),
        ],
    );
    let entity_type = match (INDUSTRIES[industry].section, rng.gen::<f64>()) {
        ('A', x) if x < 0.4 => '3',
        (_, x) if x < 0.15 && size == Size::Micro => '2',
        _ => '1',
    };
    let founded_on = if rng.gen::<f64>() < 0.8 {
        let years = lognormal(rng, 5f64.ln(), 0.8).min(35.0);
        sim_start.first_day() - chrono::Days::new((years * 365.25) as u64)
    } else {
        let span = (end.last_day() - sim_start.first_day()).num_days() as u32;
        add_days(sim_start.first_day(), rng.gen_range(0..=span))
    };
    let base_revenue = 100.0
        * match size {
            Size::Micro => lognormal(rng, 40_000f64.ln(), 0.7),
            Size::Small => lognormal(rng, 400_000f64.ln(), 0.6),
            Size::Medium => lognormal(rng, 4_000_000f64.ln(), 0.5),
            Size::Large => lognormal(rng, 40_000_000f64.ln(), 0.5),
        };
    let quality = normal(rng);
    let county_name = COUNTIES[county].1;
    let trade = format!(
        "{}{}",
        TRADE_CHARS[rng.gen_range(0..TRADE_CHARS.len())],
        TRADE_CHARS[rng.gen_range(0..TRADE_CHARS.len())]
    );
    let name = match entity_type {
        '2' => format!("{county_name}{trade}{}商行", INDUSTRIES[industry].word),
        '3' => format!("{county_name}{trade}种养专业合作社"),
        _ => format!(
            "湛江市{county_name}{trade}{}有限公司",
            INDUSTRIES[industry].word
        ),
    };
    Enterprise {
        uscc: uscc_for(entity_type, COUNTIES[county].0, index, seed),
        name,
        county,
        industry,
        size,
        founded_on,
        quality,
        base_revenue,
        growth: 0.04 + 0.06 * quality + 0.08 * normal(rng),
        seasonality: uniform(rng, 0.5, 1.5),
        has_nonrecurring: rng.gen::<f64>() < 0.45,
    }
}

/// Relative revenue by calendar month for an industry: harvest for agriculture (sugarcane is
/// crushed December–April), Spring Festival and summer for catering, year end for trade.
pub fn season(section: char, month: u32) -> f64 {
    let m = month as usize - 1;
    const AGRI: [f64; 12] = [1.5, 1.4, 1.3, 1.1, 0.8, 0.7, 0.7, 0.7, 0.8, 0.9, 1.0, 1.3];
    const FOOD: [f64; 12] = [1.4, 1.3, 0.8, 0.9, 0.9, 0.9, 1.1, 1.1, 0.9, 1.0, 0.9, 1.0];
    const TRADE: [f64; 12] = [1.3, 1.0, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.1, 1.3];
    const BUILD: [f64; 12] = [0.8, 0.5, 0.9, 1.0, 1.1, 1.0, 0.9, 0.9, 1.1, 1.2, 1.2, 1.4];
    match section {
        'A' | 'C' => AGRI[m],
        'H' | 'R' => FOOD[m],
        'F' | 'G' => TRADE[m],
        'E' | 'K' => BUILD[m],
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credit_codes_pass_both_checks_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..5000 {
            let code = uscc_for('1', "440825", i, 42);
            let parsed = Uscc::parse_strict(&code).unwrap();
            assert_eq!(parsed.region_code().name(), Some("Xuwen"));
            assert!(seen.insert(code));
        }
    }

    #[test]
    fn industry_shares_cover_the_gb_t_4754_sections_a_to_t() {
        let sections: String = INDUSTRIES.iter().map(|i| i.section).collect();
        assert_eq!(sections, "ABCDEFGHIJKLMNOPQRST");
    }
}
