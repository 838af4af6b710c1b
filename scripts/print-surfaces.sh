#!/usr/bin/env bash
# Prints where each local surface listens; `make run` calls it after sourcing dev-env.sh.
set -euo pipefail
cat <<MSG
galaxy-backend (development stack)
  REST        http://${BACKEND_HTTP_LISTEN_ADDR}   (API reference: /docs, contract: /openapi.yaml)
  gRPC        ${BACKEND_GRPC_PUSH_LISTEN_ADDR}      (grpcurl -plaintext ${BACKEND_GRPC_PUSH_LISTEN_ADDR} list)
  metrics     http://${BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR}/metrics
  SMTP        ${BACKEND_SMTP_HOST}:${BACKEND_SMTP_PORT}   (web inbox: http://127.0.0.1:8025)
  GeoIP       ${BACKEND_GEOIP_DB_PATH}
  admin       ${BACKEND_ADMIN_BOOTSTRAP_USER} / ${BACKEND_ADMIN_BOOTSTRAP_PASSWORD}   (local development password, scripts/dev-env.sh)
              curl -u ${BACKEND_ADMIN_BOOTSTRAP_USER}:${BACKEND_ADMIN_BOOTSTRAP_PASSWORD} http://${BACKEND_HTTP_LISTEN_ADDR}/api/v1/admin/admin-accounts
Stop with Ctrl-C (graceful shutdown).
MSG
