//! Whether a PostgreSQL DSN sets `search_path=backend`, in any of the forms
//! the connector understands.

/// Whether a Postgres DSN sets `search_path=backend`. Accepted forms:
///
/// - URL (`postgres://` or `postgresql://`) with query parameter
///   `search_path=backend`, `options=-c search_path=backend`
///   (percent-encoded: `options=-c%20search_path%3Dbackend`) or sqlx's
///   `options[search_path]=backend`;
/// - key=value (`host=… dbname=… search_path=backend`), also with
///   `options='-c search_path=backend'`.
///
/// sqlx applies only the `options` forms; the postgres module translates
/// the others when it connects.
pub fn search_path_ok(dsn: &str) -> bool {
    let params = if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        url_query_params(dsn)
    } else {
        key_value_params(dsn)
    };
    params.iter().any(|(key, value)| match key.as_str() {
        "search_path" | "options[search_path]" => value == "backend",
        "options" => options_set_backend(value),
        _ => false,
    })
}

fn url_query_params(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

/// Decodes `%XX` escapes and `+` (form encoding); malformed escapes stay as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits libpq `key=value` conninfo, honouring single quotes and backslash escapes.
fn key_value_params(conninfo: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = conninfo.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        if key.is_empty() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'=').is_none() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        params.push((key, conninfo_value(&mut chars)));
    }
    params
}

fn conninfo_value(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let quoted = chars.next_if_eq(&'\'').is_some();
    let mut value = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.extend(chars.next()),
            '\'' if quoted => break,
            c if c.is_whitespace() && !quoted => break,
            c => value.push(c),
        }
    }
    value
}

/// Whether a Postgres `options` string (`-c name=value …`) sets the search path to `backend`.
fn options_set_backend(options: &str) -> bool {
    let words: Vec<&str> = options.split_whitespace().collect();
    words.iter().enumerate().any(|(i, word)| {
        let setting = match *word {
            "-c" => words.get(i + 1).copied(),
            w => w.strip_prefix("-c").or_else(|| w.strip_prefix("--")),
        };
        setting == Some("search_path=backend")
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_forms_with_search_path_backend_are_accepted() {
        for dsn in [
            "postgres://u:p@db:5432/galaxy?options=-c%20search_path%3Dbackend",
            "postgres://u:p@db/galaxy?sslmode=disable&options=-c+search_path%3Dbackend",
            "postgresql://u:p@db/galaxy?options=-csearch_path%3Dbackend%20-c%20statement_timeout%3D5s",
            "postgres://u:p@db/galaxy?search_path=backend",
            "postgres://u:p@db/galaxy?options[search_path]=backend",
            "postgres://u:p@db/galaxy?options%5Bsearch_path%5D=backend",
            "host=db user=u password=p dbname=galaxy search_path=backend",
            "host=db dbname=galaxy search_path = backend",
            "host=db password='a b\\'c' options='-c search_path=backend'",
        ] {
            assert!(search_path_ok(dsn), "{dsn} should be accepted");
        }
    }

    #[test]
    fn dsn_forms_without_search_path_backend_are_refused() {
        for dsn in [
            "postgres://u:p@db/galaxy",
            "postgres://u:p@db/galaxy?search_path=public",
            "postgres://u:p@db/galaxy?options=-c%20search_path%3Dbackend2",
            "postgres://u:search_path=backend@db/galaxy",
            "host=db dbname=galaxy",
            "host=db password=search_path=backend",
            "host=db application_name='search_path=backend'",
            "",
        ] {
            assert!(!search_path_ok(dsn), "{dsn} should be refused");
        }
    }
}
