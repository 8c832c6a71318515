# The painter's serving image: `python -m backend` (the entry point of `make run`) and nothing for training.
#   docker build -t gaugan-painter .                                  CPU, onnxruntime
#   docker build --build-arg RUNTIME=gpu -t gaugan-painter:gpu .      NVIDIA GPU, onnxruntime-gpu on CUDA
# docker-compose.yml builds both; docs/operations.md explains the settings. BuildKit (the default builder
# since Docker 23) builds only the stages the chosen RUNTIME needs.

ARG RUNTIME=cpu
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# onnxruntime-gpu wheels on PyPI target one CUDA major (1.31.1: CUDA 13, cuDNN 9): change ONNXRUNTIME_GPU
# below and this image together.
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

# --- CPU: the core dependencies from pyproject.toml (no torch, no extras) in a venv.
FROM ${PYTHON_IMAGE} AS builder-cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml ./
COPY backend/ backend/
# The project itself is uninstalled again: the code runs from /app, laid out like a checkout, so the
# settings' defaults find frontend/ and weights/ next to backend/.
RUN pip install . && pip uninstall --yes gaugan-painter

FROM ${PYTHON_IMAGE} AS runtime-cpu
COPY --from=builder-cpu /opt/venv /opt/venv

# --- GPU: the same venv on a CUDA + cuDNN runtime, with onnxruntime-gpu in place of onnxruntime.
FROM ${CUDA_IMAGE} AS cuda-python
RUN apt-get update \
    && apt-get install --yes --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

FROM cuda-python AS builder-gpu
ARG ONNXRUNTIME_GPU=onnxruntime-gpu==1.31.1
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml ./
COPY backend/ backend/
# Both wheels install the same `onnxruntime` module, so the CPU one must go before the GPU one arrives.
RUN pip install . && pip uninstall --yes gaugan-painter onnxruntime && pip install "${ONNXRUNTIME_GPU}"

FROM cuda-python AS runtime-gpu
COPY --from=builder-gpu /opt/venv /opt/venv

# --- onnxruntime-web, which the page loads to paint on the device: Debian's node and npm install exactly
# the version package-lock.json pins (axe-core, a devDependency, is for the tests), here only, so the served
# image gets the runtime files and no node.
FROM ${PYTHON_IMAGE} AS onnxruntime-web
RUN apt-get update \
    && apt-get install --yes --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# No install script runs: the image needs the package's files only.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# Of dist/ (141 MB), only what the page loads (44 MB), the files `python -m backend.export_static` ships: the
# bundles frontend/js/device/runtime.js imports and the WebAssembly builds they load (tests/test_deploy.py
# checks the names against the export's pick).
RUN mkdir /vendor && cd node_modules/onnxruntime-web/dist \
    && cp ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm \
          ort.webgpu.min.mjs ort-wasm-simd-threaded.asyncify.mjs ort-wasm-simd-threaded.asyncify.wasm /vendor/

# --- Swagger UI for the API's /docs page, from the same `npm ci`: only the files the page loads
# (backend/routes/docs.py's DOCS_FILES), so /docs needs no internet in the container either.
FROM onnxruntime-web AS swagger-ui
RUN mkdir /swagger-ui && cd node_modules/swagger-ui-dist \
    && cp swagger-ui-bundle.js swagger-ui.css favicon-32x32.png /swagger-ui/

# --- The served image, on whichever runtime RUNTIME names.
FROM runtime-${RUNTIME}
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin painter
WORKDIR /app
# Owned by root: the server cannot rewrite its own code or models. onnxruntime-web comes first (it changes
# least often), where a checkout has it after `npm ci`, so the default VENDOR_DIR finds it.
COPY --from=onnxruntime-web /vendor/ node_modules/onnxruntime-web/dist/
COPY --from=swagger-ui /swagger-ui/ node_modules/swagger-ui-dist/
COPY backend/ backend/
COPY frontend/ frontend/
COPY weights/ weights/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEIGHTS_DIR=/app/weights \
    NUMBA_CACHE_DIR=/app/.numba-cache
# The landscape renderer's kernels are compiled now, into a cache the server may write too (numba compiles
# again for another CPU), so a cold container paints without waiting minutes for the compiler.
RUN python -c "from backend.landscape import compile_kernels; compile_kernels()" \
    && chown -R painter /app/.numba-cache
USER painter
EXPOSE 8000
# Slim images have no curl; urlopen raises (exit 1) on a refused connection or a non-2xx answer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=4)"]
# Host, port and weights folder come from HOST, PORT and WEIGHTS_DIR above (see backend/settings.py).
CMD ["python", "-m", "backend"]
