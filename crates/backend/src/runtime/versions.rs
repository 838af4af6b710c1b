//! (being built: issue #17)
