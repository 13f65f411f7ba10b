# syntax=docker/dockerfile:1
# Multi-stage build: the binary on a distroless base, running as non-root.
# reqwest uses rustls, so no OpenSSL is needed at run time. Multi-arch
# (linux/amd64, linux/arm64): the build stage runs on the builder's own
# platform and cross-compiles, so an arm64 image takes no emulated compile.
#
#   docker build --build-arg TWINFORM_COMMIT="$(git rev-parse HEAD)" -t twinform .
#   docker buildx build --platform linux/amd64,linux/arm64 ... .
#   docker run --rm --user "$(id -u):$(id -g)" -e TWIN_API_KEY \
#     -v "$PWD:/work" twinform plan agents/
#
# --user makes the container write .twinform/ (journal, secrets) in the mounted
# checkout as you, so a non-root image can keep its state there.
FROM --platform=$BUILDPLATFORM rust:1-slim-bookworm AS build
ARG TARGETARCH
WORKDIR /src
# The Rust target of the image's platform, and a cross linker (and C
# compiler, for ring) when it is not the builder's own.
RUN case "$TARGETARCH" in \
      amd64) echo x86_64-unknown-linux-gnu > /rust-target; gnu=x86-64-linux-gnu; arch=x86_64 ;; \
      arm64) echo aarch64-unknown-linux-gnu > /rust-target; gnu=aarch64-linux-gnu; arch=aarch64 ;; \
      *) echo "unsupported platform: $TARGETARCH (linux/amd64 and linux/arm64 are built)" >&2; exit 1 ;; \
    esac \
    && rustup target add "$(cat /rust-target)" \
    && if [ "$(uname -m)" != "$arch" ]; then \
         apt-get update -qq \
         && apt-get install -y -qq --no-install-recommends "gcc-$gnu" "libc6-dev-${TARGETARCH}-cross" \
         && rm -rf /var/lib/apt/lists/* \
         && echo "${arch}-linux-gnu-gcc" > /cross-cc; \
       fi
# Dependencies first: this layer is reused until Cargo.lock changes.
# (cargo needs every target of the manifest to exist: stubs, replaced below).
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && for b in reconcile twig cadenya; do echo 'fn main() {}' > "benches/$b.rs"; done \
    && cargo fetch --locked
COPY . .
# .git is not in the build context: the commit comes in as a build argument
# (`twinform --version` names it; docker.yml passes the tag's commit).
ARG TWINFORM_COMMIT=""
ENV TWINFORM_COMMIT=${TWINFORM_COMMIT}
# Compiled dependencies are cached across builds (a BuildKit cache mount of
# target/ per platform; the sources fetched above are in the image's layer).
RUN --mount=type=cache,target=/src/target,id=twinform-target-$TARGETARCH \
    target="$(cat /rust-target)" \
    && if [ -f /cross-cc ]; then \
         cc="$(cat /cross-cc)"; \
         upper="$(echo "$target" | tr a-z- A-Z_)"; \
         export "CARGO_TARGET_${upper}_LINKER=$cc" "CC_$(echo "$target" | tr - _)=$cc"; \
       fi \
    && CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --locked --offline --target "$target" \
    && cp "target/$target/release/twinform" /twinform

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
