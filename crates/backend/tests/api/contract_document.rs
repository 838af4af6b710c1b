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
        let mut trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut indent = line.len() - trimmed.len();
        if let Some(item) = trimmed.strip_prefix("- ") {
            // A sequence item that is a mapping starts a new mapping.
            indent += 2;
            trimmed = item;
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            stack.push((indent, BTreeSet::new()));
        } else if trimmed.starts_with('-') {
            continue;
        }
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

fn enum_of(schema: &str) -> Vec<String> {
    document()["components"]["schemas"][schema]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{schema} has an enum"))
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

/// `TimeZoneName` lists exactly the names the server accepts.
#[test]
fn the_time_zone_enum_is_the_servers_tz_database() {
    let mut served: Vec<String> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name().to_owned())
        .collect();
    served.sort();
    assert_eq!(enum_of("TimeZoneName"), served);
}

/// `EmailNotificationKind` lists exactly the kinds a user may switch.
#[test]
fn the_email_kind_enum_is_the_catalogs() {
    let catalog: Vec<String> = galaxy_backend::notification::catalog::email_configurable()
        .map(|spec| spec.kind.to_owned())
        .collect();
    assert_eq!(enum_of("EmailNotificationKind"), catalog);
}

/// `NotificationKindName` lists exactly the catalog's kinds.
#[test]
fn the_kind_enum_is_the_catalogs() {
    let catalog: Vec<String> = galaxy_backend::notification::CATALOG
        .iter()
        .map(|spec| spec.kind.to_owned())
        .collect();
    assert_eq!(enum_of("NotificationKindName"), catalog);
}

/// Every request body is a closed object (the handlers deny unknown
/// fields), so the contract and the server agree on extra properties.
#[test]
fn request_bodies_are_closed_objects() {
    let doc = document();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
                continue;
            };
            let schema = match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => doc.pointer(r.trim_start_matches('#')).expect("ref"),
                None => schema,
            };
            assert_eq!(
                schema.get("additionalProperties"),
                Some(&Value::Bool(false)),
                "{method} {path}: request body schema is not closed"
            );
        }
    }
}

/// Every link names an operation and parameters that operation has, and
/// reads a property the response documents.
#[test]
fn links_lead_to_operations_and_their_parameters() {
    let doc = document();
    let resolve = |v: &Value| -> Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => doc.pointer(r.trim_start_matches('#')).expect("ref").clone(),
            None => v.clone(),
        }
    };
    let mut operations = std::collections::BTreeMap::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        let shared: Vec<Value> = item["parameters"]
            .as_array()
            .map(|a| a.iter().map(resolve).collect())
            .unwrap_or_default();
        for (method, op) in item.as_object().expect("path item") {
            if method == "parameters" {
                continue;
            }
            let mut params = shared.clone();
            if let Some(own) = op["parameters"].as_array() {
                params.extend(own.iter().map(resolve));
            }
            let names: BTreeSet<String> = params
                .iter()
                .map(|p| {
                    format!(
                        "{}.{}",
                        p["in"].as_str().unwrap(),
                        p["name"].as_str().unwrap()
                    )
                })
                .collect();
            operations.insert(op["operationId"].as_str().unwrap().to_owned(), names);
        }
    }
    let mut count = 0;
    for item in doc["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("path item").values() {
            let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                continue;
            };
            for (status, response) in responses {
                let Some(links) = response.get("links").and_then(Value::as_object) else {
                    continue;
                };
                let body = resolve(&response["content"]["application/json"]["schema"]);
                for (name, link) in links {
                    count += 1;
                    let target = link["operationId"].as_str().expect("operationId");
                    let params = operations
                        .get(target)
                        .unwrap_or_else(|| panic!("link {name}: no operation {target}"));
                    for (param, expr) in link["parameters"].as_object().expect("parameters") {
                        let qualified = if param.contains('.') {
                            param.clone()
                        } else {
                            params
                                .iter()
                                .find(|p| p.ends_with(&format!(".{param}")))
                                .cloned()
                                .unwrap_or_default()
                        };
                        assert!(
                            params.contains(&qualified),
                            "{} {status} link {name}: {target} has no parameter {param}",
                            op["operationId"]
                        );
                        let pointer = expr
                            .as_str()
                            .and_then(|e| e.strip_prefix("$response.body#/"))
                            .unwrap_or_else(|| panic!("link {name}: {expr} reads the body"));
                        let first = pointer.split('/').next().unwrap();
                        assert!(
                            body["properties"].get(first).is_some(),
                            "{} {status} link {name}: the response has no `{first}`",
                            op["operationId"]
                        );
                    }
                }
            }
        }
    }
    assert!(count > 20, "links: {count}");
}
