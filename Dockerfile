# The training and serving image: `docker run IMAGE train` and `docker run IMAGE serve`, as
# SageMaker runs it (see docker/entrypoint.sh). Build from the repository root:
#   docker build -t recpipe-recommender:latest .
# The first stage compiles recpipe (DuckDB's C++ included, so the first build is long); the final
# image holds the one binary, CA certificates and an unprivileged user.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN cargo build --release --locked -p cli --bin recpipe \
    && strip target/release/recpipe

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /opt/ml --shell /usr/sbin/nologin recpipe \
    && mkdir -p /opt/ml/input /opt/ml/model /opt/ml/output \
    && chown -R recpipe /opt/ml
COPY --from=build /src/target/release/recpipe /usr/local/bin/recpipe
COPY docker/entrypoint.sh /usr/local/bin/entrypoint
USER 10001
WORKDIR /opt/ml
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/entrypoint"]
