# syntax=docker/dockerfile:1.7
# Image of the Switchboard Discord emulator, for running the whole system without a Discord token.
# Build from the repository root: docker build -f deploy/docker/emulator.Dockerfile -t switchboard-emulator .
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/switchboard && /opt/switchboard/bin/pip install pip==25.1.1
WORKDIR /src
COPY deploy/docker/constraints.txt constraints.txt
COPY services/emulator services/emulator
RUN /opt/switchboard/bin/pip install --constraint constraints.txt ./services/emulator

FROM ${PYTHON_IMAGE}
# A fixed non-root uid/gid (the Helm chart's securityContext runs as 10001); HOME points at /tmp because
# the root filesystem is read-only in Kubernetes.
RUN groupadd --gid 10001 switchboard && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp switchboard
COPY --from=build /opt/switchboard /opt/switchboard
ENV PATH=/opt/switchboard/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 HOME=/tmp
USER 10001:10001
EXPOSE 8765
CMD ["python", "-m", "switchboard.emulator", "--host", "0.0.0.0", "--port", "8765"]
