//! Serde helpers for request fields as the REST contract types them,
//! shared by the HTTP edge and the domains that own their request types.

use serde::Deserialize;

/// For `#[serde(default, deserialize_with = "non_null")]` on an optional
/// field the contract types as not nullable: absent → `None`, a value →
/// `Some`, `null` → an error (plain `Option` would take `null` as absent).
pub fn non_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A non-nullable optional integer that JSON may write as `23` or `23.0`
/// (JSON Schema's `integer` admits both).
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    whole(&n)
        .and_then(|i| i32::try_from(i).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number, got {n}")))
}

/// The integer a JSON number stands for, if it is whole.
pub fn whole(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}
