//! `galaxy-e2e` holds tests only (`tests/`): the integration suite that
//! boots the whole stack — PostgreSQL through a forwarder, the dev SMTP
//! server, the backend (its image in a container on a Docker network with
//! `network` engine addressing and the Docker socket mounted, or on the
//! host with `loopback` addressing), the dev gateway — and plays a game
//! through the gateway. `docs/deploy.md` describes it.
