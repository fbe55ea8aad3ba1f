#!/usr/bin/env bash
# Deploys tourguide on one Linux host against a RocketMQ 5.5+ cluster or ApsaraMQ instance.
#
#   ./deploy.sh                      install, then print what would be created (nothing is changed)
#   ./deploy.sh --apply-topics       also create the topics and groups with mqadmin (needs MQADMIN)
#   ./deploy.sh --systemd            also write and enable systemd units (run as root); the services run as
#                                    the system user $SERVICE_USER (default tourguide, created if missing),
#                                    with their data in /var/lib/tourguide (0700) and umask 077
#
# Configuration comes from an env file (default /etc/tourguide.env, see README "Configuration"); it must set
# TOURGUIDE_ROCKETMQ_ENDPOINT, and the chat platform credentials for `tourguide bot`.
set -euo pipefail
cd "$(dirname "$0")"

ENV_FILE="${ENV_FILE:-/etc/tourguide.env}"
CLUSTER="${CLUSTER:-DefaultCluster}"
MQADMIN="${MQADMIN:-mqadmin}"
SERVICE_USER="${SERVICE_USER:-tourguide}"
apply_topics=0
systemd=0
for arg in "$@"; do
    case "$arg" in
        --apply-topics) apply_topics=1 ;;
        --systemd) systemd=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
    esac
done

./scripts/install
tourguide=".venv/bin/tourguide"
namespace=""
if [ -f "$ENV_FILE" ]; then
    namespace="$(grep -E '^TOURGUIDE_ROCKETMQ_NAMESPACE=' "$ENV_FILE" | cut -d= -f2- || true)"
fi

echo "== RocketMQ resources (cluster $CLUSTER${namespace:+, namespace $namespace})"
"$tourguide" topics list
if [ "$apply_topics" = 1 ]; then
    "$tourguide" topics mqadmin --cluster "$CLUSTER" --namespace "$namespace" | while read -r line; do
        echo "+ $line"
        # Each line is shell syntax (the retry policy is single-quoted JSON), hence eval.
        eval "\"\$MQADMIN\" ${line#mqadmin } -n \"\${NAMESRV_ADDR:?set NAMESRV_ADDR for mqadmin}\""
    done
else
    "$tourguide" topics mqadmin --cluster "$CLUSTER" --namespace "$namespace" | sed 's/^/  would run: /'
    echo "  (ApsaraMQ: create the same topics and groups in the console; --apply-topics runs them with mqadmin)"
fi

units=("agent weather" "agent travel" "bot")
if [ "$systemd" = 1 ]; then
    [ -f "$ENV_FILE" ] || { echo "missing $ENV_FILE" >&2; exit 2; }
    chmod 600 "$ENV_FILE"  # it holds tokens and keys; systemd reads it as root
    if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/tourguide --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
        echo "created system user $SERVICE_USER"
    fi
    if ! runuser -u "$SERVICE_USER" -- test -x "$PWD/$tourguide"; then
        echo "warning: $SERVICE_USER cannot run $PWD/$tourguide; install to a directory it can read" >&2
    fi
    for unit in "${units[@]}"; do
        name="tourguide-${unit// /-}"
        cat > "/etc/systemd/system/$name.service" <<UNIT
[Unit]
Description=tourguide $unit
After=network-online.target

[Service]
User=$SERVICE_USER
Group=$SERVICE_USER
EnvironmentFile=$ENV_FILE
# state (SQLite, logs, the RocketMQ client's own log under \$HOME/logs) lives in /var/lib/tourguide, 0700
StateDirectory=tourguide
StateDirectoryMode=0700
Environment=TOURGUIDE_DATA_DIR=/var/lib/tourguide HOME=/var/lib/tourguide
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
PrivateTmp=yes
WorkingDirectory=/var/lib/tourguide
ExecStart=$PWD/$tourguide --log-json $unit
Restart=always
RestartSec=3
KillSignal=SIGTERM
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
UNIT
        echo "wrote /etc/systemd/system/$name.service"
    done
    systemctl daemon-reload
    for unit in "${units[@]}"; do systemctl enable --now "tourguide-${unit// /-}"; done
else
    echo "== services (start more agents to scale out; they share a consumer group)"
    for unit in "${units[@]}"; do echo "  $tourguide --log-json $unit"; done
    echo "  (--systemd writes and enables a unit for each, reading $ENV_FILE)"
fi
