# A local stand-in for the `mariadb:11` image (scripts/devstack-test.sh builds
# it on machines without an image registry): Debian bookworm's MariaDB 10.11,
# with an entrypoint and a healthcheck.sh that honour the contract the compose
# file relies on (MARIADB_DATABASE / MARIADB_USER / MARIADB_PASSWORD /
# MARIADB_ROOT_PASSWORD, data in /var/lib/mysql,
# `healthcheck.sh --connect --innodb_initialized`).
ARG BASE_IMAGE=localhost/debian:bookworm
FROM ${BASE_IMAGE}
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-server \
 && rm -rf /var/lib/apt/lists/* /var/lib/mysql \
 && mkdir -p /var/lib/mysql /run/mysqld \
 && chown mysql:mysql /var/lib/mysql /run/mysqld
COPY mariadb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY mariadb-healthcheck.sh /usr/local/bin/healthcheck.sh
VOLUME /var/lib/mysql
EXPOSE 3306
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mariadbd"]
