//! The two credit products the platform scores.

use super::enums::string_enum;

string_enum! {
    /// A scored product: small-business tax loans or rural household loans.
    Product, "product" {
        /// Small and micro enterprise loans on the strength of the tax record (银税互动).
        Sme => "sme",
        /// Farmer household revolving lines (农户信用贷款).
        Farmer => "farmer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_parse_from_their_snake_case_names() {
        assert_eq!("sme".parse::<Product>().unwrap(), Product::Sme);
        assert_eq!("farmer".parse::<Product>().unwrap(), Product::Farmer);
        assert!("SME".parse::<Product>().is_err());
    }

    #[test]
    fn purposes_serialise_as_snake_case_strings() {
        use crate::domain::Purpose;
        assert_eq!(
            serde_json::to_string(&Purpose::LoanApplication).unwrap(),
            "\"loan_application\""
        );
        assert_eq!("post_loan".parse::<Purpose>().unwrap(), Purpose::PostLoan);
        assert!(serde_json::from_str::<Purpose>("\"marketing\"").is_err());
    }
}
