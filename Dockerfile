# Multi-stage build: a static-ish binary on a distroless base, running as non-root.
# reqwest uses rustls, so no OpenSSL is needed at run time.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/twinform

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/twinform /usr/local/bin/twinform
USER nonroot:nonroot
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/twinform"]
CMD ["--help"]
