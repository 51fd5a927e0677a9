# syntax=docker/dockerfile:1
# The rowgate image: built from this repository in a Rust builder stage; the runtime stage is
# debian:bookworm-slim with the one binary (migrations, functions and policies are embedded in it), CA
# certificates, and an unprivileged user.
#
#   docker build -t rowgate .
#   docker run --rm -e DATABASE_URL=postgres://authenticator:…@db/app -e ROWGATE_JWT_SECRET=… -p 3000:3000 rowgate
#   docker run --rm -e DATABASE_URL=postgres://postgres:…@db/app rowgate migrate
#
# docker-compose.yml builds and runs it; docs/operations.md explains the deployment.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# Cargo.lock is honoured exactly (--locked); the registry and target caches speed up rebuilds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin rowgate \
 && install -D -m 0755 target/release/rowgate /out/rowgate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin rowgate
COPY --from=build /out/rowgate /usr/local/bin/rowgate
USER 10001:10001
# In a container the listeners face the container network (the image's defaults are loopback).
ENV ROWGATE_LISTEN=0.0.0.0:3000 \
    ROWGATE_ADMIN_LISTEN=0.0.0.0:3001 \
    ROWGATE_LOG_FORMAT=json
# 3000: the API (put Caddy in front of it). 3001: /live, /ready, /metrics (never publish it).
EXPOSE 3000 3001
# Ready = schema cache loaded and a pooled connection answers. No curl in the image: bash's
# /dev/tcp asks the admin listener.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3001 && printf 'GET /ready HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["rowgate"]
CMD ["serve"]
