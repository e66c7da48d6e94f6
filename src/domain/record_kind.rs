//! Kinds of public credit record (domain.md §4).

use super::enums::string_enum;

string_enum! {
    /// What a public credit record says about its subject.
    RecordKind, "record kind" {
        /// 失信被执行人: an active listing is a knock-out for credit.
        DishonestDebtor => "dishonest_debtor",
        /// An administrative penalty published under 双公示.
        AdminPenalty => "admin_penalty",
        /// A red list (A-grade taxpayers are one): earns incentives.
        RedList => "red_list",
    }
}
