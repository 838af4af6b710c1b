//! `/docs` in a real browser: headless Chromium (Debian `chromium`, which
//! `scripts/ensure-packages.sh` installs) loads the page from the running
//! backend — with no network beyond it, so the assets must be embedded —
//! runs Swagger UI and must render every path of the contract.

use std::time::Duration;

use crate::helpers::TestApp;
use crate::helpers::contract::document;

/// The page's DOM after its scripts ran (`chromium --dump-dom`).
async fn rendered_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", url])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("chromium finishes within two minutes")
        .unwrap_or_else(|e| {
            panic!("cannot run chromium ({e}); scripts/ensure-packages.sh installs it")
        });
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_docs_page_renders_every_operation_in_a_headless_browser() {
    let app = TestApp::spawn().await;
    let dom = rendered_dom(&format!("http://{}/docs", app.addr)).await;
    assert!(dom.contains("swagger-ui"), "not Swagger UI:\n{dom}");
    assert!(
        dom.contains("opblock"),
        "no operation was rendered (did the script or the contract fail to load?):\n{dom}"
    );
    let paths = document()["paths"].as_object().expect("paths");
    let missing: Vec<&String> = paths
        .keys()
        .filter(|path| !dom.contains(&format!("data-path=\"{path}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "operations not rendered: {missing:?}\n{dom}"
    );
}
