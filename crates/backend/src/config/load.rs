//! Loading and validation (placeholder until filled in).
#[derive(Debug)]
pub struct ConfigError;
#[derive(Debug)]
pub struct ConfigErrors;
