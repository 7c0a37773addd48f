#!/bin/sh
# The image's entrypoint, following SageMaker's container contract: SageMaker runs the image as
# `IMAGE train` (read /opt/ml/input, write /opt/ml/model and /opt/ml/output) or `IMAGE serve`
# (answer GET /ping and POST /invocations on SAGEMAKER_BIND_TO_PORT, default 8080). The serving
# worker threads follow SAGEMAKER_MODEL_SERVER_WORKERS (default: one per CPU).
set -eu
bin="${RECPIPE_BIN:-/usr/local/bin/recpipe}"
root="${RECPIPE_ML_ROOT:-/opt/ml}"
case "${1:-}" in
  train)
    shift
    exec "$bin" container train --ml-root "$root" "$@"
    ;;
  serve)
    shift
    if [ -n "${SAGEMAKER_MODEL_SERVER_WORKERS:-}" ]; then
      TOKIO_WORKER_THREADS="$SAGEMAKER_MODEL_SERVER_WORKERS"
      export TOKIO_WORKER_THREADS
    fi
    exec "$bin" container serve --ml-root "$root" --host "${RECPIPE_BIND_HOST:-0.0.0.0}" --port "${SAGEMAKER_BIND_TO_PORT:-8080}" "$@"
    ;;
  *)
    exec "$bin" "$@"
    ;;
esac
