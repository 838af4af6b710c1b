//! Contract validation: every request a test makes and every response it
//! gets is checked against `openapi.yaml`. A mismatch fails the test.
//!
//! The rule, per exchange:
//! - the path and method must be documented (unknown routes may only answer
//!   404/405 in the error shape);
//! - if the request breaks the contract (a missing or malformed documented
//!   header or parameter, a body that fails its schema), the response must be a
//!   documented 4xx — the server must not accept what the contract forbids;
//! - the response status must be documented for the operation (or `default`,
//!   or the document's `x-common-responses` that the HTTP edge may add anywhere),
//!   its content type must match, and its body must validate against the schema.

use std::sync::OnceLock;

use serde_json::{Map, Value};

pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_norway::from_str(galaxy_backend::server::OPENAPI_YAML)
            .expect("openapi.yaml is valid YAML")
    })
}

/// What the harness saw; used to build failure messages.
pub struct Exchange<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub request_headers: &'a reqwest::header::HeaderMap,
    pub request_body: Option<&'a Value>,
    pub request_content_type: Option<&'a str>,
    pub status: u16,
    pub response_content_type: Option<&'a str>,
    pub response_body: &'a [u8],
}

/// Checks one exchange; returns every violation found.
pub fn check(ex: &Exchange<'_>) -> Result<(), String> {
    let doc = document();
    let Some((template, path_item)) = find_path(doc, ex.path) else {
        return unknown_route(ex);
    };
    let method = ex.method.to_ascii_lowercase();
    let Some(operation) = path_item.get(&method) else {
        if ex.status == 405 {
            return error_body(ex, "405 on a documented path");
        }
        return Err(format!(
            "{} {} ({template}): method not documented, got {}",
            ex.method, ex.path, ex.status
        ));
    };

    let request_problems = request_violations(doc, template, path_item, operation, ex);
    let responses = operation
        .get("responses")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let status_key = ex.status.to_string();
    let response = responses
        .get(&status_key)
        .or_else(|| responses.get("default"))
        .or_else(|| {
            doc.get("x-common-responses")
                .and_then(|c| c.get(&status_key))
        });
    let Some(response) = response.map(|r| resolve(doc, r)) else {
        return Err(format!(
            "{} {} ({template}): status {} is not documented (documented: {:?}){}",
            ex.method,
            ex.path,
            ex.status,
            responses.keys().collect::<Vec<_>>(),
            body_hint(ex)
        ));
    };
    if !request_problems.is_empty() && !(400..500).contains(&ex.status) {
        return Err(format!(
            "{} {} ({template}): the request breaks the contract ({}) but the server answered {}",
            ex.method,
            ex.path,
            request_problems.join("; "),
            ex.status
        ));
    }
    check_response_body(response, ex).map_err(|e| {
        format!(
            "{} {} ({template}) → {}: {e}",
            ex.method, ex.path, ex.status
        )
    })
}

fn body_hint(ex: &Exchange<'_>) -> String {
    let text = String::from_utf8_lossy(ex.response_body);
    format!("; body: {}", text.chars().take(300).collect::<String>())
}

fn unknown_route(ex: &Exchange<'_>) -> Result<(), String> {
    if ex.status == 404 || ex.status == 405 {
        error_body(ex, "unknown route")
    } else {
        Err(format!(
            "{} {}: path is not in openapi.yaml but answered {}",
            ex.method, ex.path, ex.status
        ))
    }
}

fn error_body(ex: &Exchange<'_>, what: &str) -> Result<(), String> {
    let schema = document()["components"]["schemas"]["Error"].clone();
    validate_json(&schema, ex.response_body)
        .map_err(|e| format!("{} {} ({what}): {e}", ex.method, ex.path))
}

/// The path template matching `path`, preferring literal segments.
fn find_path<'d>(doc: &'d Value, path: &str) -> Option<(&'d str, &'d Value)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let paths = doc.get("paths")?.as_object()?;
    let mut best: Option<(usize, &str, &Value)> = None;
    for (template, item) in paths {
        let tsegs: Vec<&str> = template.trim_end_matches('/').split('/').collect();
        if tsegs.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let matched = tsegs.iter().zip(&segments).all(|(t, s)| {
            if t.starts_with('{') && t.ends_with('}') {
                !s.is_empty()
            } else {
                literal += 1;
                t == s
            }
        });
        if matched && best.is_none_or(|(l, _, _)| literal > l) {
            best = Some((literal, template, item));
        }
    }
    best.map(|(_, t, i)| (t, i))
}

fn resolve<'d>(doc: &'d Value, value: &'d Value) -> &'d Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(
                doc,
                doc.pointer(pointer)
                    .unwrap_or_else(|| panic!("unresolvable $ref {reference}")),
            )
        }
        None => value,
    }
}

fn request_violations(
    doc: &Value,
    template: &str,
    path_item: &Value,
    operation: &Value,
    ex: &Exchange<'_>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let params = path_item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            operation
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
    let path_values = path_params(template, ex.path);
    let params: Vec<&Value> = params.map(|p| resolve(doc, p)).collect();
    for param in &params {
        let name = param["name"].as_str().unwrap_or_default();
        let required = param
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Some(schema) = exploded_object(param) {
            // `style: form, explode: true` object: its properties are the
            // query keys no other parameter names.
            let object: Map<String, Value> = ex
                .query
                .iter()
                .filter(|(k, _)| {
                    !params
                        .iter()
                        .any(|p| p["in"] == "query" && p["name"] == **k)
                })
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            if object.is_empty() && required {
                problems.push(format!("missing required query object `{name}`"));
            } else if !object.is_empty()
                && let Err(e) = validate_value(schema, &Value::Object(object))
            {
                problems.push(format!("query `{name}`: {e}"));
            }
            continue;
        }
        let value: Option<String> = match param["in"].as_str() {
            Some("header") => ex
                .request_headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            Some("query") => ex
                .query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
            Some("path") => path_values
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
            _ => None,
        };
        match value {
            None if required => problems.push(format!("missing required {} `{name}`", param["in"])),
            None => {}
            Some(raw) => {
                if let Some(schema) = param.get("schema")
                    && let Err(e) = validate_value(schema, &coerce(schema, &raw))
                {
                    problems.push(format!("{} `{name}`: {e}", param["in"]));
                }
            }
        }
    }
    if let Some(body_spec) = operation.get("requestBody").map(|b| resolve(doc, b)) {
        let required = body_spec
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match (ex.request_body, ex.request_content_type) {
            (Some(body), Some(ct)) if ct.starts_with("application/json") => {
                if let Some(schema) = body_spec.pointer("/content/application~1json/schema")
                    && let Err(e) = validate_value(schema, body)
                {
                    problems.push(format!("body: {e}"));
                }
            }
            (None, _) if required => problems.push("missing required body".into()),
            (None, _) => {}
            _ => problems.push("body is not JSON".into()),
        }
    }
    problems
}

/// The schema of a query parameter serialised as an exploded form object
/// (each property its own key), if `param` is one.
fn exploded_object(param: &Value) -> Option<&Value> {
    let schema = param.get("schema")?;
    let is_object = schema.get("type").and_then(Value::as_str) == Some("object")
        || schema.get("oneOf").is_some()
        || schema.get("anyOf").is_some();
    let exploded = param
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    (param["in"] == "query" && is_object && exploded).then_some(schema)
}

fn path_params(template: &str, path: &str) -> Vec<(String, String)> {
    template
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(t, s)| {
            t.strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .map(|n| (n.to_owned(), s.to_owned()))
        })
        .collect()
}

/// Query/path/header values arrive as text; give them the schema's type.
fn coerce(schema: &Value, raw: &str) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.into())),
        Some("number") => raw
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.into())),
        Some("boolean") => raw
            .parse::<bool>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.into())),
        _ => Value::String(raw.into()),
    }
}

fn check_response_body(response: &Value, ex: &Exchange<'_>) -> Result<(), String> {
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return if ex.response_body.is_empty() {
            Ok(())
        } else {
            Err("undocumented response body".into())
        };
    };
    let ct = ex.response_content_type.unwrap_or_default();
    let media = ct.split(';').next().unwrap_or_default().trim();
    let Some(spec) = content.get(media) else {
        return Err(format!(
            "content type `{ct}` not documented (documented: {:?}){}",
            content.keys().collect::<Vec<_>>(),
            body_hint(ex)
        ));
    };
    match spec.get("schema") {
        Some(schema) if media == "application/json" => validate_json(schema, ex.response_body),
        Some(schema) if media == "application/yaml" => {
            let value: Value = serde_norway::from_slice(ex.response_body)
                .map_err(|e| format!("body is not YAML ({e})"))?;
            validate_value(schema, &value)
        }
        _ => Ok(()),
    }
}

fn validate_json(schema: &Value, body: &[u8]) -> Result<(), String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("body is not JSON ({e}): {}", String::from_utf8_lossy(body)))?;
    validate_value(schema, &value)
}

/// Validates `value` against a schema of the document (JSON Schema 2020-12,
/// `$ref`s into `#/components` resolved against the whole document).
pub fn validate_value(schema: &Value, value: &Value) -> Result<(), String> {
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        Value::String("https://json-schema.org/draft/2020-12/schema".into()),
    );
    root.insert("components".into(), document()["components"].clone());
    root.insert("allOf".into(), Value::Array(vec![schema.clone()]));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .map_err(|e| format!("schema does not compile: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{} — value: {value}", errors.join("; ")))
    }
}
