//! Flags a subject's characteristics carry beside their values (docs/models.md): knock-out policy
//! facts a lender must see whatever the score says, and that nothing is held about the subject.

use super::enums::string_enum;

string_enum! {
    /// One flag of a feature vector; the knock-outs are returned with every score.
    Flag, "flag" {
        /// An active dishonest-judgment-debtor listing (失信被执行人).
        DishonestDebtorActive => "dishonest_debtor_active",
        /// The enterprise's tax grade in force is D.
        TaxGradeD => "tax_grade_d",
        /// The household's latest assessment is below the credit-household line.
        BelowCreditHouseholdLine => "below_credit_household_line",
        /// No enterprise of this credit code is held.
        UnknownEnterprise => "unknown_enterprise",
        /// No household of this head is held.
        UnknownHousehold => "unknown_household",
    }
}

impl Flag {
    /// Nothing is held about the subject: there is no score to give.
    pub fn unknown_subject(self) -> bool {
        matches!(self, Flag::UnknownEnterprise | Flag::UnknownHousehold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_unknown_flags_mean_no_data_is_held() {
        let unknown: Vec<&str> = Flag::ALL
            .iter()
            .filter(|f| f.unknown_subject())
            .map(|f| f.as_str())
            .collect();
        assert_eq!(unknown, ["unknown_enterprise", "unknown_household"]);
    }
}
