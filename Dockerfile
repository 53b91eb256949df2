# syntax=docker/dockerfile:1
# Multi-stage build of the lkaas binary: modules come from the Go module proxy only, the result
# is a static binary in a distroless image, run as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
ARG VERSION=dev
ARG COMMIT=unknown
RUN go build -trimpath \
    -ldflags "-s -w -X github.com/dcn-ssu/lkaas/internal/version.Version=${VERSION} -X github.com/dcn-ssu/lkaas/internal/version.Commit=${COMMIT}" \
    -o /out/lkaas ./cmd/lkaas

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/lkaas /usr/local/bin/lkaas
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/lkaas"]
CMD ["controller"]
