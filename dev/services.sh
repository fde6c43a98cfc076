#!/usr/bin/env bash
# Starts and stops the services the tests talk to, on loopback and on free ports:
#   - an ephemeral PostgreSQL 15 cluster: superuser raito_test with a random password, TCP on
#     127.0.0.1 only, scram-sha-256, SSL on (certificate from a throw-away CA), fsync off;
#   - an OpenLDAP server (slapd) on two ports, plain LDAP (with StartTLS) and LDAPS, with the
#     cluster's test certificate, seeded with dev/ldap/fixture.ldif plus bulk users (and
#     $RAITO_LDAP_SEED, an extra LDIF file, when set: the benchmark's directory);
#   - a moto server (AWS stand-in) from the project's Python venv (dev/setup.sh).
#
#   eval "$(dev/services.sh start [--no-moto] [--no-ldap])"   start; prints `export` lines
#   dev/services.sh stop [STATE_DIR]              stop (default: $RAITO_SERVICES_STATE)
#
# Exports: RAITO_SERVICES_STATE RAITO_TEST_PG_HOST RAITO_TEST_PG_PORT RAITO_TEST_PG_USER
# RAITO_TEST_PG_PASSWORD RAITO_TEST_PG_SSL=1 RAITO_TEST_PG_CA_CERT (the CA's PEM file), and
# unless --no-ldap: RAITO_TEST_LDAP_URL RAITO_TEST_LDAPS_URL RAITO_TEST_LDAP_BASE_DN
# RAITO_TEST_LDAP_BIND_DN RAITO_TEST_LDAP_PASSWORD RAITO_TEST_LDAP_CA_CERT;
# unless --no-moto: RAITO_TEST_MOTO_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
# AWS_DEFAULT_REGION AWS_ENDPOINT_URL.
# Everything lives in one temp dir (the state dir): the cluster, its logs, the moto pid. `stop`
# stops exactly the processes recorded there and removes it. A `start` that fails halfway stops
# what it had started. Logs: $RAITO_SERVICES_STATE/pg/postgres.log (startup; the server's own
# statement log is in .../pg/data/log, see start_postgres), .../ldap/slapd.log and .../moto.log.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pg_bin=${RAITO_PG_BIN:-/usr/lib/postgresql/15/bin}
pg_user=raito_test
marker=.raito-services

# Messages go to fd 4, the script's original stderr: a trap may run while a command's
# redirections are in force (e.g. initdb's output to its log file).
exec 4>&2
log() { printf 'services: %s\n' "$*" >&4; }
die() {
    log "error: $*"
    exit 1
}
usage() {
    sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user.
as_pg() {
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}
# Closes every file descriptor above 2 of the current (sub)shell. The servers are started
# through it: a server holding a pipe of the caller (fd 4 above, or any descriptor the caller
# had open) would keep a reader such as `$(dev/services.sh start)` waiting for it to exit.
close_inherited_fds() {
    local fd
    for fd in "/proc/$BASHPID/fd/"*; do
        fd=${fd##*/}
        if ((fd > 2)) && [[ -e "/proc/$BASHPID/fd/$fd" ]]; then
            exec {fd}>&-
        fi
    done
}

give_to_pg() { if ((EUID == 0)); then chown -R postgres:postgres "$@"; fi; }

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local port
    while :; do # nothing answers on it (bash's /dev/tcp connect is refused)
        port=$((20000 + RANDOM % 40000))
        if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

# The command line of a live process, or nothing.
cmdline_of() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" || true; }

# ---- stop ---------------------------------------------------------------------------------------
stop_state() { # stop_state STATE_DIR
    local state=$1
    [[ -d "$state" ]] || {
        log "nothing to stop: $state does not exist"
        return 0
    }
    [[ -f "$state/$marker" ]] || die "$state is not a state dir of dev/services.sh (no $marker): not touching it"

    # moto: only the recorded pid, and only while it still is our moto_server.
    if [[ -f "$state/moto.pid" ]]; then
        local pid i
        pid=$(<"$state/moto.pid")
        if [[ "$(cmdline_of "$pid")" == *moto_server* ]]; then
            kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                [[ "$(cmdline_of "$pid")" == *moto_server* ]] || break
                sleep 0.1
            done
            if [[ "$(cmdline_of "$pid")" == *moto_server* ]]; then
                log "moto ($pid) did not stop on TERM: killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        rm -f "$state/moto.pid"
    fi

    # slapd: only the recorded pid, and only while it still is our slapd.
    if [[ -f "$state/ldap/slapd.pid" ]]; then
        local pid i
        pid=$(<"$state/ldap/slapd.pid")
        if [[ "$(cmdline_of "$pid")" == *slapd*"$state"* ]]; then
            kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                [[ "$(cmdline_of "$pid")" == *slapd* ]] || break
                sleep 0.1
            done
            if [[ "$(cmdline_of "$pid")" == *slapd* ]]; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        rm -f "$state/ldap/slapd.pid"
    fi

    # PostgreSQL: pg_ctl on our data dir; if that fails, the postmaster of our data dir only.
    # Immediate mode: no shutdown checkpoint, the data is thrown away anyway.
    local data="$state/pg/data"
    if [[ -f "$data/postmaster.pid" ]]; then
        as_pg "$pg_bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null || true
        if [[ -f "$data/postmaster.pid" ]]; then
            local pid
            pid=$(head -n1 "$data/postmaster.pid")
            if [[ "$(cmdline_of "$pid")" == *"$data"* ]]; then
                log "postgres ($pid) did not stop: killing it"
                kill -KILL "$pid" 2>/dev/null || true
                sleep 0.5
            fi
        fi
    fi

    rm -rf -- "$state"
    log "stopped ($state removed)"
}

cmd_stop() {
    local state=${1:-${RAITO_SERVICES_STATE:-}}
    [[ -n "$state" ]] || die "stop: give the state dir, or set RAITO_SERVICES_STATE (printed by start)"
    stop_state "$state"
}

# ---- start --------------------------------------------------------------------------------------
start_postgres() { # start_postgres STATE_DIR; sets pg_port, pg_password
    local state=$1
    local pgdir="$state/pg" data="$state/pg/data"
    mkdir -m 700 "$pgdir"
    give_to_pg "$pgdir"
    as_pg test -w "$pgdir" ||
        die "the postgres user cannot write $pgdir: point TMPDIR at a directory it can reach (e.g. /tmp)"

    pg_password=$(openssl rand -hex 24)
    local pwfile="$pgdir/pwfile"
    (umask 077 && printf '%s\n' "$pg_password" >"$pwfile")
    give_to_pg "$pwfile"
    if ! as_pg "$pg_bin/initdb" -D "$data" --username="$pg_user" --pwfile="$pwfile" \
        --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --no-sync --no-instructions \
        >"$state/initdb.log" 2>&1; then
        cat "$state/initdb.log" >&2
        die "initdb failed"
    fi
    rm -f "$pwfile"

    # TLS: a throw-away CA ($state/ca.crt, exported as RAITO_TEST_PG_CA_CERT) and a server
    # certificate it signed for 127.0.0.1 and localhost, so clients can test sslmode=require as
    # well as verify-ca / verify-full. (A lone self-signed certificate would not do: rustls
    # refuses a CA certificate used as the server's own.) The CA's key is deleted at once.
    local tls="$state/tls"
    mkdir -m 700 "$tls"
    if ! {
        openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
            -subj "/CN=raito-sync test CA" -keyout "$tls/ca.key" -out "$state/ca.crt" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -subj "/CN=127.0.0.1" -keyout "$data/server.key" -out "$tls/server.csr" &&
            printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
                'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
                'subjectAltName=IP:127.0.0.1,DNS:localhost' >"$tls/server.ext" &&
            openssl x509 -req -in "$tls/server.csr" -CA "$state/ca.crt" -CAkey "$tls/ca.key" \
                -CAserial "$tls/ca.srl" -CAcreateserial -days 7 -extfile "$tls/server.ext" -out "$data/server.crt"
    } >"$tls/openssl.log" 2>&1; then
        cat "$tls/openssl.log" >&2
        die "openssl could not make the test certificates"
    fi
    rm -rf -- "$tls"
    # slapd (the LDAP server below) serves the same certificate.
    mkdir -m 700 "$state/ldap"
    cp "$data/server.key" "$data/server.crt" "$state/ldap/"
    chmod 600 "$data/server.key"
    chmod 644 "$state/ca.crt"
    give_to_pg "$data/server.key" "$data/server.crt"

    cat >>"$data/postgresql.conf" <<'EOF'

# ---- dev/services.sh: an ephemeral test cluster, loopback only, speed over durability ----
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
max_connections = 200
max_locks_per_transaction = 256
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 2GB
checkpoint_timeout = 30min
timezone = 'UTC'
lc_messages = 'C'

# The statement log the usage sync reads (its tests read it over SQL): every statement and its
# duration, as csvlog and jsonlog (and stderr) files in data/log, times in UTC. pgaudit is
# loaded when installed (dev/setup.sh) but logs nothing unless a database or role turns it on
# (ALTER DATABASE ... SET pgaudit.log = 'read, write, ddl, role'; CREATE EXTENSION pgaudit).
logging_collector = on
log_destination = 'stderr,csvlog,jsonlog'
log_directory = 'log'
log_filename = 'postgresql-%Y-%m-%d_%H%M%S.log'
log_rotation_age = 0
log_rotation_size = 0
log_timezone = 'UTC'
log_statement = 'all'
log_min_duration_statement = 0
EOF
    if [[ -f "$(dirname "$pg_bin")/lib/pgaudit.so" ]]; then
        printf '%s\n' "shared_preload_libraries = 'pgaudit'" "pgaudit.log = 'none'" \
            "pgaudit.log_relation = on" "pgaudit.log_rows = on" >>"$data/postgresql.conf"
    else
        log "no pgaudit in $(dirname "$pg_bin")/lib: run dev/setup.sh (the usage tests need it)"
    fi
    # Only TCP from 127.0.0.1, only with a password (SCRAM). No unix socket at all.
    printf '%s\n' '# dev/services.sh: TCP from 127.0.0.1 only, with a password' \
        'host all all 127.0.0.1/32 scram-sha-256' >"$data/pg_hba.conf"
    give_to_pg "$data/postgresql.conf" "$data/pg_hba.conf"

    local attempt
    for attempt in 1 2 3 4 5; do
        pg_port=$(free_port)
        if (close_inherited_fds && as_pg "$pg_bin/pg_ctl" -D "$data" -l "$pgdir/postgres.log" \
            -o "-p $pg_port" -w -t 60 start) </dev/null >/dev/null 2>>"$state/pg_ctl.log"; then
            break
        fi
        if grep -q 'could not bind\|Address already in use' "$pgdir/postgres.log" 2>/dev/null && ((attempt < 5)); then
            log "port $pg_port was taken: trying another"
            continue
        fi
        cat "$state/pg_ctl.log" >&2 || true
        tail -n 20 "$pgdir/postgres.log" >&2 || true
        die "PostgreSQL did not start (log: $pgdir/postgres.log)"
    done
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -t 30 || die "PostgreSQL does not answer on 127.0.0.1:$pg_port"
    log "PostgreSQL 15 on 127.0.0.1:$pg_port (data: $data)"
}

start_slapd() { # start_slapd STATE_DIR; sets ldap_port, ldaps_port, ldap_password
    local state=$1
    local dir="$state/ldap"
    [[ -x /usr/sbin/slapd ]] || die "no slapd: run dev/setup.sh"
    [[ -d "$dir" ]] || die "no $dir: start_postgres makes it (with the test certificate)"
    mkdir -p "$dir/db"
    ldap_password=$(openssl rand -hex 16)
    local root_password
    root_password=$(openssl rand -hex 16)
    cat >"$dir/slapd.conf" <<SLAPD_CONF
# dev/services.sh: a throwaway OpenLDAP server for the tests
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
TLSCACertificateFile $state/ca.crt
TLSCertificateFile $dir/server.crt
TLSCertificateKeyFile $dir/server.key
# A search without paging stops at 500 entries.
sizelimit 500
database mdb
maxsize 1073741824
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw $root_password
directory $dir/db
# A bound user's paged search may go through the whole directory.
limits users size.soft=500 size.hard=unlimited size.prtotal=unlimited
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
SLAPD_CONF
    local i uid members=''
    {
        sed "s/@READER_PASSWORD@/$ldap_password/" "$repo_root/dev/ldap/fixture.ldif"
        for ((i = 1; i <= 130; i++)); do
            printf -v uid 'user%03d' "$i"
            printf '\ndn: uid=%s,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: %s\ncn: User %03d\nsn: %03d\nmail: %s@example.com\n' \
                "$uid" "$uid" "$i" "$i" "$uid"
            members+="member: uid=$uid,ou=people,dc=example,dc=com"$'\n'
        done
        printf '\ndn: cn=engineering,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: engineering\n%s' "$members"
        if [[ -n "${RAITO_LDAP_SEED:-}" ]]; then
            printf '\n'
            cat "$RAITO_LDAP_SEED"
        fi
    } >"$dir/seed.ldif"
    /usr/sbin/slapadd -q -f "$dir/slapd.conf" -l "$dir/seed.ldif" >"$dir/slapadd.log" 2>&1 || {
        tail -n 20 "$dir/slapadd.log" >&2
        die "slapadd could not load the LDAP directory"
    }
    rm -f "$dir/seed.ldif"

    local attempt
    for attempt in 1 2 3 4 5; do
        ldap_port=$(free_port)
        ldaps_port=$(free_port)
        # slapd forks into the background itself and writes its pid file.
        if (close_inherited_fds && /usr/sbin/slapd -f "$dir/slapd.conf" \
            -h "ldap://127.0.0.1:$ldap_port/ ldaps://127.0.0.1:$ldaps_port/") </dev/null >>"$dir/slapd.log" 2>&1; then
            for ((i = 0; i < 100; i++)); do
                if ldapwhoami -x -H "ldap://127.0.0.1:$ldap_port" -D "cn=raito-reader,dc=example,dc=com" \
                    -w "$ldap_password" >/dev/null 2>&1; then
                    log "slapd on ldap://127.0.0.1:$ldap_port and ldaps://127.0.0.1:$ldaps_port"
                    return 0
                fi
                sleep 0.1
            done
        fi
        if ((attempt < 5)); then
            log "slapd did not start on ports $ldap_port/$ldaps_port: trying others"
            if [[ -f "$dir/slapd.pid" ]]; then kill -TERM "$(<"$dir/slapd.pid")" 2>/dev/null || true; fi
            sleep 0.2
        fi
    done
    tail -n 20 "$dir/slapd.log" >&2 || true
    die "slapd did not start (log: $dir/slapd.log)"
}

start_moto() { # start_moto STATE_DIR; sets moto_port
    local state=$1
    local venv=${RAITO_VENV:-}
    if [[ -z "$venv" || ! -x "$venv/bin/moto_server" ]]; then
        # shellcheck source=dev/setup.sh
        source "$repo_root/dev/setup.sh" --all
        venv=$RAITO_VENV
    fi
    [[ -x "$venv/bin/moto_server" ]] || die "no moto_server in the venv $venv"

    local attempt pid i url
    for attempt in 1 2 3 4 5; do
        moto_port=$(free_port)
        # Its own session: a Ctrl-C in the caller's terminal reaches the caller, whose trap then
        # stops moto through `stop`.
        (close_inherited_fds && exec setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port") \
            </dev/null >>"$state/moto.log" 2>&1 &
        pid=$!
        echo "$pid" >"$state/moto.pid"
        url="http://127.0.0.1:$moto_port"
        for ((i = 0; i < 300; i++)); do
            if "$venv/bin/python" - "$url/moto-api/" 2>/dev/null <<'EOF'; then
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1).read()
EOF
                log "moto server on $url (pid $pid)"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$state/moto.log" >&2 || true
            die "moto server did not answer on $url within 30 s"
        fi
        if grep -q 'Address already in use' "$state/moto.log" && ((attempt < 5)); then
            log "port $moto_port was taken: trying another"
            continue
        fi
        tail -n 20 "$state/moto.log" >&2 || true
        die "moto server exited (log: $state/moto.log)"
    done
}

cmd_start() {
    local want_moto=1 want_ldap=1 arg
    for arg in "$@"; do
        case "$arg" in
        --no-moto) want_moto=0 ;;
        --no-ldap) want_ldap=0 ;;
        *) usage ;;
        esac
    done
    [[ -x "$pg_bin/postgres" ]] || die "no PostgreSQL 15 in $pg_bin: run dev/setup.sh"

    # Globals: the EXIT trap reads them after this function returned.
    start_ok=0
    start_state=$(mktemp -d "${TMPDIR:-/tmp}/raito-services.XXXXXX")
    local state=$start_state
    touch "$state/$marker"
    chmod 711 "$state" # the postgres user must reach $state/pg
    trap 'if ((start_ok == 0)); then log "start failed: stopping what was started"; stop_state "$start_state"; fi' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local t0=$SECONDS pg_port pg_password moto_port='' ldap_port='' ldaps_port='' ldap_password=''
    start_postgres "$state"
    if ((want_ldap)); then start_slapd "$state"; fi
    if ((want_moto)); then start_moto "$state"; fi

    (umask 077 && : >"$state/env") # it holds the password
    {
        printf 'export RAITO_SERVICES_STATE=%q\n' "$state"
        printf 'export RAITO_TEST_PG_HOST=127.0.0.1\n'
        printf 'export RAITO_TEST_PG_PORT=%q\n' "$pg_port"
        printf 'export RAITO_TEST_PG_USER=%q\n' "$pg_user"
        printf 'export RAITO_TEST_PG_PASSWORD=%q\n' "$pg_password"
        printf 'export RAITO_TEST_PG_SSL=1\n'
        printf 'export RAITO_TEST_PG_CA_CERT=%q\n' "$state/ca.crt"
        if [[ -n "$ldap_port" ]]; then
            printf 'export RAITO_TEST_LDAP_URL=%q\n' "ldap://127.0.0.1:$ldap_port"
            printf 'export RAITO_TEST_LDAPS_URL=%q\n' "ldaps://127.0.0.1:$ldaps_port"
            printf 'export RAITO_TEST_LDAP_BASE_DN=%q\n' "dc=example,dc=com"
            printf 'export RAITO_TEST_LDAP_BIND_DN=%q\n' "cn=raito-reader,dc=example,dc=com"
            printf 'export RAITO_TEST_LDAP_PASSWORD=%q\n' "$ldap_password"
            printf 'export RAITO_TEST_LDAP_CA_CERT=%q\n' "$state/ca.crt"
        fi
        if [[ -n "$moto_port" ]]; then
            printf 'export RAITO_TEST_MOTO_URL=%q\n' "http://127.0.0.1:$moto_port"
            printf 'export AWS_ACCESS_KEY_ID=test\n'
            printf 'export AWS_SECRET_ACCESS_KEY=test\n'
            printf 'export AWS_REGION=us-east-1\n'
            printf 'export AWS_DEFAULT_REGION=us-east-1\n' # what boto3 and the SAM CLI read
            printf 'export AWS_ENDPOINT_URL=%q\n' "http://127.0.0.1:$moto_port"
        fi
    } >"$state/env"
    log "started in $((SECONDS - t0)) s; stop with: dev/services.sh stop $state"
}

case "${1:-}" in
start)
    shift
    # Only the export lines go to stdout; everything else to stderr.
    cmd_start "$@" >&2
    cat "$start_state/env"
    # shellcheck disable=SC2034 # read by the EXIT trap
    start_ok=1
    ;;
stop)
    shift
    (($# <= 1)) || usage
    cmd_stop "$@"
    ;;
*) usage ;;
esac
