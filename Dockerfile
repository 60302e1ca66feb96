# vbwd in a container: a static binary on distroless, running as a non-root
# user, serving the engine root /srv/vbwd (the shipped plugins; mount your own
# over it) against the PostgreSQL named by DATABASE_URL — the image has no
# embedded database. docs/ops.md, "Install", shows it; compose.yaml runs two
# nodes on one PostgreSQL.
#
#   docker build -t vbwd .
#   docker run -e DATABASE_URL=postgres://... -e VBWD_ADMIN_TOKEN=... -p 8080:8080 vbwd

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first, so that a source change does not download them again
# (gopher-lua is replaced by the patched copy in third_party/).
COPY go.mod go.sum ./
COPY third_party/ third_party/
RUN go mod download
COPY . .
# Empty VERSION: the version and revision come from the build info (a clone's
# .git is in the build context); set it to name a release.
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=auto -ldflags "-s -w -X main.version=${VERSION}" -o /out/vbwd ./cmd/vbwd
RUN mkdir -p /out/root/.data && cp -R plugins plugins.json config.json /out/root/

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vbwd /usr/local/bin/vbwd
# The root is writable by the runtime user: plugins.json records enable and
# disable, .data/ the last cluster change this node applied.
COPY --from=build --chown=65532:65532 /out/root /srv/vbwd
ENV VBWD_ROOT=/srv/vbwd VBWD_ADDR=0.0.0.0:8080 VBWD_LOG_FORMAT=json
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/vbwd"]
CMD ["serve"]
