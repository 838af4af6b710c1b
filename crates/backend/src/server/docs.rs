//! `GET /docs`: an interactive API reference (Swagger UI) of the served
//! contract, `/openapi.yaml`. Its script and stylesheet come from the
//! `swagger-ui-dist` crate and are compiled into the binary: no CDN, so
//! the page works on an air-gapped host. The page and its assets live
//! under `/docs/`; the contract stays at `/openapi.yaml`.

use std::convert::Infallible;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;
use swagger_ui_dist::{ApiDefinition, OpenApiSource};
use tower::ServiceExt as _;

use super::AppState;

/// Where the reference and its assets are served.
pub const DOCS_PATH: &str = "/docs";

/// Swagger UI's own routes (`/docs`, `/docs/swagger-ui-bundle.js`, …),
/// built once.
static SWAGGER_UI: LazyLock<Router> = LazyLock::new(|| {
    swagger_ui_dist::generate_routes(ApiDefinition {
        uri_prefix: DOCS_PATH,
        api_definition: OpenApiSource::Uri("/openapi.yaml"),
        title: Some("galaxy-backend API"),
    })
});

/// The page and its assets, as routes of the application.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(DOCS_PATH, get(swagger_ui))
        .route("/docs/{asset}", get(swagger_ui))
}

/// Hands the request to Swagger UI's routes (an unknown asset is their 404).
async fn swagger_ui(request: Request) -> Response {
    let answer: Result<Response, Infallible> = SWAGGER_UI.clone().oneshot(request).await;
    match answer {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    async fn get(uri: &str) -> (u16, String, Vec<u8>) {
        let response = SWAGGER_UI
            .clone()
            .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, content_type, body)
    }

    #[tokio::test]
    async fn the_page_loads_embedded_assets_and_the_served_contract() {
        let (status, content_type, page) = get("/docs").await;
        assert_eq!(status, 200);
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("url: '/openapi.yaml'"), "{page}");
        assert!(page.contains("/docs/swagger-ui-bundle.js"), "{page}");
        assert!(!page.contains("https://"), "no CDN: {page}");
        for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
            let (status, _, body) = get(asset).await;
            assert_eq!(status, 200, "{asset}");
            assert!(body.len() > 10_000, "{asset} is the real asset");
        }
    }
}
