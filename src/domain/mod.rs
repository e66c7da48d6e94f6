//! Domain types: parse, don't validate. Every type here is only constructed through a parser that
//! checks the rules of domain.md, so code holding one never checks again.

mod enums;
mod error;
mod farmer_grade;
mod feed_kind;
mod flag;
mod product;
mod purpose;
mod record_kind;
mod region;
mod resident_id;
pub mod retention;
mod role;
mod subject;
mod tax_grade;
mod tax_type;
mod uscc;

pub use error::DomainError;
pub use farmer_grade::FarmerGrade;
pub use feed_kind::FeedKind;
pub use flag::Flag;
pub use product::Product;
pub use purpose::Purpose;
pub use record_kind::RecordKind;
pub use region::{RegionCode, ZHANJIANG};
pub use resident_id::ResidentId;
pub use role::Role;
pub use subject::SubjectId;
pub use tax_grade::TaxGrade;
pub use tax_type::TaxType;
pub use uscc::Uscc;
