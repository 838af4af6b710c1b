//! [`text_enum!`]: a Rust enum stored as `text` (a CHECK constraint lists
//! its values): `as_str`, `parse`, `Display`, serde in snake case, and
//! sqlx decoding straight into the enum (an unknown stored value is a
//! decode error naming the table and column).

#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $table:literal, $column:literal { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw)
            }

            /// Reads a stored value (an unknown one is a decode error).
            pub fn decode(raw: &str) -> Result<Self, sqlx::Error> {
                Self::parse(raw)
                    .ok_or_else(|| $crate::postgres::unexpected_value($table, $column, raw))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // Stored as `text`: rows decode straight into the model types.
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <String as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let raw = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Ok(Self::decode(raw)?)
            }
        }
    };
}
