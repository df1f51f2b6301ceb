# A local stand-in for the `rust:<version>-slim-bookworm` image, for machines
# without an image registry (scripts/devstack-test.sh builds it): the local
# Debian base plus a copy of the host's Rust toolchain (the build context's
# `rust/` folder). Same layout as the official image: CARGO_HOME is
# /usr/local/cargo and cargo is on PATH. It trusts the certificate
# authorities the host added locally (the context's `ca/` folder, a copy of
# /usr/local/share/ca-certificates), so cargo reaches crates.io the way the
# host does.
ARG BASE_IMAGE=localhost/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
COPY rust/ /usr/local/rust/
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin && rustc --version && cargo --version
