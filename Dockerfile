# One image for every Tripwatch process; the command picks the role (worker, dashboard, ...).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY rules ./rules
COPY monitor ./monitor
COPY notifiers ./notifiers
COPY dashboard ./dashboard
COPY tools ./tools
COPY tripwatch ./tripwatch
COPY fixtures ./fixtures
RUN pip install --no-cache-dir .
USER nobody
# dashboard, outreach's inbound webhook, the worker's /metrics and /healthz (docker-compose.yml)
EXPOSE 8080 8081 9100
ENTRYPOINT ["tripwatch"]
CMD ["--help"]
