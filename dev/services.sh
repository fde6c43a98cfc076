#!/usr/bin/env bash
# Starts and stops the services the tests talk to, on loopback and on free ports:
#   - an ephemeral PostgreSQL 15 cluster (Debian's): superuser raito_test with a random password,
#     TCP on 127.0.0.1 only, scram-sha-256, SSL on (certificate from a throw-away CA), fsync off;
#   - on request, more clusters of other major versions set up the same way, from the server
#     builds pinned in dev/pg/versions.txt (installed on demand by dev/pg/install.sh);
#   - an OpenLDAP server (slapd) on two ports, plain LDAP (with StartTLS) and LDAPS, with the
#     cluster's test certificate, seeded with dev/ldap/fixture.ldif plus bulk users (and
#     $RAITO_LDAP_SEED, an extra LDIF file, when set: the benchmark's directory);
#   - a moto server (AWS stand-in) from the project's Python venv (dev/setup.sh).
#
#   eval "$(dev/services.sh start [--no-moto] [--no-ldap] [--pg-version N] [--pg-versions LIST])"
#                                                 start; prints `export` lines
#   eval "$(dev/services.sh env N [STATE_DIR])"   point RAITO_TEST_PG_* at the version-N cluster
#   dev/services.sh stop [STATE_DIR]              stop (default: $RAITO_SERVICES_STATE)
#
# --pg-version N: the main cluster is the pinned build of major N instead of Debian's 15.
# --pg-versions LIST (e.g. 13,14,16; `all`: every pinned major but the main cluster's): one more
# cluster per major, exported as RAITO_TEST_PG<N>_HOST, _PORT, _USER, _PASSWORD, _SSL, _CA_CERT,
# listed in RAITO_TEST_PG_VERSIONS (space-separated).
# Exports: RAITO_SERVICES_STATE RAITO_TEST_PG_HOST RAITO_TEST_PG_PORT RAITO_TEST_PG_USER
# RAITO_TEST_PG_PASSWORD RAITO_TEST_PG_SSL=1 RAITO_TEST_PG_CA_CERT (the CA's PEM file)
# RAITO_TEST_PG_VERSION (the main cluster's major), and unless --no-ldap: RAITO_TEST_LDAP_URL
# RAITO_TEST_LDAPS_URL RAITO_TEST_LDAP_BASE_DN RAITO_TEST_LDAP_BIND_DN RAITO_TEST_LDAP_PASSWORD
# RAITO_TEST_LDAP_CA_CERT; unless --no-moto: RAITO_TEST_MOTO_URL AWS_ACCESS_KEY_ID
# AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL.
# Everything lives in one temp dir (the state dir): the clusters, their logs, the moto pid. `stop`
# stops exactly the processes recorded there and removes it. A `start` that fails halfway stops
# what it had started. Logs: $RAITO_SERVICES_STATE/pg/postgres.log (startup; the server's own
# statement log is in .../pg/data/log, see start_postgres; the cluster of major N in .../pgN/),
# .../ldap/slapd.log and .../moto.log.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Debian's PostgreSQL 15: the default cluster's server, and the client tools (pg_isready) for
# every cluster (the pinned builds of other versions have no client tools).
pg_bin=${RAITO_PG_BIN:-/usr/lib/postgresql/15/bin}
debian_pg_bin=/usr/lib/postgresql/15/bin
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
    sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
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

    # PostgreSQL, every cluster (pg/, pgN/): pg_ctl of the cluster's own version (recorded in
    # <name>.bin at start) on its data dir; if that fails, the postmaster of that data dir only.
    # Immediate mode: no shutdown checkpoint, the data is thrown away anyway.
    local data bin
    for data in "$state"/pg*/data; do
        [[ -f "$data/postmaster.pid" ]] || continue
        bin=$pg_bin
        if [[ -f "${data%/data}.bin" ]]; then bin=$(<"${data%/data}.bin"); fi
        as_pg "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null || true
        if [[ -f "$data/postmaster.pid" ]]; then
            local pid
            pid=$(head -n1 "$data/postmaster.pid")
            if [[ "$(cmdline_of "$pid")" == *"$data"* ]]; then
                log "postgres ($pid) did not stop: killing it"
                kill -KILL "$pid" 2>/dev/null || true
                sleep 0.5
            fi
        fi
    done

    rm -rf -- "$state"
    log "stopped ($state removed)"
}

cmd_stop() {
    local state=${1:-${RAITO_SERVICES_STATE:-}}
    [[ -n "$state" ]] || die "stop: give the state dir, or set RAITO_SERVICES_STATE (printed by start)"
    stop_state "$state"
}

cmd_env() { # cmd_env MAJOR [STATE_DIR]
    local major=${1:-} state=${2:-${RAITO_SERVICES_STATE:-}}
    [[ "$major" =~ ^[0-9]+$ ]] || die "env: give a major version, e.g. dev/services.sh env 16"
    [[ -n "$state" ]] || die "env: give the state dir, or set RAITO_SERVICES_STATE (printed by start)"
    [[ -f "$state/env-pg$major" ]] ||
        die "no cluster of PostgreSQL $major in $state: start one with dev/services.sh start --pg-versions $major"
    cat "$state/env-pg$major"
}

# ---- start --------------------------------------------------------------------------------------
# The throw-away CA ($state/ca.crt, exported as RAITO_TEST_PG_CA_CERT) and a server certificate
# it signed for 127.0.0.1 and localhost ($state/tls/server.{key,crt}), served by every cluster
# and by slapd, so clients can test sslmode=require as well as verify-ca / verify-full. (A lone
# self-signed certificate would not do: rustls refuses a CA certificate used as the server's
# own.) The CA's key is deleted at once.
make_tls() { # make_tls STATE_DIR
    local state=$1
    local tls="$state/tls"
    mkdir -m 700 "$tls"
    if ! {
        openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
            -subj "/CN=raito-sync test CA" -keyout "$tls/ca.key" -out "$state/ca.crt" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -subj "/CN=127.0.0.1" -keyout "$tls/server.key" -out "$tls/server.csr" &&
            printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
                'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
                'subjectAltName=IP:127.0.0.1,DNS:localhost' >"$tls/server.ext" &&
            openssl x509 -req -in "$tls/server.csr" -CA "$state/ca.crt" -CAkey "$tls/ca.key" \
                -CAserial "$tls/ca.srl" -CAcreateserial -days 7 -extfile "$tls/server.ext" -out "$tls/server.crt"
    } >"$tls/openssl.log" 2>&1; then
        cat "$tls/openssl.log" >&2
        die "openssl could not make the test certificates"
    fi
    rm -f -- "$tls/ca.key" "$tls/ca.srl" "$tls/server.csr" "$tls/server.ext" "$tls/openssl.log"
    chmod 600 "$tls/server.key"
    chmod 644 "$state/ca.crt"
    # slapd (the LDAP server below) serves the same certificate.
    mkdir -m 700 "$state/ldap"
    cp "$tls/server.key" "$tls/server.crt" "$state/ldap/"
}

# The major version of the server in BIN_DIR, from `postgres --version` (allowed as root).
pg_major_of() { # pg_major_of BIN_DIR
    local said
    said=$("$1/postgres" --version) || die "$1/postgres --version failed"
    [[ "$said" =~ ^postgres\ \(PostgreSQL\)\ ([0-9]+) ]] || die "$1/postgres --version says \"$said\""
    echo "${BASH_REMATCH[1]}"
}

# The bin dir of the pinned build of MAJOR (dev/pg/versions.txt), installed on demand.
pinned_pg_bin() { # pinned_pg_bin MAJOR
    local major=$1 line dir
    line=$(RAITO_DEV_CACHE="${RAITO_DEV_CACHE:-$HOME/.cache/raito-sync}" \
        "$repo_root/dev/pg/install.sh" "$major") || die "PostgreSQL $major could not be installed (dev/pg/install.sh $major)"
    dir=${line#* }
    [[ -x "$dir/bin/postgres" ]] || die "dev/pg/install.sh $major gave $dir, which has no bin/postgres"
    echo "$dir/bin"
}

start_postgres() { # start_postgres STATE_DIR NAME BIN_DIR; sets pg_port, pg_password, pg_major
    local state=$1 name=$2 bin=$3
    local pgdir="$state/$name" data="$state/$name/data"
    # Logs of initdb and pg_ctl: initdb.log and pg_ctl.log for the main cluster (pg/),
    # pgN-initdb.log and pgN-pg_ctl.log for the others.
    local logs="$state/"
    if [[ "$name" != pg ]]; then logs="$state/$name-"; fi
    pg_major=$(pg_major_of "$bin")

    # PostgreSQL runs as the `postgres` user when we are root: a build in a directory it cannot
    # reach (the cache under root's home, mode 700) is linked into the state dir (hard links:
    # no copy on the same file system; a copy otherwise).
    if ((EUID == 0)) && ! as_pg test -x "$bin/postgres"; then
        local install="$state/$name-install"
        cp -al "$(dirname "$bin")" "$install" 2>/dev/null || {
            rm -rf -- "$install"
            cp -a "$(dirname "$bin")" "$install"
        }
        chmod 755 "$install"
        bin="$install/bin"
        as_pg test -x "$bin/postgres" || die "the postgres user cannot run $bin/postgres"
    fi
    printf '%s\n' "$bin" >"$state/$name.bin" # for `stop`: pg_ctl of the same version

    mkdir -m 700 "$pgdir"
    give_to_pg "$pgdir"
    as_pg test -w "$pgdir" ||
        die "the postgres user cannot write $pgdir: point TMPDIR at a directory it can reach (e.g. /tmp)"

    pg_password=$(openssl rand -hex 24)
    local pwfile="$pgdir/pwfile"
    (umask 077 && printf '%s\n' "$pg_password" >"$pwfile")
    give_to_pg "$pwfile"
    local -a quiet=(--no-instructions) # from PostgreSQL 14 on
    if ((pg_major < 14)); then quiet=(); fi
    if ! as_pg "$bin/initdb" -D "$data" --username="$pg_user" --pwfile="$pwfile" \
        --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --no-sync "${quiet[@]}" \
        >"${logs}initdb.log" 2>&1; then
        cat "${logs}initdb.log" >&2
        die "initdb of PostgreSQL $pg_major failed"
    fi
    rm -f "$pwfile"

    cp "$state/tls/server.key" "$state/tls/server.crt" "$data/"
    chmod 600 "$data/server.key"
    give_to_pg "$data/server.key" "$data/server.crt"

    # jsonlog exists from PostgreSQL 15 on; before, csvlog (and stderr) only.
    local destinations='stderr,csvlog,jsonlog'
    if ((pg_major < 15)); then destinations='stderr,csvlog'; fi
    cat >>"$data/postgresql.conf" <<EOF_CONF

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
# duration, as csvlog and jsonlog (from PostgreSQL 15; and stderr) files in data/log, times in
# UTC. pgaudit is loaded when installed (dev/setup.sh; Debian's 15 only) but logs nothing unless
# a database or role turns it on (ALTER DATABASE ... SET pgaudit.log = 'read, write, ddl, role';
# CREATE EXTENSION pgaudit).
logging_collector = on
log_destination = '$destinations'
log_directory = 'log'
log_filename = 'postgresql-%Y-%m-%d_%H%M%S.log'
log_rotation_age = 0
log_rotation_size = 0
log_timezone = 'UTC'
log_statement = 'all'
log_min_duration_statement = 0
EOF_CONF
    # Debian puts extensions in lib/, the pinned builds in lib/postgresql/ (and have no pgaudit).
    local root
    root=$(dirname "$bin")
    if [[ -f "$root/lib/pgaudit.so" || -f "$root/lib/postgresql/pgaudit.so" ]]; then
        printf '%s\n' "shared_preload_libraries = 'pgaudit'" "pgaudit.log = 'none'" \
            "pgaudit.log_relation = on" "pgaudit.log_rows = on" >>"$data/postgresql.conf"
    elif [[ "$root" == "$(dirname "$debian_pg_bin")" ]]; then
        log "no pgaudit in $root/lib: run dev/setup.sh (the usage tests need it)"
    else
        log "the pinned build of PostgreSQL $pg_major has no pgaudit: the pgaudit usage test cannot pass on it"
    fi
    # Only TCP from 127.0.0.1, only with a password (SCRAM). No unix socket at all.
    printf '%s\n' '# dev/services.sh: TCP from 127.0.0.1 only, with a password' \
        'host all all 127.0.0.1/32 scram-sha-256' >"$data/pg_hba.conf"
    give_to_pg "$data/postgresql.conf" "$data/pg_hba.conf"

    local attempt
    for attempt in 1 2 3 4 5; do
        pg_port=$(free_port)
        if (close_inherited_fds && as_pg "$bin/pg_ctl" -D "$data" -l "$pgdir/postgres.log" \
            -o "-p $pg_port" -w -t 60 start) </dev/null >/dev/null 2>>"${logs}pg_ctl.log"; then
            break
        fi
        if grep -q 'could not bind\|Address already in use' "$pgdir/postgres.log" 2>/dev/null && ((attempt < 5)); then
            log "port $pg_port was taken: trying another"
            continue
        fi
        cat "${logs}pg_ctl.log" >&2 || true
        tail -n 20 "$pgdir/postgres.log" >&2 || true
        die "PostgreSQL $pg_major did not start (log: $pgdir/postgres.log)"
    done
    local isready="$bin/pg_isready"
    [[ -x "$isready" ]] || isready="$debian_pg_bin/pg_isready"
    "$isready" -q -h 127.0.0.1 -p "$pg_port" -t 30 || die "PostgreSQL $pg_major does not answer on 127.0.0.1:$pg_port"
    log "PostgreSQL $pg_major on 127.0.0.1:$pg_port (data: $data)"
}

start_slapd() { # start_slapd STATE_DIR; sets ldap_port, ldaps_port, ldap_password
    local state=$1
    local dir="$state/ldap"
    [[ -x /usr/sbin/slapd ]] || die "no slapd: run dev/setup.sh"
    [[ -d "$dir" ]] || die "no $dir: make_tls makes it (with the test certificate)"
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
    local want_moto=1 want_ldap=1 main_version='' extra_versions=''
    while (($#)); do
        case "$1" in
        --no-moto) want_moto=0 ;;
        --no-ldap) want_ldap=0 ;;
        --pg-version=*) main_version=${1#--pg-version=} ;;
        --pg-versions=*) extra_versions=${1#--pg-versions=} ;;
        --pg-version | --pg-versions)
            (($# >= 2)) || usage
            if [[ "$1" == --pg-version ]]; then main_version=$2; else extra_versions=$2; fi
            shift
            ;;
        *) usage ;;
        esac
        shift
    done
    [[ -z "$main_version" || "$main_version" =~ ^[0-9]+$ ]] || die "--pg-version takes a major version, e.g. 16"

    # The main cluster: Debian's 15 unless --pg-version names a pinned build.
    local main_bin=$pg_bin
    if [[ -n "$main_version" ]]; then
        main_bin=$(pinned_pg_bin "$main_version")
    else
        [[ -x "$pg_bin/postgres" ]] || die "no PostgreSQL 15 in $pg_bin: run dev/setup.sh"
    fi
    local main_major
    main_major=$(pg_major_of "$main_bin")

    # The other clusters, by major, in order, without repeats.
    local -a extras=()
    local major
    local -A seen=()
    local -a majors=()
    if [[ "$extra_versions" == all ]]; then
        extra_versions=$(awk '$1 ~ /^[0-9]+$/ { print $1 }' "$repo_root/dev/pg/versions.txt" | { grep -vx "$main_major" || true; } | paste -sd,)
    fi
    IFS=',' read -ra majors <<<"$extra_versions"
    for major in "${majors[@]}"; do
        [[ -n "$major" ]] || continue
        [[ "$major" =~ ^[0-9]+$ ]] || die "--pg-versions takes majors separated by commas, e.g. 13,14,16 (or all)"
        [[ -z "${seen[$major]:-}" ]] || continue
        seen[$major]=1
        extras+=("$major")
    done
    local -A extra_bin=()
    for major in "${extras[@]}"; do
        extra_bin[$major]=$(pinned_pg_bin "$major") # before anything is started: may download
    done

    # Globals: the EXIT trap reads them after this function returned.
    start_ok=0
    start_state=$(mktemp -d "${TMPDIR:-/tmp}/raito-services.XXXXXX")
    local state=$start_state
    touch "$state/$marker"
    chmod 711 "$state" # the postgres user must reach $state/pg
    trap 'if ((start_ok == 0)); then log "start failed: stopping what was started"; stop_state "$start_state"; fi' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local t0=$SECONDS pg_port pg_password pg_major moto_port='' ldap_port='' ldaps_port='' ldap_password=''
    make_tls "$state"
    local -A extra_port=() extra_password=()
    for major in "${extras[@]}"; do
        start_postgres "$state" "pg$major" "${extra_bin[$major]}"
        extra_port[$major]=$pg_port
        extra_password[$major]=$pg_password
    done
    start_postgres "$state" pg "$main_bin"
    if ((want_ldap)); then start_slapd "$state"; fi
    if ((want_moto)); then start_moto "$state"; fi

    # The variables of the cluster of one major under the main names: `dev/services.sh env N`.
    pg_env() { # pg_env PORT PASSWORD MAJOR
        printf 'export RAITO_TEST_PG_HOST=127.0.0.1\n'
        printf 'export RAITO_TEST_PG_PORT=%q\n' "$1"
        printf 'export RAITO_TEST_PG_USER=%q\n' "$pg_user"
        printf 'export RAITO_TEST_PG_PASSWORD=%q\n' "$2"
        printf 'export RAITO_TEST_PG_SSL=1\n'
        printf 'export RAITO_TEST_PG_CA_CERT=%q\n' "$state/ca.crt"
        printf 'export RAITO_TEST_PG_VERSION=%q\n' "$3"
    }
    for major in "${extras[@]}"; do
        (umask 077 && pg_env "${extra_port[$major]}" "${extra_password[$major]}" "$major" >"$state/env-pg$major")
    done
    if [[ -z "${extra_port[$main_major]:-}" ]]; then
        (umask 077 && pg_env "$pg_port" "$pg_password" "$main_major" >"$state/env-pg$main_major")
    fi

    (umask 077 && : >"$state/env") # it holds the password
    {
        printf 'export RAITO_SERVICES_STATE=%q\n' "$state"
        pg_env "$pg_port" "$pg_password" "$main_major"
        if ((${#extras[@]})); then
            printf 'export RAITO_TEST_PG_VERSIONS=%q\n' "${extras[*]}"
            for major in "${extras[@]}"; do
                printf 'export RAITO_TEST_PG%s_HOST=127.0.0.1\n' "$major"
                printf 'export RAITO_TEST_PG%s_PORT=%q\n' "$major" "${extra_port[$major]}"
                printf 'export RAITO_TEST_PG%s_USER=%q\n' "$major" "$pg_user"
                printf 'export RAITO_TEST_PG%s_PASSWORD=%q\n' "$major" "${extra_password[$major]}"
                printf 'export RAITO_TEST_PG%s_SSL=1\n' "$major"
                printf 'export RAITO_TEST_PG%s_CA_CERT=%q\n' "$major" "$state/ca.crt"
            done
        fi
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
env)
    shift
    (($# >= 1 && $# <= 2)) || usage
    cmd_env "$@"
    ;;
stop)
    shift
    (($# <= 1)) || usage
    cmd_stop "$@"
    ;;
*) usage ;;
esac
