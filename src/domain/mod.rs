//! Domain types: parse, don't validate.
