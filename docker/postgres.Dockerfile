# The PostgreSQL 15 of the compose scale profile (docs/SCALING.md), made from
# the same debian:bookworm-slim base as secpol's images (Debian postgresql-15):
#   docker build -f docker/postgres.Dockerfile -t secpol-postgres docker
# On the first start docker/postgres-entrypoint.sh makes the cluster in the
# volume (/var/lib/postgresql/data): role and database "secpol", password
# from SECPOL_PG_PASSWORD, scram-sha-256 over TCP; then runs postgres.
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
# postgresql-common would make a cluster "main" at install: not wanted here.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/no-main.conf \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres -m 0775 /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/secpol-postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
USER postgres
HEALTHCHECK --interval=2s --timeout=3s --start-period=5s --retries=5 \
  CMD ["pg_isready", "-q", "-h", "127.0.0.1", "-U", "secpol", "-d", "secpol"]
STOPSIGNAL SIGINT
ENTRYPOINT ["secpol-postgres"]
