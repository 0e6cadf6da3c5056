# jobscope image: both commands (`jobscope slurm`, `jobscope node`), built by `make image`, and
# jobscope-node, `jobscope node` alone, which the chart's DaemonSet runs (docs/deploy.md).
#
# The binary is built with cgo because go-nvml needs it, but go-nvml loads libnvidia-ml.so.1
# with dlopen at run time: nothing of NVIDIA's is needed to build, and the binary links only
# against glibc (test/deploy checks its dynamic libraries). NVML comes from the host's driver
# at run time: the NVIDIA container toolkit mounts it into the container when the pod runs
# under its runtime (runtimeClassName: nvidia, or the default runtime on GPU Operator nodes)
# with NVIDIA_VISIBLE_DEVICES=all and NVIDIA_DRIVER_CAPABILITIES=utility (set below; the chart
# sets them too). Without it the nvml backend reports library_not_found and everything else
# is served.
#
# Not fully static: glibc's dlopen from a static binary cannot load a shared library built
# against glibc (libnvidia-ml), so the run stage keeps glibc (distroless base) and nothing else.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first: a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The version comes from the build arguments (`make image` passes git's), since .git is not
# copied in.
ARG VERSION=""
ARG REVISION=""
ARG BRANCH=""
RUN make build BIN=/out/jobscope VERSION="${VERSION}" REVISION="${REVISION}" BRANCH="${BRANCH}" \
      BUILD_USER=docker BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    && /out/jobscope --version && /out/jobscope-node --version

# glibc, CA certificates, tzdata, no shell; bookworm's glibc is the one the binary was
# linked against.
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/jobscope /out/jobscope-node /usr/local/bin/
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=utility
# distroless' nonroot user. The node agent's DaemonSet runs it as root without capabilities
# (the kubelet's pod-resources socket is root's): see deploy/helm/jobscope/values.yaml.
USER 65532:65532
# 9850: jobscope slurm, 9851: jobscope node
EXPOSE 9850 9851
ENTRYPOINT ["/usr/local/bin/jobscope"]
CMD ["--help"]
