# syntax=docker/dockerfile:1
# Multi-stage build: the binary on a distroless base, running as non-root.
# reqwest uses rustls, so no OpenSSL is needed at run time.
#
#   docker build --build-arg TWINFORM_COMMIT="$(git rev-parse HEAD)" -t twinform .
#   docker run --rm --user "$(id -u):$(id -g)" -e TWIN_API_KEY \
#     -v "$PWD:/work" twinform plan agents/
#
# --user makes the container write .twinform/ (journal, secrets) in the mounted
# checkout as you, so a non-root image can keep its state there.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
# Dependencies first: this layer is reused until Cargo.lock changes.
# (cargo needs every target of the manifest to exist: stubs, replaced below).
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && for b in reconcile twig cadenya; do echo 'fn main() {}' > "benches/$b.rs"; done \
    && cargo fetch --locked
COPY . .
# .git is not in the build context: the commit comes in as a build argument.
ARG TWINFORM_COMMIT=""
ENV TWINFORM_COMMIT=${TWINFORM_COMMIT}
# Compiled dependencies are cached across builds (a BuildKit cache mount of
# target/; the sources fetched above are in the image's layer).
RUN --mount=type=cache,target=/src/target \
    cargo build --release --locked --offline \
    && strip target/release/twinform \
    && cp target/release/twinform /twinform

# A variant with a shell, for --secrets-command (it runs `sh -c CMD`), which
# the distroless image below cannot run; add your secret manager's CLI on top:
#   docker build --target debian -t twinform:debian .
FROM debian:bookworm-slim AS debian
RUN useradd --uid 65532 --user-group --no-create-home --home-dir /work nonroot
COPY --from=build /twinform /usr/local/bin/twinform
USER nonroot:nonroot
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/twinform"]
CMD ["--help"]

# The default image (the last stage): no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /twinform /usr/local/bin/twinform
USER nonroot:nonroot
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/twinform"]
CMD ["--help"]
