# syntax=docker/dockerfile:1
# Epictetus image: built with the whole toolchain; what runs is one bundled program (dist/main.js
# and the chunks it loads on demand, every library inside them) on a slim Node.js 24, with no
# node_modules at all: about 2.5 MB of JavaScript.
#
#   docker build -t epictetus .
#   docker run --rm --read-only --user 10001:10001 -e CLOUDFLARE_API_TOKEN=... -e DNS_HOSTNAMES=app.example.com \
#     -v "$HOME/.kube/config:/kube/config:ro" -e K8S_CONFIG_PATH=/kube/config -p 8080:8080 epictetus
#
# Debian (glibc) rather than Alpine: the `node` devDependency downloads a glibc Node.js 24
# binary that npm scripts (`npm run build`) run with; it would not start on musl.

# ---- build: bundle src/ into dist/ (rolldown), every library included ---------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json rolldown.config.ts ./
COPY src ./src
# Source maps serve debugging from a checkout (node --enable-source-maps); the image leaves them out.
RUN npm run build && find dist -name '*.map' -delete

# ---- runtime: the bundle and package.json, nothing else ------------------------------------------
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root and read-only to the service user: nothing is written at runtime,
# so the container runs with a read-only root filesystem (no .env is baked in: see .dockerignore).
COPY --from=build /app/dist ./dist
# package.json carries "type": "module", which dist/*.js need.
COPY package.json ./
USER 10001:10001
EXPOSE 8080
# Slim images have no curl: node itself asks /health/live (HEALTH_PORT if set, else 8080).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 8080) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["run"]
