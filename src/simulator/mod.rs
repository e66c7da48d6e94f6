//! The synthetic city generator.
