//! Parsing scenario files (being written).
use super::Scenario;

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub span: std::ops::Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

#[derive(Debug)]
pub struct ScenarioError {
    pub problems: Vec<Problem>,
}

pub fn parse(_file: &str, _text: &str) -> Result<Scenario, ScenarioError> {
    Err(ScenarioError { problems: vec![] })
}
