//! Value parsers (placeholder until filled in).
pub fn parse_duration() {}
pub fn parse_listen_addr() {}
pub fn parse_size() {}
