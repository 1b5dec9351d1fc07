# Redis from Debian's package, for engines that cannot pull the official `redis`
# image (compose.yaml uses REDIS_IMAGE, default the official one). Same interface
# as the official image for what compose.yaml uses: `redis-server` and `redis-cli`
# on PATH, data in /data, runs as the unprivileged `redis` user.
#
#   docker build -f docker/redis.Dockerfile --build-arg BASE_IMAGE=lookskip/base:bookworm -t lookskip/redis:bookworm .
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown redis:redis /data
WORKDIR /data
# Debian's package picks the redis user's uid; the name is what we know.
# hadolint ignore=DL3066
USER redis
VOLUME ["/data"]
EXPOSE 6379
CMD ["redis-server", "--dir", "/data"]
