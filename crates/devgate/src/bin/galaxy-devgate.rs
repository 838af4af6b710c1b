//! `galaxy-devgate`: the reference gateway (development only; see docs/auth.md).

use galaxy_devgate::{Config, Gateway};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEVGATE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::from_env()?;
    let gateway = Gateway::bind(config.clone()).await?;
    tracing::info!(
        addr = %gateway.local_addr(),
        backend = %config.backend_url,
        "galaxy-devgate listening (a development gateway, not for production)"
    );
    gateway
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
