//! The kinds of partner the platform knows (domain.md §1).

use super::enums::string_enum;
use super::Purpose;

string_enum! {
    /// A partner's role; it decides which endpoints and purposes the partner may use.
    Role, "role" {
        Bank => "bank",
        Insurer => "insurer",
        TaxBureau => "tax_bureau",
        Assessor => "assessor",
        PublicRecords => "public_records",
        Admin => "admin",
        /// An external or internal auditor: reads the whole audit ledger (verification, the
        /// subject-history read, every entry's proofs) and changes nothing.
        Auditor => "auditor",
    }
}

impl Role {
    /// The purposes this role may request scores for: banks before and during a loan, insurers
    /// for underwriting, everyone else none (they feed data, they do not query it).
    pub fn allowed_purposes(self) -> &'static [Purpose] {
        match self {
            Role::Bank => &[Purpose::LoanApplication, Purpose::PostLoan],
            Role::Insurer => &[Purpose::Underwriting],
            Role::TaxBureau
            | Role::Assessor
            | Role::PublicRecords
            | Role::Admin
            | Role::Auditor => &[],
        }
    }

    /// Whether this role reads every entry of the audit ledger (verification, a subject's
    /// history, any entry's inclusion proof); the others see proofs of their own entries only.
    pub fn reads_whole_ledger(self) -> bool {
        Self::LEDGER_READERS.contains(&self)
    }

    /// The roles that read the whole ledger: the administrator, and the auditor, who may do
    /// nothing else.
    pub const LEDGER_READERS: &'static [Role] = &[Role::Admin, Role::Auditor];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banks_may_ask_before_and_during_a_loan_but_not_underwrite() {
        assert_eq!(
            Role::Bank.allowed_purposes(),
            &[Purpose::LoanApplication, Purpose::PostLoan]
        );
    }

    #[test]
    fn insurers_may_only_underwrite() {
        assert_eq!(Role::Insurer.allowed_purposes(), &[Purpose::Underwriting]);
    }

    #[test]
    fn data_feeding_roles_may_not_query_scores() {
        for role in [
            Role::TaxBureau,
            Role::Assessor,
            Role::PublicRecords,
            Role::Admin,
            Role::Auditor,
        ] {
            assert!(role.allowed_purposes().is_empty(), "{role}");
        }
    }

    #[test]
    fn only_admins_and_auditors_read_the_whole_ledger() {
        for &role in Role::ALL {
            assert_eq!(
                role.reads_whole_ledger(),
                matches!(role, Role::Admin | Role::Auditor),
                "{role}"
            );
        }
    }

    #[test]
    fn every_role_round_trips_through_its_text_and_serde() {
        for &role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
    }

    #[test]
    fn an_unknown_role_is_named_in_the_error() {
        let err = "banker".parse::<Role>().unwrap_err().to_string();
        assert!(
            err.contains("'banker'") && err.contains("bank, insurer"),
            "{err}"
        );
    }
}
