//! The tax a monthly payment row is for (docs/feeds.md, `tax_type`).

use super::enums::string_enum;

string_enum! {
    /// The tax of a monthly filing: a zero-revenue VAT filing is a sign of a dormant business.
    TaxType, "tax type" {
        Vat => "vat",
        /// Corporate income tax.
        Cit => "cit",
        Other => "other",
    }
}
