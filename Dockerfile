# One image for every galcat service; EXTRAS=gpu adds CUDA TensorFlow for GPU workers.
FROM python:3.11-slim
ARG EXTRAS=""
WORKDIR /opt/galcat
COPY pyproject.toml README.md ./
COPY catalog catalog
COPY workers workers
COPY models models
COPY migrations migrations
COPY galcat galcat
COPY cli cli
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}"
ENV GALCAT_HOME=/var/lib/galcat
ENTRYPOINT ["galcat"]
