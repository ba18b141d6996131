# syntax=docker/dockerfile:1.7
#
# idlebridge container image: a static binary on distroless, running as the
# unprivileged "nonroot" user (uid 65532).
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t idlebridge .
#
# Mount your configuration at /etc/idlebridge/idlebridge.yaml and the users
# directory at /etc/idlebridge/users (both read-only); state lives in /data.
# deploy/compose.yaml shows the whole setup.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so source edits do not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/idlebridge ./cmd/idlebridge
# Distroless has no shell to create directories with: make them here.
RUN mkdir -p /out/data /out/etc/idlebridge/users

# The default configuration: every path points into the container layout.
# Mount your own over it; IDLEBRIDGE_* environment variables override single
# keys (e.g. IDLEBRIDGE_PUBLIC_URL, IDLEBRIDGE_REDIS_URL).
COPY <<'YAML' /out/etc/idlebridge/idlebridge.yaml
listen: ":8080"
data_dir: /data
users_dir: /etc/idlebridge/users
metrics:
  listen: ":9090"
log:
  format: json
YAML

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/idlebridge /idlebridge
COPY --from=build /out/etc/idlebridge /etc/idlebridge
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
# 8080: ActiveSync and Autodiscover (plain HTTP unless tls is configured).
# 9090: /metrics, /healthz, /readyz.
EXPOSE 8080 9090
# The image has no shell or curl: the binary checks itself. Set
# IDLEBRIDGE_HEALTHCHECK_URL when the listeners are elsewhere.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/idlebridge", "healthcheck"]
ENTRYPOINT ["/idlebridge"]
CMD ["serve", "--config", "/etc/idlebridge/idlebridge.yaml"]
