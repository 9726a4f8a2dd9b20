FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV PYTHONUNBUFFERED=1 WORKERS=2 PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
EXPOSE 8000
# Migrations run once at start; each worker is one uvicorn process sharing the database and Redis.
CMD ["sh", "-c", "rm -rf $PROMETHEUS_MULTIPROC_DIR && mkdir -p $PROMETHEUS_MULTIPROC_DIR && python manage.py migrate --noinput && exec uvicorn prism_site.asgi:application --host 0.0.0.0 --port 8000 --workers $WORKERS --no-access-log"]
