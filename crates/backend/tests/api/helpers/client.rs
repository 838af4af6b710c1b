//! A typed HTTP client for tests whose every exchange is validated against
//! `openapi.yaml` (see [`super::contract`]). A contract violation panics
//! with a message naming the request, the status and the mismatch.

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::contract;

#[derive(Clone)]
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
}

impl ApiClient {
    pub fn new(base: String) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { base, http }
    }

    /// The same client, connecting from another local address (any of
    /// 127.0.0.0/8 on Linux): a different TCP peer for the server.
    pub fn bound_to(&self, local: std::net::IpAddr) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(local)
            .build()
            .expect("client");
        Self {
            base: self.base.clone(),
            http,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> Call {
        Call {
            client: self.clone(),
            method,
            path: path.to_owned(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> Call {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call {
        self.request(Method::POST, path)
    }

    pub fn delete(&self, path: &str) -> Call {
        self.request(Method::DELETE, path)
    }
}

enum Body {
    Json(Value),
    Raw {
        content_type: Option<String>,
        bytes: Vec<u8>,
    },
}

/// One request under construction.
pub struct Call {
    client: ApiClient,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<Body>,
}

impl Call {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
        self
    }

    /// `X-User-ID` as the gateway would inject it.
    pub fn user(self, user_id: Uuid) -> Self {
        self.header("x-user-id", &user_id.to_string())
    }

    pub fn basic_auth(self, username: &str, password: &str) -> Self {
        use base64::Engine as _;
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        self.header("authorization", &format!("Basic {token}"))
    }

    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_owned(), value.to_string()));
        self
    }

    pub fn json(mut self, body: impl serde::Serialize) -> Self {
        self.body = Some(Body::Json(
            serde_json::to_value(body).expect("serialisable body"),
        ));
        self
    }

    /// A body sent as-is, for malformed-input tests.
    pub fn raw_body(mut self, content_type: Option<&str>, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Some(Body::Raw {
            content_type: content_type.map(str::to_owned),
            bytes: bytes.into(),
        });
        self
    }

    /// Sends the request and validates the exchange against the contract.
    pub async fn send(self) -> TestResponse {
        let url = format!("{}{}", self.client.base, self.path);
        let mut req = self
            .client
            .http
            .request(self.method.clone(), &url)
            .headers(self.headers.clone());
        if !self.query.is_empty() {
            req = req.query(&self.query);
        }
        let (json_body, content_type) = match &self.body {
            Some(Body::Json(v)) => {
                req = req.json(v);
                (Some(v.clone()), Some("application/json".to_owned()))
            }
            Some(Body::Raw {
                content_type,
                bytes,
            }) => {
                if let Some(ct) = content_type {
                    req = req.header(CONTENT_TYPE, ct);
                }
                req = req.body(bytes.clone());
                let parsed = serde_json::from_slice::<Value>(bytes).ok();
                (parsed, content_type.clone())
            }
            None => (None, None),
        };
        let response = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {} failed: {e}", self.method, self.path));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("response body").to_vec();
        let response_ct = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let exchange = contract::Exchange {
            method: self.method.as_str(),
            path: &self.path,
            query: &self.query,
            request_headers: &self.headers,
            request_body: json_body.as_ref(),
            request_content_type: content_type.as_deref(),
            status,
            response_content_type: response_ct.as_deref(),
            response_body: &body,
        };
        if let Err(violation) = contract::check(&exchange) {
            panic!("contract violation: {violation}");
        }
        TestResponse {
            status,
            headers,
            body,
        }
    }
}

/// A response that has passed contract validation.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not the expected JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn value(&self) -> Value {
        self.json()
    }

    /// The `error.code` of an error response.
    pub fn error_code(&self) -> String {
        self.value()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body: {:?}", self.value()))
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status,
            expected,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }
}
