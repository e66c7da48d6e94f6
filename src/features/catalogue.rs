//! The characteristics of each product, with stable reason codes and texts in English and
//! Chinese. docs/models.md lists the same table for people; codes never change meaning.

use crate::domain::Product;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Numeric,
    Categorical,
}

#[derive(Clone, Copy, Debug)]
pub struct Characteristic {
    pub name: &'static str,
    pub kind: Kind,
    pub name_zh: &'static str,
    pub code: &'static str,
    pub text_en: &'static str,
    pub text_zh: &'static str,
}

const fn c(
    name: &'static str,
    kind: Kind,
    name_zh: &'static str,
    code: &'static str,
    text_en: &'static str,
    text_zh: &'static str,
) -> Characteristic {
    Characteristic {
        name,
        kind,
        name_zh,
        code,
        text_en,
        text_zh,
    }
}

use Kind::{Categorical as Cat, Numeric as Num};

pub const SME: &[Characteristic] = &[
    c(
        "tax_grade",
        Cat,
        "最近纳税信用等级",
        "SME-TAX-01",
        "Taxpayer credit grade in force",
        "现行纳税信用等级偏低",
    ),
    c(
        "tax_grade_trend",
        Cat,
        "纳税信用等级变化",
        "SME-TAX-02",
        "Taxpayer credit grade fell or is new",
        "纳税信用等级下降或为新评",
    ),
    c(
        "late_filing_months_24m",
        Num,
        "近24个月逾期申报月数",
        "SME-TAX-03",
        "Late tax filings in the last 24 months",
        "近24个月存在逾期申报",
    ),
    c(
        "late_payment_months_24m",
        Num,
        "近24个月逾期缴款月数",
        "SME-TAX-04",
        "Late tax payments in the last 24 months",
        "近24个月存在逾期缴款",
    ),
    c(
        "arrears_months_24m",
        Num,
        "近24个月欠税月数",
        "SME-TAX-05",
        "Tax arrears in the last 24 months",
        "近24个月存在欠税",
    ),
    c(
        "zero_filing_months_12m",
        Num,
        "近12个月零申报月数",
        "SME-TAX-06",
        "Zero VAT filings in the last 12 months",
        "近12个月存在增值税零申报",
    ),
    c(
        "tax_paid_12m",
        Num,
        "近12个月纳税额",
        "SME-TAX-07",
        "Low tax paid in the last 12 months",
        "近12个月纳税额偏低",
    ),
    c(
        "tax_paid_24m",
        Num,
        "近24个月纳税额",
        "SME-TAX-08",
        "Low tax paid in the last 24 months",
        "近24个月纳税额偏低",
    ),
    c(
        "tax_paid_growth",
        Num,
        "纳税额同比增长",
        "SME-TAX-09",
        "Tax paid fell against the year before",
        "纳税额较上年下降",
    ),
    c(
        "revenue_12m",
        Num,
        "近12个月申报收入",
        "SME-REV-01",
        "Low declared revenue in the last 12 months",
        "近12个月申报收入偏低",
    ),
    c(
        "years_in_business",
        Num,
        "经营年限",
        "SME-ENT-01",
        "Few years in business",
        "经营年限较短",
    ),
    c(
        "industry",
        Cat,
        "行业门类",
        "SME-ENT-02",
        "Industry with higher observed risk",
        "所属行业风险较高",
    ),
    c(
        "region",
        Cat,
        "所在区县",
        "SME-ENT-03",
        "District with higher observed risk",
        "所在区县风险较高",
    ),
    c(
        "penalties_3y",
        Num,
        "近3年行政处罚次数",
        "SME-PUB-01",
        "Administrative penalties in the last 3 years",
        "近3年存在行政处罚",
    ),
];

pub const FARMER: &[Characteristic] = &[
    c(
        "assessment_score",
        Num,
        "农户信用评定得分",
        "FRM-ASM-01",
        "Low farmer credit assessment score",
        "农户信用评定得分偏低",
    ),
    c(
        "farmer_grade",
        Cat,
        "农户信用等级",
        "FRM-ASM-02",
        "Farmer credit grade",
        "农户信用等级偏低",
    ),
    c(
        "income_per_head",
        Num,
        "人均年收入",
        "FRM-FIN-01",
        "Low income per household member",
        "家庭人均收入偏低",
    ),
    c(
        "labour_share",
        Num,
        "劳动力占比",
        "FRM-HH-01",
        "Few working members in the household",
        "家庭劳动力占比偏低",
    ),
    c(
        "land_mu",
        Num,
        "承包土地面积",
        "FRM-HH-02",
        "Little contracted land",
        "承包土地面积较小",
    ),
    c(
        "liabilities_to_assets",
        Num,
        "资产负债率",
        "FRM-FIN-02",
        "High liabilities against assets",
        "家庭资产负债率偏高",
    ),
    c(
        "debt_to_income",
        Num,
        "负债收入比",
        "FRM-FIN-04",
        "High debt against annual income",
        "家庭负债相对年收入偏高",
    ),
    c(
        "net_worth",
        Num,
        "家庭净资产",
        "FRM-FIN-03",
        "Low household net worth",
        "家庭净资产偏低",
    ),
    c(
        "head_age",
        Num,
        "户主年龄",
        "FRM-HH-03",
        "Age of the household head",
        "户主年龄处于风险较高区间",
    ),
    c(
        "education",
        Cat,
        "户主文化程度",
        "FRM-HH-04",
        "Education of the household head",
        "户主文化程度处于风险较高区间",
    ),
    c(
        "main_activity",
        Cat,
        "主要产业",
        "FRM-HH-05",
        "Main activity with higher observed risk",
        "主要产业风险较高",
    ),
    c(
        "prior_loans",
        Num,
        "历史贷款笔数",
        "FRM-CRD-01",
        "Little borrowing history",
        "历史借贷记录较少",
    ),
    c(
        "prior_defaults",
        Num,
        "历史违约笔数",
        "FRM-CRD-02",
        "Earlier loans in default",
        "存在历史贷款违约",
    ),
    c(
        "credit_village",
        Cat,
        "是否信用村",
        "FRM-VIL-01",
        "Village is not a credit village",
        "所在村非信用村",
    ),
];

pub fn of(product: Product) -> &'static [Characteristic] {
    match product {
        Product::Sme => SME,
        Product::Farmer => FARMER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_within_each_product() {
        for list in [SME, FARMER] {
            let mut names: Vec<_> = list.iter().map(|c| c.name).collect();
            let mut codes: Vec<_> = list.iter().map(|c| c.code).collect();
            names.sort();
            codes.sort();
            names.dedup();
            codes.dedup();
            assert_eq!(names.len(), list.len());
            assert_eq!(codes.len(), list.len());
        }
    }

    #[test]
    fn docs_models_md_lists_every_characteristic_with_its_texts() {
        let doc = include_str!("../../docs/models.md");
        for c in SME.iter().chain(FARMER) {
            let kind = match c.kind {
                Kind::Numeric => "numeric",
                Kind::Categorical => "categorical",
            };
            let row = format!(
                "| `{}` | {} | {kind} | `{}` | {} | {} |",
                c.name, c.name_zh, c.code, c.text_en, c.text_zh
            );
            assert!(doc.contains(&row), "docs/models.md lacks the row {row}");
        }
    }
}
