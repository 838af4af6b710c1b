//! `openapi.yaml` itself is a valid OpenAPI 3.1 document: every `$ref`
//! resolves, every schema compiles as JSON Schema 2020-12, operation ids are
//! unique, path parameters are declared, every operation documents its
//! responses, and every documented error response uses the `Error` schema.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::contract::document;

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_owned());
                    }
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc = document();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "openapi: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert!(doc["paths"].is_object());
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    let mut all = Vec::new();
    refs(doc, &mut all);
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local refs are used: {r}"));
        assert!(doc.pointer(pointer).is_some(), "unresolvable $ref {r}");
    }
}

#[test]
fn every_schema_compiles() {
    let doc = document();
    for (name, _) in doc["components"]["schemas"].as_object().expect("schemas") {
        let schema = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
        crate::helpers::contract::validate_value(&schema, &Value::Null)
            .map(|_| ())
            .or_else(|e| {
                if e.starts_with("schema does not compile") {
                    Err(e)
                } else {
                    Ok(())
                }
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn operations_are_complete_and_ids_unique() {
    let doc = document();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let declared: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| {
                s.strip_prefix('{')
                    .and_then(|s| s.strip_suffix('}'))
                    .map(str::to_owned)
            })
            .collect();
        for (method, op) in item.as_object().expect("path item") {
            if method == "parameters" {
                continue;
            }
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{id}: no responses"));
            assert!(!responses.is_empty(), "{id}: empty responses");
            let mut params = Vec::new();
            for p in item
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(
                    op.get("parameters")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                )
            {
                let p = match p.get("$ref").and_then(Value::as_str) {
                    Some(r) => doc.pointer(&r[1..]).expect("param ref"),
                    None => p,
                };
                if p["in"] == "path" {
                    params.push(p["name"].as_str().unwrap_or_default().to_owned());
                }
            }
            let params: BTreeSet<String> = params.into_iter().collect();
            assert_eq!(
                params, declared,
                "{id}: path parameters must match the template {path}"
            );
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let response = match response.get("$ref").and_then(Value::as_str) {
                        Some(r) => doc.pointer(&r[1..]).expect("response ref"),
                        None => response,
                    };
                    let schema = response
                        .pointer("/content/application~1json/schema/$ref")
                        .and_then(Value::as_str);
                    assert_eq!(
                        schema,
                        Some("#/components/schemas/Error"),
                        "{id} {status}: errors use the Error schema"
                    );
                }
            }
        }
    }
}

/// YAML parsers keep the last of two equal keys silently; a duplicated
/// component or path would hide half of the contract.
#[test]
fn no_mapping_has_a_duplicate_key() {
    let mut stack: Vec<(usize, BTreeSet<String>)> = Vec::new();
    for (number, line) in galaxy_backend::server::OPENAPI_YAML.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let Some((key, _)) = trimmed.split_once(':') else {
            continue;
        };
        if key.contains(' ') && !key.starts_with('\'') && !key.starts_with('"') {
            continue; // prose inside a block scalar
        }
        while stack.last().is_some_and(|(i, _)| *i > indent) {
            stack.pop();
        }
        if stack.last().is_none_or(|(i, _)| *i < indent) {
            stack.push((indent, BTreeSet::new()));
        }
        let (_, keys) = stack.last_mut().expect("a level");
        assert!(
            keys.insert(key.to_owned()),
            "openapi.yaml line {}: duplicate key `{key}`",
            number + 1
        );
    }
}
