# linear: exact least-squares linear regression as a SageMaker custom algorithm.
#
#   docker build -t linear .
#   docker run --rm -v "$(pwd)/ml:/opt/ml" linear train
#   docker run --rm -v "$(pwd)/ml:/opt/ml" linear test        # prints 31
#   docker run --rm -p 8080:8080 -v "$(pwd)/ml:/opt/ml" linear serve
#
# Stages: native (Rust addon, release) and ts (TypeScript) build in parallel
# under BuildKit; deps installs production node_modules; the runtime stage is
# node:22-bookworm-slim (same Debian release, so the same glibc, as the Rust
# stage) with only what runs, under /opt/program. Nothing is put under /opt/ml:
# SageMaker mounts it.

# ---- native: the napi-rs addon (cdylib) in release mode ---------------------
FROM rust:1.95-bookworm AS native
WORKDIR /build
# Manifests first, with stub sources, so the crate downloads are a cached layer
# that only Cargo.toml/Cargo.lock changes invalidate.
COPY Cargo.toml Cargo.lock ./
COPY native/core/Cargo.toml native/core/
COPY native/binding/Cargo.toml native/binding/
RUN mkdir -p native/core/src native/binding/src \
 && touch native/core/src/lib.rs native/binding/src/lib.rs \
 && cargo fetch --locked
COPY native ./native
# `napi build` is cargo build plus copying the library to <binaryName>.<triple>.node;
# index.js/index.d.ts are committed, so the Node CLI is not needed here.
RUN cargo build --release --locked --offline -p linear_napi \
 && cp target/release/liblinear_napi.so /build/linear.linux-x64-gnu.node

# ---- ts: compile src/ to dist/ (no source maps: tsconfig.build.json) --------
FROM node:22-bookworm AS ts
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json index.js index.d.ts ./
COPY src ./src
RUN npm run build:ts && find dist -name '*.map' -delete

# ---- deps: production node_modules only --------------------------------------
FROM node:22-bookworm-slim AS deps
WORKDIR /opt/program
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime -----------------------------------------------------------------
FROM node:22-bookworm-slim
LABEL com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true
ENV NODE_ENV=production
WORKDIR /opt/program
COPY --from=deps /opt/program/node_modules ./node_modules
COPY package.json index.js ./
COPY --from=native /build/linear.linux-x64-gnu.node ./
COPY --from=ts /build/dist ./dist
# Load the addon now, so a glibc or ABI mismatch fails the build, not the first job.
RUN node -e "const m = require('/opt/program/index.js'); \
if (m.__napiBindingTarget !== 'native' || typeof m.fitSync !== 'function') throw new Error('addon did not load natively'); \
console.log('addon loaded:', Object.keys(m).length, 'exports')"
EXPOSE 8080
# Exec form: node is PID 1 and receives SIGTERM itself (the CLI handles it).
# No command (or an unknown one) prints usage and exits non-zero.
ENTRYPOINT ["node", "/opt/program/dist/main.js"]
