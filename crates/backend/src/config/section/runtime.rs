//! Engines and their containers: `BACKEND_DOCKER_*`, `BACKEND_ENGINE_*`,
//! `BACKEND_RUNTIME_*`.

use crate::config::load::Loader;
use crate::config::parse::parse_size;
use crate::config::values::{
    at_least, container_path, cpu_quota, docker_endpoint, docker_name, duration, log_opts, one_of,
    pids_limit, positive_duration, positive_u32,
};
use crate::config::{
    DockerConfig, EngineAddressing, EngineConfig, ImagePullPolicy, RuntimeConfig, RuntimeDriver,
};

/// Docker refuses `--memory` below 6 MiB; failing here is clearer than at the first game start.
const MIN_CONTAINER_MEMORY: u64 = 6 << 20;

/// `label=image,label=image`: each side non-empty, labels distinct (the
/// registry checks that labels are semantic versions when it registers them).
fn engine_versions(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in s.split(',') {
        let Some((label, image)) = pair.split_once('=') else {
            return Err(format!(
                "{pair:?} is not label=image (expected e.g. 0.1.0=galaxy/game:0.1.0)"
            ));
        };
        let (label, image) = (label.trim(), image.trim());
        if label.is_empty() || image.is_empty() {
            return Err(format!("{pair:?} needs both a label and an image"));
        }
        if !crate::semver::is_semver(label) {
            return Err(format!(
                "label {label:?} is not a semantic version such as 0.1.0"
            ));
        }
        if image.chars().any(char::is_whitespace) {
            return Err(format!("image {image:?} contains white space"));
        }
        if pairs.iter().any(|(l, _)| l == label) {
            return Err(format!("label {label} is listed twice"));
        }
        pairs.push((label.to_owned(), image.to_owned()));
    }
    Ok(pairs)
}

/// `image=path,image=path`, or one path run for every image.
fn process_binaries(s: &str) -> Result<Vec<(Option<String>, String)>, String> {
    let mut out: Vec<(Option<String>, String)> = Vec::new();
    for item in s.split(',') {
        let (image, path) = match item.split_once('=') {
            Some((image, path)) => (Some(image.trim().to_owned()), path.trim()),
            None => (None, item.trim()),
        };
        if path.is_empty() || image.as_deref().is_some_and(str::is_empty) {
            return Err(format!(
                "{item:?} is not image=/path/to/galaxy-game or a path"
            ));
        }
        if !path.starts_with('/') {
            return Err(format!("{path:?} is not an absolute path"));
        }
        if out.iter().any(|(i, _)| *i == image) {
            return Err(format!("{item:?}: that image is listed twice"));
        }
        out.push((image, path.to_owned()));
    }
    Ok(out)
}

impl Loader {
    pub(in crate::config) fn docker(&mut self) -> Option<DockerConfig> {
        let host = self.value("BACKEND_DOCKER_HOST", docker_endpoint);
        let network = self.value("BACKEND_DOCKER_NETWORK", docker_name);
        Some(DockerConfig {
            host: host?,
            network: network?,
        })
    }

    pub(in crate::config) fn engine(&mut self) -> Option<EngineConfig> {
        let call_timeout = self.value("BACKEND_ENGINE_CALL_TIMEOUT", positive_duration);
        let probe_timeout = self.value("BACKEND_ENGINE_PROBE_TIMEOUT", positive_duration);
        Some(EngineConfig {
            call_timeout: call_timeout?,
            probe_timeout: probe_timeout?,
        })
    }

    pub(in crate::config) fn runtime(&mut self) -> Option<RuntimeConfig> {
        const PULL_POLICIES: &[(&str, ImagePullPolicy)] = &[
            ("if_missing", ImagePullPolicy::IfMissing),
            ("always", ImagePullPolicy::Always),
            ("never", ImagePullPolicy::Never),
        ];
        const DRIVERS: &[(&str, RuntimeDriver)] = &[
            ("docker", RuntimeDriver::Docker),
            ("process", RuntimeDriver::Process),
        ];
        const ADDRESSING: &[(&str, EngineAddressing)] = &[
            ("network", EngineAddressing::Network),
            ("loopback", EngineAddressing::Loopback),
        ];
        let worker_pool_size = self.value("BACKEND_RUNTIME_WORKER_POOL_SIZE", positive_u32);
        let job_queue_size = self.value("BACKEND_RUNTIME_JOB_QUEUE_SIZE", positive_u32);
        let reconcile_interval =
            self.value("BACKEND_RUNTIME_RECONCILE_INTERVAL", positive_duration);
        let image_pull_policy =
            self.value("BACKEND_RUNTIME_IMAGE_PULL_POLICY", one_of(PULL_POLICIES));
        let container_log_driver = self.value("BACKEND_RUNTIME_CONTAINER_LOG_DRIVER", docker_name);
        let container_log_opts = self.optional("BACKEND_RUNTIME_CONTAINER_LOG_OPTS", log_opts);
        let container_cpu_quota = self.value("BACKEND_RUNTIME_CONTAINER_CPU_QUOTA", cpu_quota);
        let container_memory_bytes = self.value("BACKEND_RUNTIME_CONTAINER_MEMORY", |s| {
            at_least(
                parse_size(s)?,
                MIN_CONTAINER_MEMORY,
                "6m (Docker's minimum)",
            )
        });
        let container_pids_limit = self.value("BACKEND_RUNTIME_CONTAINER_PIDS_LIMIT", pids_limit);
        let container_state_mount =
            self.value("BACKEND_RUNTIME_CONTAINER_STATE_MOUNT", container_path);
        let stop_grace_period = self.value("BACKEND_RUNTIME_STOP_GRACE_PERIOD", duration);
        let driver = self.value("BACKEND_RUNTIME_DRIVER", one_of(DRIVERS));
        let engine_addressing = self.value("BACKEND_RUNTIME_ENGINE_ADDRESSING", one_of(ADDRESSING));
        let engine_versions = self.optional("BACKEND_RUNTIME_ENGINE_VERSIONS", engine_versions);
        let process_binaries = self.optional("BACKEND_RUNTIME_PROCESS_BINARIES", process_binaries);
        if driver == Some(RuntimeDriver::Process) && matches!(process_binaries, Some(None)) {
            self.fail(
                "BACKEND_RUNTIME_PROCESS_BINARIES",
                "is required when BACKEND_RUNTIME_DRIVER=process (the galaxy-game binary to run)",
            );
        }
        Some(RuntimeConfig {
            worker_pool_size: worker_pool_size?,
            job_queue_size: job_queue_size?,
            reconcile_interval: reconcile_interval?,
            image_pull_policy: image_pull_policy?,
            container_log_driver: container_log_driver?,
            container_log_opts: container_log_opts?.unwrap_or_default(),
            container_cpu_quota: container_cpu_quota?,
            container_memory_bytes: container_memory_bytes?,
            container_pids_limit: container_pids_limit?,
            container_state_mount: container_state_mount?,
            stop_grace_period: stop_grace_period?,
            driver: driver?,
            engine_addressing: engine_addressing?,
            engine_versions: engine_versions?.unwrap_or_default(),
            process_binaries: process_binaries?.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{engine_versions, process_binaries};
    use crate::config::testing::errors;

    #[test]
    fn process_binaries_are_one_path_or_image_path_pairs() {
        assert_eq!(
            process_binaries("/opt/g, galaxy/game:0.1.1=/opt/g11").unwrap(),
            [
                (None, "/opt/g".to_owned()),
                (Some("galaxy/game:0.1.1".to_owned()), "/opt/g11".to_owned())
            ]
        );
        assert!(process_binaries("relative/galaxy-game").is_err());
        assert!(process_binaries("=/opt/g").is_err());
        assert!(process_binaries("/a,/b").is_err());
    }

    #[test]
    fn the_process_driver_needs_its_binaries() {
        let text = errors(&[("BACKEND_RUNTIME_DRIVER", "process")]).to_string();
        assert!(text.contains("BACKEND_RUNTIME_PROCESS_BINARIES"), "{text}");
    }

    #[test]
    fn engine_versions_refuse_labels_that_are_not_semver_and_spaced_images() {
        assert!(engine_versions("latest=galaxy/game:latest").is_err());
        assert!(engine_versions("0.1.0=galaxy/game 0.1.0").is_err());
        assert!(engine_versions("0.1.0=a,0.1.0=b").is_err());
    }

    #[test]
    fn engine_versions_are_label_image_pairs_in_order() {
        let pairs =
            engine_versions("0.1.0=galaxy/game:0.1.0, 0.2.0 = registry/game@sha256:ab").unwrap();
        assert_eq!(
            pairs,
            [
                ("0.1.0".to_owned(), "galaxy/game:0.1.0".to_owned()),
                ("0.2.0".to_owned(), "registry/game@sha256:ab".to_owned()),
            ]
        );
    }

    #[test]
    fn engine_versions_refuse_missing_sides_and_duplicates() {
        for bad in ["0.1.0", "=galaxy/game", "0.1.0=", "0.1.0=a,0.1.0=b", ""] {
            assert!(engine_versions(bad).is_err(), "{bad}");
        }
    }
}
