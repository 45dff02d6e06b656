//! Condition operators and keys.

/// A parsed `Condition` object: operator → key → values.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionBlock {
    // implementation-defined
}
