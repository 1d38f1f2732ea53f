#!/bin/sh
# System programs the test suite drives as real peers, installed from Debian's packages when
# missing: Chromium (headless, for the pages, mails and e-books the browser tests open; never a
# downloaded browser), Java (EPUBCheck) and the PostgreSQL server binaries (the ledger tests).
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v java >/dev/null 2>&1 || missing="$missing default-jre-headless"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "the tests need:$missing (Debian packages); install them, e.g. sudo apt-get install$missing" >&2
    exit 1
fi
echo "installing:$missing" >&2
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
