# The `scale` profile's load balancer for an engine that cannot pull the official nginx image (no registry,
# host networking only): Debian's nginx on the local base image. Test-only; docker-compose.yml keeps nginx:1.27.
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install --yes --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default
CMD ["nginx", "-g", "daemon off;"]
