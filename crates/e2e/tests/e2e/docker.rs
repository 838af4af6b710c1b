//! The `docker` CLI, and the guard that removes what a scenario created
//! (its network and every container on it) even when the test fails,
//! printing the containers' logs first when it does.

use std::process::Command;

/// Runs `docker ARGS`; its stdout (trimmed) or, when it fails, why.
pub fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| format!("docker {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// [`docker`], panicking with the reason when it fails.
pub fn must(args: &[&str]) -> String {
    docker(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Panics with how to build `image` when the daemon does not have it.
pub fn require_image(image: &str) {
    if docker(&["image", "inspect", "--format", "{{.Id}}", image]).is_err() {
        panic!(
            "image {image} is missing: run `make images` (scripts/backend-image.sh, scripts/engine-image.sh)"
        );
    }
}

/// A dedicated bridge network (`galaxy-e2e-<pid>-<n>`) for one scenario:
/// the backend container and the engines live on it. Dropping it removes
/// every container on it (engines included), then the network; if the
/// thread is panicking, each container's logs are printed first.
pub struct Network {
    pub name: String,
    /// The host's address on the network (its gateway): what containers
    /// use to reach the host's forwarder and SMTP server.
    pub gateway: std::net::IpAddr,
}

impl Network {
    pub fn create(tag: &str) -> Network {
        let name = format!(
            "galaxy-e2e-{tag}-{}-{}",
            std::process::id(),
            rand::random::<u16>()
        );
        must(&[
            "network",
            "create",
            "--driver",
            "bridge",
            "--label",
            "galaxy.e2e=1",
            &name,
        ]);
        let mut network = Network {
            gateway: [0, 0, 0, 0].into(),
            name,
        };
        // From here on the guard removes the network, even if this fails.
        let gateway = must(&[
            "network",
            "inspect",
            "--format",
            "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
            &network.name,
        ]);
        network.gateway = gateway
            .parse()
            .unwrap_or_else(|e| panic!("gateway {gateway:?} of {}: {e}", network.name));
        network
    }

    /// Names of the containers attached to the network, running or not.
    pub fn containers(&self) -> Vec<String> {
        docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("network={}", self.name),
            "--format",
            "{{.Names}}",
        ])
        .map(|out| out.lines().map(str::to_owned).collect())
        .unwrap_or_default()
    }

    /// Prints the logs of every container on the network (to the test's
    /// output, which the harness shows for a failed test).
    pub fn print_logs(&self) {
        for name in self.containers() {
            let logs = Command::new("docker")
                .args(["logs", "--tail", "200", &name])
                .output()
                .map(|o| {
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    )
                })
                .unwrap_or_else(|e| e.to_string());
            println!("──── docker logs {name} (last 200 lines) ────\n{logs}");
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_logs();
        }
        let containers = self.containers();
        if !containers.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(containers.iter().map(String::as_str));
            let _ = docker(&args);
        }
        let _ = docker(&["network", "rm", &self.name]);
    }
}
