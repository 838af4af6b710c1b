//! The one paging style of list endpoints: `?page=1&per_page=50` in,
//! `{"items": […], "page": 1, "per_page": 50, "total": N}` out.
//!
//! Handlers take a [`PageRequest`] (an extractor that validates the query:
//! `page` ≥ 1, `per_page` 1–[`MAX_PER_PAGE`], bad values → 400
//! `invalid_query`) and answer a [`Page`]. In `openapi.yaml`, use the
//! `Page`/`PerPage` parameters and a `…Page` schema shaped like `AdminAccountPage`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::Query;

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 200;

/// The raw query; see [`PageRequest`] for the validated form.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl PageRequest {
    pub fn new(query: PageQuery) -> Result<Self, ApiError> {
        let page = query.page.unwrap_or(1);
        let per_page = query.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 {
            return Err(ApiError::bad_request("invalid_query", "`page` starts at 1"));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("`per_page` is between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok(Self { page, per_page })
    }

    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }

    /// Rows to return.
    pub fn limit(&self) -> u32 {
        self.per_page
    }

    /// One page whose items are already JSON text (e.g. cached
    /// serialisations), written without parsing them again.
    pub fn page_of_json<'a>(
        &self,
        items: impl IntoIterator<Item = &'a str>,
        total: u64,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        let mut body = String::with_capacity(4096);
        body.push_str("{\"items\":[");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(item);
        }
        body.push_str(&format!(
            "],\"page\":{},\"per_page\":{},\"total\":{total}}}",
            self.page, self.per_page
        ));
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response()
    }

    /// Wraps one page of `items` out of `total`.
    pub fn page<T>(&self, items: Vec<T>, total: u64) -> Page<T> {
        Page {
            items,
            page: self.page,
            per_page: self.per_page,
            total,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<PageQuery>::from_request_parts(parts, state).await?;
        Self::new(query)
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// Items in the whole list.
    pub total: u64,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            per_page: self.per_page,
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            PageRequest::new(PageQuery::default()).unwrap(),
            PageRequest {
                page: 1,
                per_page: 50
            }
        );
        assert!(
            PageRequest::new(PageQuery {
                page: Some(0),
                per_page: None
            })
            .is_err()
        );
        assert!(
            PageRequest::new(PageQuery {
                page: None,
                per_page: Some(0)
            })
            .is_err()
        );
        assert!(
            PageRequest::new(PageQuery {
                page: None,
                per_page: Some(MAX_PER_PAGE + 1)
            })
            .is_err()
        );
        let p = PageRequest::new(PageQuery {
            page: Some(3),
            per_page: Some(20),
        })
        .unwrap();
        assert_eq!((p.offset(), p.limit()), (40, 20));
    }
}
