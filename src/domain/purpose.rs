//! Why a partner asks for a score (domain.md §6: data may only be used for the agreed purpose).

use super::enums::string_enum;

string_enum! {
    /// The purpose a score is requested for.
    Purpose, "purpose" {
        /// Before a loan (贷前).
        LoanApplication => "loan_application",
        /// During the life of a loan (贷后).
        PostLoan => "post_loan",
        /// An insurer underwriting loan-guarantee or credit insurance (核保).
        Underwriting => "underwriting",
    }
}
