# liteserve: TensorFlow Lite inference server (task endpoints, KServe v2, TF Serving REST).
#
#   docker build -t liteserve .
#   docker run --rm -p 8080:8080 -v "$PWD/models/repo:/models:ro" liteserve
#
# Build stage: the project's own dependency script + CMake (Release).
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps && rm -rf /var/lib/apt/lists/*
COPY . .
RUN rm -rf build && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
    && cmake --build build -j"$(nproc)" --target liteserve \
    && strip build/liteserve

# Runtime stage: only the shared libraries liteserve loads.
FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        libjansson4 libmicrohttpd12 libjpeg62-turbo libpng16-16 zlib1g libopenblas0-pthread curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin liteserve \
    && mkdir -p /models && chown liteserve /models
COPY --from=build /src/build/liteserve /usr/local/bin/liteserve
USER liteserve
VOLUME ["/models"]
EXPOSE 8080
# 200 only when every model is loaded and the server is not draining.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/v2/health/ready || exit 1
# SIGTERM drains in-flight requests (--drain-timeout, default 30 s) and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["liteserve", "serve"]
CMD ["--host", "0.0.0.0", "--port", "8080", "--model-repository", "/models"]
