# syntax=docker/dockerfile:1
# scn's container image for people who build with Docker:
#   docker build -t scn .        (docker buildx build --platform linux/arm64 … for arm64)
# `make image` builds the same image without a container daemon
# (internal/image; docs/schedule.md): FROM scratch, a static scn with its
# agents beside it, the scenarios in /scenarios, user 65532, state in /state.
# internal/image's tests check the two agree.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=linux GOARCH=$TARGETARCH go build -trimpath -o /rootfs/usr/local/bin/scn ./cmd/scn && \
	for a in amd64 arm64; do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$a go build -trimpath -ldflags='-s -w' \
			-o /rootfs/usr/local/bin/scn-agent-linux-$a ./cmd/scn-agent || exit 1; \
	done && \
	mkdir -p /rootfs/etc /rootfs/tmp /rootfs/home/scn /rootfs/state /rootfs/scenarios && \
	printf 'root:x:0:0:root:/root:/sbin/nologin\nscn:x:65532:65532:scn:/home/scn:/sbin/nologin\n' > /rootfs/etc/passwd && \
	printf 'root:x:0:\nscn:x:65532:\n' > /rootfs/etc/group && \
	cd scenarios && find . -name '*.yaml' -exec cp --parents {} /rootfs/scenarios/ \; && \
	chmod 1777 /rootfs/tmp && chown 65532:65532 /rootfs/home/scn /rootfs/state

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin SCN_HOME=/state HOME=/home/scn
USER 65532:65532
WORKDIR /home/scn
VOLUME /state
ENTRYPOINT ["/usr/local/bin/scn"]
CMD ["--help"]
