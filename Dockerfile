# The service and the migration CLI in one small image:
#   /usr/local/bin/app        the HTTP service; migrates the database on start
#                             (MIGRATE_ON_START=upgrade|check|off)
#   /usr/local/bin/migration  the migration CLI (reads DATABASE_URL), e.g.
#                             `docker compose exec app migration down -n 3`
#
# Build: docker build -t print-farm-app:dev .   (or `docker compose build`)
#
# Needs BuildKit (Docker 20.10+; the cache mounts below), and no `# syntax=`
# line on purpose: the built-in Dockerfile frontend is enough, so a build does
# not fetch a frontend image. The two base images are build arguments whose
# defaults are the official images; scripts/devstack-test.sh passes local
# stand-ins on machines without an image registry:
#   --build-arg BUILDER_IMAGE=...  an image with cargo on PATH, CARGO_HOME=/usr/local/cargo
#   --build-arg RUNTIME_IMAGE=...  a Debian bookworm root filesystem with apt

ARG RUST_VERSION=1.94
ARG DEBIAN_RELEASE=bookworm
ARG BUILDER_IMAGE=rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE}
ARG RUNTIME_IMAGE=debian:${DEBIAN_RELEASE}-slim

# ---- build stage: compile both binaries in release mode
FROM ${BUILDER_IMAGE} AS builder
WORKDIR /src
COPY . .
# The cache mounts keep the registry and the target folder between builds; the
# binaries are copied out of the (cached, so unexported) target folder.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p app -p migration \
 && mkdir -p /out \
 && cp target/release/app target/release/migration /out/

# ---- runtime stage: debian-slim, a non-root user, both binaries on PATH
FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --uid 10001 --home-dir /srv/app --create-home app \
 && mkdir -p /srv/app/data \
 && chown app:app /srv/app/data
COPY --from=builder /out/app /usr/local/bin/app
COPY --from=builder /out/migration /usr/local/bin/migration
# Without DATABASE_URL the app uses the embedded SQLite file data/dev.db here.
WORKDIR /srv/app
USER app
ENV APP_ADDR=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["app"]
