//! The policy model and its parser.

use crate::{ConditionBlock, Decision, PolicyError, Request};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub effect: Effect,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub condition: Option<ConditionBlock>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: String,
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Decision for one request under this policy alone.
    pub fn evaluate(&self, request: &Request) -> Decision {
        todo!()
    }

    /// Compact JSON of the policy (round-trips through [`crate::parse`]).
    pub fn to_json(&self) -> String {
        todo!()
    }
}

pub(crate) fn parse(json: &str) -> Result<Policy, PolicyError> {
    todo!()
}
