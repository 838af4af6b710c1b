//! The variable table (placeholder until filled in).
