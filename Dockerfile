# Multi-stage image: the dashboard's chart library from npm, the venv and the index, then all of it copied into a
# slim runtime as a non-root user.
# Apache ECharts exactly as web/package-lock.json pins it (`make web-deps` does the same on a checkout), with
# Debian's npm on the same base as the other stages.
FROM python:3.11-slim AS web
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ libgomp1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
# The exact versions `make install` uses (`make lock` writes them).
COPY requirements/constraints.txt ./requirements/
COPY bot ./bot
COPY knowledge ./knowledge
COPY web ./web
# only what the server serves: the minified script and the package.json that names its version
COPY --from=web /web/node_modules/echarts/package.json ./web/node_modules/echarts/package.json
COPY --from=web /web/node_modules/echarts/dist/echarts.min.js ./web/node_modules/echarts/dist/echarts.min.js
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -c requirements/constraints.txt .
# The index is built at image build time (same command as `make build`).
ENV FAQBOT_KNOWLEDGE_DIR=/app/knowledge FAQBOT_INDEX_DIR=/app/index
RUN /opt/venv/bin/faqbot build --fresh && rm -f /app/index/embeddings.npz

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 faqbot
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=faqbot:faqbot /app /app
RUN mkdir -p /app/var && chown faqbot:faqbot /app/var
VOLUME ["/app/var"]
WORKDIR /app
USER 10001:10001
ENV PATH=/opt/venv/bin:$PATH \
    FAQBOT_KNOWLEDGE_DIR=/app/knowledge \
    FAQBOT_INDEX_DIR=/app/index \
    FAQBOT_DATABASE_PATH=/app/var/faqbot.sqlite3 \
    FAQBOT_DEMO_ORDERS=/app/knowledge/demo_orders.yaml \
    FAQBOT_WEB_DIR=/app/web \
    FAQBOT_HOST=0.0.0.0 \
    FAQBOT_ALLOW_REBUILD=false
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"]
# The web server; set FAQBOT_ENV=production with FAQBOT_AGENT_PASSWORD, FAQBOT_SESSION_SECRET, FAQBOT_ALLOWED_ORIGINS.
# `docker run -it IMAGE faqbot chat` for the terminal chat.
CMD ["faqbot", "serve"]
