# The web, worker and beat image. The embedded database is not used in containers:
# docker-compose.yml runs MongoDB (replica set) and Redis beside it.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY engine engine
COPY accounts accounts
COPY registry registry
COPY documents documents
COPY mail mail
COPY reports reports
COPY webapi webapi
COPY admin_ui admin_ui
COPY bpmn bpmn
# fonts-dejavu-core: the TrueType font PDF reports are drawn with (Cyrillic included).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir . && useradd --create-home crm
USER crm
ENV CRM_HOST=0.0.0.0 CRM_PORT=8000 CRM_BPMN_DIR=/app/bpmn
EXPOSE 8000
CMD ["crm", "serve"]
