//! Byte-level mutations of seed inputs, the way coverage-guided fuzzers
//! start from a corpus: insert, delete, duplicate, overwrite, splice, and
//! insert a token of the input's language.

use proptest::prelude::*;
use proptest::sample::{Index, select};

/// One edit of an input; positions are fractions of the current length.
#[derive(Debug, Clone)]
enum Edit {
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Overwrite(Index, u8),
    Splice(Index, Index, usize),
    Token(Index, &'static str),
}

fn edit(tokens: &'static [&'static str]) -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        (any::<Index>(), 1usize..64).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<Index>(), 1usize..256).prop_map(|(at, n)| Edit::Duplicate(at, n)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, b)| Edit::Overwrite(at, b)),
        (any::<Index>(), any::<Index>(), 1usize..128)
            .prop_map(|(from, to, n)| Edit::Splice(from, to, n)),
        (any::<Index>(), select(tokens)).prop_map(|(at, t)| Edit::Token(at, t)),
    ]
}

fn at(index: &Index, len: usize) -> usize {
    if len == 0 { 0 } else { index.index(len + 1) }
}

fn apply(mut bytes: Vec<u8>, edit: &Edit) -> Vec<u8> {
    let len = bytes.len();
    match edit {
        Edit::Insert(i, new) => {
            let p = at(i, len);
            bytes.splice(p..p, new.iter().copied());
        }
        Edit::Delete(i, n) => {
            let p = at(i, len);
            bytes.drain(p..(p + n).min(len));
        }
        Edit::Duplicate(i, n) => {
            let p = at(i, len);
            let chunk = bytes[p..(p + n).min(len)].to_vec();
            bytes.splice(p..p, chunk);
        }
        Edit::Overwrite(i, b) => {
            if len > 0 {
                bytes[i.index(len)] = *b;
            }
        }
        Edit::Splice(from, to, n) => {
            let p = at(from, len);
            let chunk = bytes[p..(p + n).min(len)].to_vec();
            let q = at(to, len);
            bytes.splice(q..q, chunk);
        }
        Edit::Token(i, token) => {
            let p = at(i, len);
            bytes.splice(p..p, token.bytes());
        }
    }
    bytes
}

/// One of `seeds`, edited 1 to 8 times; `tokens` are words of the input's
/// language worth inserting (keywords, delimiters, extreme numbers).
pub fn mutated(
    seeds: Vec<Vec<u8>>,
    tokens: &'static [&'static str],
) -> impl Strategy<Value = Vec<u8>> {
    (select(seeds), prop::collection::vec(edit(tokens), 1..8))
        .prop_map(|(seed, edits)| edits.iter().fold(seed, apply))
}
